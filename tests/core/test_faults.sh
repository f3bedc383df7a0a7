#!/usr/bin/env bash
# Faults (issue 11): --fault=RANK:PHASE makes one rank fail in one phase of a job.  Every
# rank must exit non-zero within seconds with the message naming the rank and phase, and
# --out must stay consistent: nothing from the failed run, or (a fault while committing)
# files without summary.json, which a rerun replaces.  In a suite, the jobs that finished
# before the fault keep complete results, and a rerun without the fault completes.
set -u
fail=0; n=0
ok() { n=$((n+1)); if [ "$1" -ne 0 ]; then echo "FAIL: $2"; fail=$((fail+1)); fi; }
export OMPI_MCA_odls_base_sigkill_timeout=0
S=${SUBQ_TIME_SCALE:-1}
mpi() { timeout $((60 * S)) "$MPIEXEC" --oversubscribe -np "$@" < /dev/null; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
LEV=(levscores --data=synthetic:gauss:200,5)

# SUBQ_TEST_QUICK (the sanitizer stage): one fault in a job phase and one at the start (the
# two places job.c injects them), not every phase.
SPECS="1:load 1:factor 0:score 1:write 1:start"; [ -n "${SUBQ_TEST_QUICK:-}" ] && SPECS="0:score 1:start"
for spec in $SPECS; do
  t0=$(date +%s)
  mpi 2 "$SUBQ_BIN" "${LEV[@]}" --fault=$spec --out="$T/f" > "$T/e" 2>&1
  rc=$?
  [ $rc -ne 0 ] && [ $rc -lt 124 ]; ok $? "--fault=$spec: non-zero exit without hang (rc=$rc)"
  [ $(( $(date +%s) - t0 )) -le $((20 * S)) ]; ok $? "--fault=$spec: exits within seconds"
  phase=${spec#*:}; r=${spec%%:*}
  for k in 0 1; do
    grep "error (rank $k)" "$T/e" | grep -q "rank $r: injected fault in phase '$phase'"
    ok $? "--fault=$spec: rank $k prints the failing rank and phase"
  done
  [ -z "$(ls -A "$T/f" 2>/dev/null)" ]; ok $? "--fault=$spec: nothing left in --out"
done

mpi 2 "$SUBQ_BIN" "${LEV[@]}" --fault=2:load --out="$T/g" > "$T/e" 2>&1
[ $? -ne 0 ] && grep -q "option --fault: expected RANK:PHASE with RANK in 0..1, got '2:load'" "$T/e"
ok $? "--fault with a rank out of range is an option error"

# A fault while committing (rank 0, after the first file): the previous complete result
# is gone or replaced, never mixed with a summary.json; a rerun completes.
mpi 2 "$SUBQ_BIN" "${LEV[@]}" --out="$T/c" > /dev/null 2>&1; ok $? "commit: first run succeeds"
mpi 2 "$SUBQ_BIN" "${LEV[@]}" --seed=7 --fault=0:commit --out="$T/c" > "$T/e" 2>&1
[ $? -ne 0 ]; ok $? "commit fault: non-zero exit"
[ ! -e "$T/c/summary.json" ]; ok $? "commit fault: no summary.json next to a partial set"
[ -z "$(find "$T/c" -name '.stage-*' -o -name '*.tmp.*')" ]; ok $? "commit fault: no staging or temporary files"
mpi 2 "$SUBQ_BIN" "${LEV[@]}" --seed=7 --out="$T/c" > /dev/null 2>&1; ok $? "commit fault: rerun succeeds"
grep -q '"seed": 7' "$T/c/summary.json" && [ -s "$T/c/levscores.npy" ]; ok $? "commit fault: rerun result complete"

# Suite: the second job fails on rank 1 mid-run; the first keeps its complete output
# (<out>/out/<entry>/, marked in <out>/done/), and a rerun without the fault resumes: it
# runs only the failed job.
cat > "$T/s.ini" <<INI
[suite]
jobs = levscores, polysketch
[levscores]
data = synthetic:gauss:200,5
[polysketch]
n = 64
d = 8
r = 4
block = 16
fault = 1:polysketch
INI
mpi 2 "$SUBQ_BIN" suite --config="$T/s.ini" --out="$T/s" > "$T/e" 2>&1
[ $? -ne 0 ]; ok $? "suite: fault in the second job fails the suite"
[ "$(grep -c "rank 1: injected fault in phase 'polysketch'" "$T/e")" -ge 2 ]; ok $? "suite: both ranks print the fault"
lev=$(ls -d "$T"/s/out/levscores.* 2>/dev/null | head -1)
[ -n "$lev" ] && [ -s "$lev/summary.json" ] && [ -s "$lev/levscores.npy" ]; ok $? "suite: first job's results complete"
[ -z "$(find "$T/s/out" -path '*polysketch*' -type f)" ] && [ -z "$(ls "$T/s/done" | grep polysketch)" ]
ok $? "suite: nothing from the failed job, and it is not marked done"
sed -i '/^fault/d' "$T/s.ini"
mpi 2 "$SUBQ_BIN" suite --config="$T/s.ini" --out="$T/s" > "$T/e" 2>&1; ok $? "suite: rerun without the fault succeeds"
grep -q "1 done before, 1 to run" "$T/e"; ok $? "suite: the rerun resumes (runs only the failed job)"
[ -n "$(find "$T/s/out" -path '*polysketch*' -name summary.json)" ]; ok $? "suite: rerun results complete"
[ -z "$(find "$T/s" -name '.stage-*' -o -name '*.tmp.*')" ]; ok $? "suite: no staging or temporary files"

echo "$((n-fail)) passed, $fail failed"
[ $fail -eq 0 ]
