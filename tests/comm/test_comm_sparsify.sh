#!/usr/bin/env bash
# summary.json "comm" of whole `subq sparsify` runs on real data (digits, Fashion-MNIST
# rows; np = 1, 2, 3) against tools/comm_model.py: subq's own calls computed from the source
# (sparsify_job_counts: load, median-bandwidth rows, the KDE tree's Allreduces from the
# distinct (node, source) pairs per level that the job reports, the exact check's Bcasts,
# the dense reference's Gatherv, peak memory) plus PETSc's and SLEPc's calls as the job
# measures them per rank; the sampling phase alone = the model exactly and <= its data-free
# bound (pairs <= min(draws, nodes x sources)); the distinct sources = the stratified count
# computed in Python.  Suite rows (check and dense off) go through `check`, direct runs with
# the exact check, the dense reference and --save through `check-sparsify` (per-rank counts).
set -u
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
cat > "$T/c.ini" <<'INI'
[suite]
jobs = s, se
[sweep.s]
job = sparsify
data = digits | fmnist:train:600
eps = 0.5 | 0.8
k = 2
vectors = 1
check-max = 0
dense-max = 0
[sweep.se]
job = sparsify
data = fmnist:train:500
estimator = exact
bandwidth = 6
eps = 0.6
leaf = 20
k = 2
vectors = 1
check-max = 0
dense-max = 0
INI
. "$SUBQ_SOURCE_DIR/tests/comm/comm_check.sh"
comm_check_123 test_comm_sparsify sparsify 5 || exit 1
# with the exact quadratic-form check (n <= --check-max), the dense eigenvalues and --save
nps="2 3"
[ -n "${SUBQ_TEST_QUICK:-}" ] && nps=2
for np in $nps; do
  timeout $((300 * ${SUBQ_TIME_SCALE:-1})) "$MPIEXEC" --oversubscribe -np "$np" "$SUBQ_BIN" sparsify \
      --data=fmnist:train:700 --eps=0.7 --k=3 --vectors=2 --check-max=1000 --dense-max=1000 \
      --save --out="$T/d$np" > /dev/null 2> "$T/e" || { cat "$T/e"; echo "FAIL: sparsify np=$np"; exit 1; }
done
python3 "$SUBQ_SOURCE_DIR/tools/comm_model.py" check-sparsify "$T"/d*/summary.json \
  || { echo "FAIL: measured != model (check-sparsify)"; exit 1; }
echo "test_comm_sparsify: suite rows and direct runs match the model"
