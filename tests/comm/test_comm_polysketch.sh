#!/usr/bin/env bash
# summary.json "comm" of whole `subq polysketch` runs (np = 1, 2, 3; n not a multiple of the
# ranks or of the block; plain and mixed, f64 and f32; a mixed run whose first block spans
# three ranks, so the middle rank forwards the halo) against the per-rank message and byte
# counts computed independently by tools/comm_model.py (polysketch_job_counts, from the
# algorithms: Exscans of the shard size and of the r(r+1)/2 x (d+1) state, halo messages of
# the mixed variant, the exact attentions' rings, the job's time and error reductions).
set -u
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
cat > "$T/c.ini" <<'INI'
[suite]
jobs = ps, psfwd
[sweep.ps]
job = polysketch
n = 1001
d = 16
r = 8
block = 64
mixed = 0 | 1
precision = f64 | f32
[sweep.psfwd]
job = polysketch
n = 100
d = 8
r = 4
block = 128
mixed = 1
INI
. "$SUBQ_SOURCE_DIR/tests/comm/comm_check.sh"
comm_check test_comm_polysketch polysketch 15 1 2 3
