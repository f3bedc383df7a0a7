#!/usr/bin/env bash
# summary.json "comm" of whole `subq polarquant-decode` runs (np = 1, 2, 3; n not a multiple
# of the ranks; 1 and 3 heads; 2 and 3 timed calls) against the per-rank message and byte
# counts computed independently by tools/comm_model.py (polarquant_decode_job_counts, from
# the algorithm: per decode call a Barrier and the log-sum-exp merge's two Allreduces, the
# exact reference's merge, the Allreduce of the code bits).
set -u
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
cat > "$T/c.ini" <<'INI'
[suite]
jobs = pq
[sweep.pq]
job = polarquant-decode
n = 1001
d = 16
heads = 1 | 3
reps = 2 | 3
INI
. "$SUBQ_SOURCE_DIR/tests/comm/comm_check.sh"
comm_check_123 test_comm_polarquant polarquant-decode 4
