#!/usr/bin/env bash
# summary.json "comm" of whole `subq kde` runs (np = 1, 2, 3; n not a multiple of the ranks)
# against the per-rank message and byte counts computed independently by
# tools/comm_model.py (kde_job_counts, from the algorithm: shape check, median-bandwidth
# row gather or a given bandwidth, query-row gather, one Allreduce of partial sums per batch
# of 4096 queries for the exact reference and the estimator, HBE's Allgather of bucket
# sizes, peak memory).  Estimators: exact, sampling and HBE with given sizes, sampling with
# derived sizes that fall back to exact, HBE with derived sizes (no fallback), and 4100
# queries (two batches).
set -u
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
cat > "$T/c.ini" <<'INI'
[suite]
jobs = k, kd, kb
[sweep.k]
job = kde
data = synthetic:gauss:301,5
queries = 40
estimator = exact | sampling | hbe
samples = 3
groups = 5
bandwidth = 0 | 2.5
bw-pairs = 50
[sweep.kd]
job = kde
data = synthetic:gauss:2001,3
queries = 30
estimator = sampling | hbe
eps = 0.5
tau = 0.1
INI
cat >> "$T/c.ini" <<'INI'
[sweep.kb]
job = kde
data = synthetic:gauss:4201,2
queries = 4100
estimator = exact
bandwidth = 1.5
INI
. "$SUBQ_SOURCE_DIR/tests/comm/comm_check.sh"
comm_check_123 test_comm_kde kde 9
