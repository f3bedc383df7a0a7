#!/usr/bin/env bash
# subq suite, resumable: a suite killed after an entry's job committed its files but before
# the entry was recorded (test hook SUBQ_SUITE_TEST_KILL_AFTER), and one killed with
# SIGKILL from outside at an arbitrary moment, are started again; the final records,
# results.csv and keys must equal those of an uninterrupted run, with no duplicate row and
# no leftover staging file.  Also: a typo in a sweep fails before anything runs.
. "$(dirname "$0")/../common/script_lib.sh"
cat > "$T/s.ini" <<'INI'
[suite]
jobs = lev, levscores
[levscores]
data = synthetic:gauss:500,6
[sweep.lev]
job = levscores
var.n = 300 | 600
method = qr | gram
data = synthetic:gauss:${n*ranks},8
plot.scaling = weak
INI
run() { mpi 2 "$SUBQ_BIN" suite --config="$T/s.ini" --plots=0 --out="$T/$1" > "$T/$1.out" 2> "$T/$1.err"; }
ndone() { ls "$T/$1/done" 2>/dev/null | grep -c '\.json$'; }

run fresh; ok $? "uninterrupted suite exits 0"
[ "$(ndone fresh)" = 5 ]; ok $? "uninterrupted: 5 records"

SUBQ_SUITE_TEST_KILL_AFTER=2 run a; rc=$?
[ $rc -ne 0 ]; ok $? "killed suite exits non-zero (rc $rc)"
[ "$(ndone a)" = 1 ]; ok $? "killed after entry 2's job: 1 record (got $(ndone a))"
k2=$(ls "$T/fresh/done" | sort | sed -n 1p)
[ "$(ls "$T/a/out"/*/summary.json | wc -l)" = 2 ]; ok $? "entry 2's job output was committed before the kill"
run a; ok $? "restarted suite exits 0"
grep -q "1 done before, 4 to run" "$T/a.err"; ok $? "restart skips the 1 recorded entry and redoes 4"
[ "$(ndone a)" = 5 ]; ok $? "restart: 5 records"
diff <(ls "$T/fresh/done") <(ls "$T/a/done") > /dev/null; ok $? "same record keys as the uninterrupted run"
find "$T/a" -name '.stage-*' -o -name '*.tmp.*' | grep -q . ; [ $? -ne 0 ]; ok $? "no staging or temporary leftovers"

# SIGKILL of mpirun from outside once the first record exists, then restart (twice: the
# second restart must run nothing).
# mpirun and its ranks in a process group of their own, killed together (as Slurm does).
setsid "$MPIEXEC" --oversubscribe -np 2 "$SUBQ_BIN" suite --config="$T/s.ini" --plots=0 \
    --out="$T/b" > /dev/null 2>&1 &
pid=$!
for i in $(seq 1 400); do [ "$(ndone b)" -ge 1 ] && break; sleep 0.05; done
kill -KILL -- -$pid 2>/dev/null; wait $pid 2>/dev/null
before=$(ndone b)
run b; ok $? "restart after SIGKILL (with $before records) exits 0"
run b; ok $? "second restart exits 0"
grep -q "5 done before, 0 to run" "$T/b.err"; ok $? "second restart runs nothing"

python3 - "$T/fresh" "$T/a" "$T/b" <<'PY'; ok $? "results.csv: 5 unique rows, same keys and values as the uninterrupted run"
import csv, sys
tabs = []
for d in sys.argv[1:]:
    rows = list(csv.DictReader(open(d + "/results.csv")))
    keys = [r["key"] for r in rows]
    assert len(rows) == 5 and len(set(keys)) == 5, (d, keys)
    tabs.append({r["key"]: r for r in rows})
for t in tabs[1:]:
    assert t.keys() == tabs[0].keys()
    for k, r in t.items():
        # independent check: the leverage scores of a full-rank n x d matrix sum to d
        assert abs(float(r["sum_scores"]) - float(r["d"])) < 1e-8, r
        assert r["n"] == tabs[0][k]["n"] and r["param.method"] == tabs[0][k]["param.method"]
        assert float(r["sum_scores"]) == float(tabs[0][k]["sum_scores"]) or abs(float(r["sum_scores"]) - float(tabs[0][k]["sum_scores"])) < 1e-12
# weak scaling: n = var.n x ranks
for r in tabs[0].values():
    if r["sweep"] == "lev":
        assert int(r["n"]) == int(r["param.var.n"]) * int(r["ranks"]), r
PY

cat > "$T/bad.ini" <<'INI'
[suite]
jobs = lev
[sweep.lev]
job = levscores
data = synthetic:gauss:100,4
methd = qr | gram
INI
mpi 2 "$SUBQ_BIN" suite --config="$T/bad.ini" --out="$T/bad" > "$T/e" 2>&1
[ $? -ne 0 ]; ok $? "a typo in a sweep key fails"
grep -q "sweep.lev" "$T/e" && grep -q "methd" "$T/e"; ok $? "message names the section and the key"
[ ! -d "$T/bad/done" ] || [ "$(ndone bad)" = 0 ]; ok $? "nothing ran"

finish test_suite_resume
