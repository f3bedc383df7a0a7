#!/usr/bin/env bash
# --progress on every long-running job (design.md: "long phases show progress with an ETA
# on stderr ... or with --progress").  One `subq suite` at np = 2 (one launch: cheap under
# the sanitizers) runs each job below on a tiny input with [common] progress = 1 and
# stderr a file (not a terminal); each job's outer loop must print its final progress line
# "<job> <what>: 100.0%  elapsed Ts  eta Ts" exactly once (rank 0 only, not once per
# rank).  (Sweeps run the second variant of polysketch and levattn: a [job] section
# applies to the job's sweeps too.)  Without --progress a job prints no progress line.
. "$(dirname "$0")/../common/script_lib.sh"
KV="$(cd "$(dirname "$0")/../bad-inputs/files/kv/ok" && pwd)"
G=synthetic:gauss:120,4,7
# polysketch --bench measures the machine's sgemm rate first (seconds; a minute under the
# sanitizers): skipped under SUBQ_TEST_QUICK (the sanitizer stage).
BENCH="ps-bench, "; [ -n "${SUBQ_TEST_QUICK:-}" ] && BENCH=
cat > "$T/p.ini" <<INI
[common]
progress = 1
[suite]
jobs = levscores, polysketch, ${BENCH}la-kv, la-synth, kde, kernel-lra, kernel-eig, sparsify, kernel-solve, cluster
[levscores]
data = $G
[polysketch]
n = 64
d = 8
r = 4
block = 16
[sweep.ps-bench]
job = polysketch
bench = 1
bench-n = 64,128
bench-reps = 1
d = 8
r = 4
block = 16
[sweep.la-kv]
job = levattn
kv = $KV
[sweep.la-synth]
job = levattn
synthetic = 64,128
synthetic-d = 4
[kde]
data = $G
queries = 10
[kernel-lra]
data = $G
rank = 3
samples = 20
[kernel-eig]
data = $G
columns = 20
iters = 4
[sparsify]
data = $G
k = 3
vectors = 4
estimator = exact
leaf = 8
[kernel-solve]
data = $G
estimator = exact
leaf = 8
[cluster]
data = $G
walks = 20
max-size = 30
INI
mpi 2 "$SUBQ_BIN" suite --config="$T/p.ini" --out="$T/s" --plots=0 > "$T/out" 2> "$T/err"
ok $? "the suite of every job with progress = 1 exits 0 ($(tail -3 "$T/err" | tr '\n' ' '))"
for label in "levscores steps (load, factor, score, write)" \
    "polysketch steps (load, polysketch, exact poly, exact softmax)" \
    ${BENCH:+"polysketch bench sizes"} \
    "levattn kv heads" "levattn synthetic sizes" "kde steps (exact, setup, query)" \
    "kernel-lra steps (kde-setup, lra, uniform, error, dense)" \
    "kernel-eig steps (power, dense, check)" \
    "sparsify steps (sparsify, slepc, exact-check, dense)" \
    "kernel-solve steps (sparsify, solve-sparsifier, solve-precond, dense)" \
    "cluster steps (kde-setup, degrees, kde-tree, walks)"; do
  k=$(grep -c -F "$label: 100.0%" "$T/err")
  ok $(( k == 1 ? 0 : 1 )) "one final progress line '$label: 100.0%' on stderr, got $k"
done
# Every progress line has the form "<label>: P%  elapsed Ts  eta Ts".
grep -E "^[a-z-]+ [^:]*: +[0-9.]+%" "$T/err" > "$T/lines"
[ -s "$T/lines" ] && ! grep -v -q -E ': +[0-9.]+%  elapsed [0-9.]+s  eta [0-9.]+s$' "$T/lines"
ok $? "progress lines have the form '<label>: P%  elapsed Ts  eta Ts'"
# Without --progress (stderr not a terminal): no progress lines.
mpi 1 "$SUBQ_BIN" kde --data=$G --queries=10 --out="$T/quiet" > /dev/null 2> "$T/quiet.err"
ok $? "kde without --progress exits 0"
! grep -q "% *elapsed" "$T/quiet.err"
ok $? "no progress lines without --progress when stderr is not a terminal"
finish test_progress
