#!/usr/bin/env bash
# summary.json "comm" of whole `subq levscores` runs (np = 1..4, qr and gram, uneven rows)
# against the per-rank message and byte counts computed independently by
# tools/comm_model.py (lev_job_counts, from the algorithm: load, TSQR tree or Gram
# Allreduce, weight broadcasts, score sum, gather).
set -u
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
cat > "$T/c.ini" <<'INI'
[suite]
jobs = lev
[sweep.lev]
job = levscores
data = synthetic:gauss:1001,7
method = qr | gram
INI
# SUBQ_TEST_QUICK (the sanitizer stage): np = 1, 2 (4 runs), not 1..4.
NPS="1 2 3 4"; [ -n "${SUBQ_TEST_QUICK:-}" ] && NPS="1 2"
for np in $NPS; do
  timeout 120 "$MPIEXEC" --oversubscribe -np $np "$SUBQ_BIN" suite --config="$T/c.ini" --plots=0 \
      --out="$T/run" > /dev/null 2> "$T/e" || { cat "$T/e"; echo "FAIL: suite at np=$np"; exit 1; }
done
rows=$(tail -n +2 "$T/run/results.csv" | wc -l)
want=$(( 2 * $(echo $NPS | wc -w) ))
[ "$rows" = $want ] || { echo "FAIL: $want rows expected, got $rows"; exit 1; }
SUBQ_COMM_MODEL_OUT="$T" python3 "$SUBQ_SOURCE_DIR/tools/comm_model.py" check "$T/run/results.csv" > "$T/out" 2>&1
rc=$?
cat "$T/out"
[ $rc -eq 0 ] && [ "$(grep -c '| yes |' "$T/out")" = $want ] || { echo "FAIL: measured != model"; exit 1; }
echo "test_comm_job: $want runs match the model"
