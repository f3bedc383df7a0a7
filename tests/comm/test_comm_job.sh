#!/usr/bin/env bash
# summary.json "comm" of whole `subq levscores` runs (np = 1..4, qr and gram, uneven rows)
# against the per-rank message and byte counts computed independently by
# tools/comm_model.py (lev_job_counts, from the algorithm: load, TSQR tree or Gram
# Allreduce, weight broadcasts, score sum, gather).
set -u
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
cat > "$T/c.ini" <<'INI'
[suite]
jobs = lev
[sweep.lev]
job = levscores
data = synthetic:gauss:1001,7
method = qr | gram
INI
. "$SUBQ_SOURCE_DIR/tests/comm/comm_check.sh"
# SUBQ_TEST_QUICK (the sanitizer stage): np = 1, 2 (4 runs), not 1..4.
if [ -n "${SUBQ_TEST_QUICK:-}" ]; then
  comm_check test_comm_job levscores 4 1 2
else
  comm_check test_comm_job levscores 8 1 2 3 4
fi
