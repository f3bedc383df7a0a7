#!/usr/bin/env bash
# subq polysketch as a user runs it: the committed KV dump at np = 1 and 3 (same errors:
# sequence parallelism does not change the result), synthetic tokens with --save (the
# saved arrays have shape n x d), and bad options (odd p, r = 0) failing on every rank.
. "$(dirname "$0")/../common/script_lib.sh"
KV="$SUBQ_SOURCE_DIR/data/kv/smollm2-135m-gpl3"
field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }

# SUBQ_TEST_QUICK (the sanitizer stage): np = 1 only; the sequence-parallel paths run at np = 2 below.
NPS="1 3"; [ -n "${SUBQ_TEST_QUICK:-}" ] && NPS=1
for np in $NPS; do
  if [ $np -eq 1 ]; then run=(timeout $((120 * ${SUBQ_TIME_SCALE:-1}))); else run=(mpi $np); fi
  "${run[@]}" "$SUBQ_BIN" polysketch --kv="$KV" --layer=20 --head=4 --r=16 --block=128 \
      --out="$T/kv$np" > "$T/e$np" 2>&1
  ok $? "polysketch on the KV dump at np=$np exits 0"
done
for k in job n d r p sketch block rel_err_vs_poly rel_err_vs_softmax time_sketch_s \
         time_exact_poly_s time_exact_softmax_s speedup_vs_softmax sgemm_fraction; do
  field "$T/kv1/summary.json" $k > /dev/null 2>&1; ok $? "summary.json has $k"
done
[ "$(field "$T/kv1/summary.json" n)" = 2048 ]; ok $? "KV dump: n = 2048 tokens"
KV3="$T/kv3"; [ -n "${SUBQ_TEST_QUICK:-}" ] && KV3="$T/kv1" # quick: no np=3 run to compare
python3 - "$T/kv1/summary.json" "$KV3/summary.json" <<'PY'; ok $? "np=3 errors equal np=1 errors (1e-9)"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
for k in ("rel_err_vs_poly", "rel_err_vs_softmax", "rel_err_poly_vs_softmax"):
    assert abs(a[k] - b[k]) <= 1e-9 * max(1, abs(a[k])), (k, a[k], b[k])
assert 0 < a["rel_err_vs_poly"] < 1, a["rel_err_vs_poly"]
PY

mpi 2 "$SUBQ_BIN" polysketch --n=300 --d=16 --r=8 --block=64 --save --precision=f32 \
    --sketch=srht --out="$T/syn" > "$T/e" 2>&1
ok $? "synthetic run with --save exits 0"
python3 - "$T/syn" <<'PY'; ok $? "saved outputs are 300 x 16 float64 .npy"
import struct, sys
for f in ("out_sketch.npy", "out_exact_poly.npy", "out_softmax.npy"):
    b = open(sys.argv[1] + "/" + f, "rb").read()
    assert b[:6] == b"\x93NUMPY"
    hl = struct.unpack("<H", b[8:10])[0]
    h = b[10:10 + hl].decode()
    assert "(300, 16)" in h and "<f8" in h, h
    assert len(b) == 10 + hl + 300 * 16 * 8
PY

mpi 2 "$SUBQ_BIN" polysketch --n=100 --p=3 --out="$T/bad1" > "$T/e" 2>&1
[ $? -ne 0 ]; ok $? "odd p exits non-zero"
grep -q "must be even, got 3" "$T/e"; ok $? "odd p: message names the value"
timeout $((60 * ${SUBQ_TIME_SCALE:-1})) "$SUBQ_BIN" polysketch --n=100 --r=0 --out="$T/bad2" > "$T/e" 2>&1
[ $? -ne 0 ]; ok $? "r = 0 exits non-zero"
[ ! -e "$T/bad2/summary.json" ]; ok $? "failed run leaves no summary.json"

finish test_polysketch_job
