#!/usr/bin/env bash
# --progress on every long-running job (design.md: "long phases show progress with an ETA
# on stderr ... or with --progress"): each job below, run at np = 2 on a tiny input with
# --progress and stderr a file (not a terminal), prints its final progress line
# "<job> <what>: 100.0%  elapsed ...  eta ..." on rank 0 only (one such line per loop, not
# one per rank), and without --progress prints none.
. "$(dirname "$0")/../common/script_lib.sh"
KV="$(dirname "$0")/../bad-inputs/files/kv/ok"
G=synthetic:gauss:120,4,7
# job | label of its final progress line | arguments
cases=(
  "levscores|levscores steps (load, factor, score, write)|--data=$G"
  "polysketch|polysketch steps (load, polysketch, exact poly, exact softmax)|--n=64 --d=8 --r=4 --block=16"
  "polysketch|polysketch bench sizes|--bench --bench-n=64,128 --d=8 --r=4 --block=16 --bench-reps=1"
  "levattn|levattn kv heads|--kv=$KV"
  "levattn|levattn synthetic sizes|--synthetic=64,128 --synthetic-d=4"
  "kde|kde steps (exact, setup, query)|--data=$G --queries=10"
  "kernel-lra|kernel-lra steps (kde-setup, lra, uniform, error, dense)|--data=$G --rank=3 --samples=20"
  "kernel-eig|kernel-eig steps (power, dense, check)|--data=$G --columns=20 --iters=4"
  "sparsify|sparsify steps (sparsify, slepc, exact-check, dense)|--data=$G --k=3 --vectors=4 --estimator=exact --leaf=8"
  "kernel-solve|kernel-solve steps (sparsify, solve-sparsifier, solve-precond, dense)|--data=$G --estimator=exact --leaf=8"
  "cluster|cluster steps (kde-setup, degrees, kde-tree, walks)|--data=$G --walks=20 --max-size=30"
)
i=0
for c in "${cases[@]}"; do
  IFS='|' read -r job label args <<< "$c"
  i=$((i + 1))
  # shellcheck disable=SC2086
  mpi 2 "$SUBQ_BIN" "$job" $args --progress --out="$T/o$i" > "$T/out$i" 2> "$T/err$i"
  ok $? "$job $args --progress exits 0 ($(tail -3 "$T/err$i" | tr '\n' ' '))"
  k=$(grep -c -F "$label: 100.0%" "$T/err$i")
  ok $(( k == 1 ? 0 : 1 )) "$job: one final progress line '$label: 100.0%' on stderr, got $k"
  grep -F "$label: " "$T/err$i" | grep -v -q -E ': +[0-9.]+%  elapsed [0-9.]+s  eta [0-9.]+s$'
  ok $(( ! $? )) "$job: progress lines have the form '<label>: P%  elapsed Ts  eta Ts'"
  grep -F "$label: " "$T/err$i" | grep -q -E '^.*: +[0-9.]+%  elapsed [0-9.]+s  eta [0-9.]+s$' 
  ok $? "$job: a progress line is there"
done
# Without --progress (stderr not a terminal): no progress lines.
mpi 2 "$SUBQ_BIN" kde --data=$G --queries=10 --out="$T/quiet" > /dev/null 2> "$T/quiet.err"
ok $? "kde without --progress exits 0"
! grep -q "% *elapsed" "$T/quiet.err"
ok $? "no progress lines without --progress when stderr is not a terminal"
finish test_progress
