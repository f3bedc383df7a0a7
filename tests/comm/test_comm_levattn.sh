#!/usr/bin/env bash
# summary.json "comm" of whole `subq levattn --synthetic` runs (np = 1, 2, 3; n not a
# multiple of the ranks or of the chunk; passes 1 and 2; eps and top-k selections; two sizes
# in one run) against the per-rank message and byte counts computed independently by
# tools/comm_model.py (levattn_job_counts, from the algorithm: Gram Allreduce or Exscan,
# factor broadcasts, online-score reductions, candidate Allgather(v), heavy-entry check).
# Top-k rows: messages and bytes (max over ranks) exact.  eps rows: the ranks' shares of
# the universal set depend on the data, so messages (max) and bytes summed over ranks are
# checked, with |U| from the row (and the two-pass |U| from the passes = 2 row).
set -u
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
cat > "$T/c.ini" <<'INI'
[suite]
jobs = la, lk
[sweep.la]
job = levattn
synthetic = 1001
synthetic-d = 8
chunk = 64
eps = 0.05
topk = none
passes = 1 | 2
[sweep.lk]
job = levattn
synthetic = 300,1001
synthetic-d = 8
chunk = 64
eps = none
topk = 5
passes = 1 | 2
INI
. "$SUBQ_SOURCE_DIR/tests/comm/comm_check.sh"
comm_check_123 test_comm_levattn levattn 4
