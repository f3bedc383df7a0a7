#!/usr/bin/env bash
# subq polarquant on the committed KV dump: summary.json fields, exact 3.875 bits/coord,
# the same figures at np = 1 and 2 (each (layer, KV head) unit is computed by one rank),
# and clear errors for bad options.
. "$(dirname "$0")/../common/script_lib.sh"
KV="$SUBQ_SOURCE_DIR/data/kv/smollm2-135m-gpl3"
ARGS="--kv=$KV --layers=10 --kv-heads=0,2 --queries=24 --gauss=200"

mpi 1 "$SUBQ_BIN" polarquant $ARGS --out="$T/a" > "$T/la" 2>&1; ok $? "np=1 run exits 0"
mpi 2 "$SUBQ_BIN" polarquant $ARGS --out="$T/b" > "$T/lb" 2>&1; ok $? "np=2 run exits 0"
grep -q "polarquant  *3.875" "$T/la"; ok $? "table shows polarquant at 3.875 bits"
python3 - "$T/a/summary.json" "$T/b/summary.json" "$T/a/polarquant.csv" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert a["job"] == "polarquant" and a["layers"] == [10], a.get("layers")
names = ["polarquant", "polarquant_nopre", "kivi", "qjl", "turbo", "q4_0", "fp16"]
keys = ["bits_per_coord", "compression_vs_fp16", "k_rel_mse", "v_rel_mse", "score_rel_err",
        "attn_out_rel_err", "top1_agree", "top8_agree", "per_layer"]
for m in names:
    for k in keys:
        assert k in a["methods"][m], (m, k)
pq = a["methods"]["polarquant"]
assert pq["bits_per_coord"] == 3.875 or abs(pq["bits_per_coord"] - 3.875) < 1e-12
assert a["methods"]["fp16"]["k_rel_mse"] == 0 and a["methods"]["fp16"]["top1_agree"] == 1
assert a["methods"]["kivi"]["bits_per_coord"] == 3.0
assert 0 < pq["k_rel_mse"] < 0.1 and pq["top8_agree"] > 0.5
pl = pq["per_layer"]
assert isinstance(pl, list) and len(pl) == 1 and pl[0]["layer"] == 10, pl
assert set(keys[:-1]) <= set(pl[0]), pl[0]
assert a["methods"] == b["methods"], "np=1 and np=2 differ"
rows = open(sys.argv[3]).read().splitlines()
assert rows[0].startswith("method,layer,bits_per_coord") and len(rows) == 1 + 2 * len(names)
PY
ok $? "summary.json fields, values, np=1 == np=2, CSV"

"$SUBQ_BIN" polarquant --kv="$KV" --bits=4,2,2 --out="$T/c" > "$T/e" 2>&1; [ $? -ne 0 ]; ok $? "3 widths for 4 levels fails"
grep -q "one width per level" "$T/e"; ok $? "3 widths for 4 levels: message"
"$SUBQ_BIN" polarquant --kv="$KV" --bits=4,2,9,2 --out="$T/c" > "$T/e" 2>&1; [ $? -ne 0 ]; ok $? "9 bits fails"
"$SUBQ_BIN" polarquant --kv="$KV" --levels=7 --bits=1,1,1,1,1,1,1 --layers=0 --methods=polarquant --out="$T/c" > "$T/e" 2>&1
[ $? -ne 0 ]; ok $? "head dim 64 with 2^7 blocks fails"
grep -q "not a multiple of the block size" "$T/e"; ok $? "block size message"
grep -q "layer 0, KV head 0" "$T/e"; ok $? "error names layer and head"
"$SUBQ_BIN" polarquant --kv="$KV" --methods=polar,kivi --out="$T/c" > "$T/e" 2>&1; [ $? -ne 0 ]; ok $? "unknown method fails"
grep -q "unknown method 'polar'" "$T/e"; ok $? "unknown method named"
[ ! -e "$T/c/summary.json" ]; ok $? "failed runs leave no summary.json"

finish test_polarquant_job
