#!/usr/bin/env bash
# The driver as a user meets it: help, unknown job and option, and a bad input seen by
# rank 1 only (NaN in the second half of an .npy file) making `mpirun -np 2` exit
# non-zero within seconds on every rank with the message, leaving nothing in --out.
MPI_TIMEOUT=60
. "$(dirname "$0")/../common/script_lib.sh"

"$SUBQ_BIN" --help > "$T/h" 2>&1; ok $? "subq --help exits 0"
grep -q levscores "$T/h"; ok $? "subq --help lists levscores"
"$SUBQ_BIN" levscores --help > "$T/h" 2>&1; ok $? "levscores --help exits 0"
grep -q -- "--method=qr|gram|sketch" "$T/h"; ok $? "levscores --help lists --method with choices"
grep -q "default: qr" "$T/h"; ok $? "levscores --help gives defaults"
"$SUBQ_BIN" nosuchjob > "$T/e" 2>&1; [ $? -ne 0 ]; ok $? "unknown job exits non-zero"
grep -q "unknown job 'nosuchjob'" "$T/e"; ok $? "unknown job is named"

mpi 2 "$SUBQ_BIN" levscores --data=synthetic:gauss:100,4 --bogus=1 --out="$T/o1" > "$T/e" 2>&1
[ $? -ne 0 ]; ok $? "unknown option exits non-zero at np=2"
[ "$(grep -c 'unknown option --bogus' "$T/e")" -eq 2 ]; ok $? "both ranks print the unknown option"

# 10 rows x 3 float64, row 8 holds a NaN: only rank 1 (rows 5..9) reads it.
python3 - "$T/bad.npy" <<'PY'
import struct, sys
hdr = "{'descr': '<f8', 'fortran_order': False, 'shape': (10, 3), }"
hdr += " " * (64 - (10 + len(hdr) + 1) % 64) + "\n"
vals = [float(i) for i in range(30)]
vals[25] = float("nan")
with open(sys.argv[1], "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode())
    f.write(struct.pack("<30d", *vals))
PY
start=$(date +%s)
mpi 2 "$SUBQ_BIN" levscores --data=npy:"$T/bad.npy" --out="$T/o2" > "$T/e" 2>&1
rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ]; ok $? "NaN on rank 1 only: non-zero exit, no hang (rc=$rc)"
[ $(( $(date +%s) - start )) -lt 30 ]; ok $? "NaN on rank 1 only: exits within seconds"
[ "$(grep -c 'bad.npy' "$T/e")" -ge 2 ]; ok $? "NaN on rank 1 only: every rank names the file"
grep -q "rank 1: " "$T/e"; ok $? "NaN on rank 1 only: message says which rank saw it"
[ -z "$(ls -A "$T/o2" 2>/dev/null)" ]; ok $? "NaN on rank 1 only: nothing left in --out"

# Rerun into the same --out: the previous run's files that this run does not write are
# removed (listed in .subq-<job>.files), unrelated files are kept, and staging directories
# left by killed runs (process gone) are cleaned.
D="$T/o3"; mkdir -p "$D/.stage-levscores-999999999"
printf 'old_result.npy\nsummary.json\n' > "$D/.subq-levscores.files"
echo x > "$D/old_result.npy"; echo mine > "$D/notes.txt"
mpi 2 "$SUBQ_BIN" levscores --data=synthetic:gauss:50,3 --out="$D" > "$T/e" 2>&1; ok $? "levscores into a used --out"
[ ! -e "$D/old_result.npy" ]; ok $? "rerun removes the previous run's stale file"
[ -e "$D/notes.txt" ] && [ -e "$D/levscores.npy" ] && [ -e "$D/summary.json" ]; ok $? "rerun keeps unrelated files and writes its own"
grep -qx "levscores.npy" "$D/.subq-levscores.files"; ok $? "the manifest lists the new files"
[ ! -e "$D/.stage-levscores-999999999" ]; ok $? "a dead run's staging directory is removed"

finish test_driver_cli
