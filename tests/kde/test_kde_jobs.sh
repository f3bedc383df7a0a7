#!/usr/bin/env bash
# The KDE kernel-matrix jobs as a user runs them, on 400 synthetic Gaussian points in 16 dimensions at np = 2:
# kernel-lra with the ScaLAPACK dense reference and the exact error, the same with the
# sampled-row error estimate (--error-max=0) which must agree with the exact error within
# 4 standard errors, kernel-eig with pdsyevr/pdsyevx and with the sampled residual check above
# --dense-max, and kernel-lra-bench (exact norms never worse than the best rank-k error).
. "$(dirname "$0")/../common/script_lib.sh"
mpi 2 "$SUBQ_BIN" kernel-lra --data=synthetic:gauss:400,16 --rank=5 --samples=60 --out="$T/l1" > "$T/e1" 2>&1
ok $? "kernel-lra (exact error, ScaLAPACK dense) exits 0"
mpi 2 "$SUBQ_BIN" kernel-lra --data=synthetic:gauss:400,16 --rank=5 --samples=60 --error-max=0 --error-rows=300 \
    --dense-max=0 --out="$T/l2" > "$T/e2" 2>&1
ok $? "kernel-lra (sampled-row error) exits 0"
mpi 2 "$SUBQ_BIN" kernel-eig --data=synthetic:gauss:400,16 --columns=30 --iters=8 --out="$T/g1" > "$T/e3" 2>&1
ok $? "kernel-eig (pdsyevr/pdsyevx) exits 0"
mpi 2 "$SUBQ_BIN" kernel-eig --data=synthetic:gauss:400,16 --columns=30 --iters=8 --dense-max=0 --check-rows=200 \
    --out="$T/g2" > "$T/e4" 2>&1
ok $? "kernel-eig (sampled residual) exits 0"
mpi 2 "$SUBQ_BIN" kernel-lra-bench --data=synthetic:gauss:400,16 --rank=5 --sweep=20,60 --reps=1 --out="$T/b" > "$T/e5" 2>&1
ok $? "kernel-lra-bench exits 0"
python3 - "$T" <<'PY'; ok $? "figures consistent"
import json, sys, os
t = sys.argv[1]
j = lambda d: json.load(open(os.path.join(t, d, "summary.json")))
l1, l2, g1, g2, b = j("l1"), j("l2"), j("g1"), j("g2"), j("b")
assert l1["dense_method"] == ("scalapack-pdsyevr" if l1["ranks"] in (1, 4, 9) else "scalapack-pdsyevx") and l1["error_method"] == "exact-blocked"
assert l1["best_rank_k_err_fro"] <= l1["err_fro"] and l1["best_rank_k_err_fro"] <= l1["uniform_err_fro"]
assert l2["error_method"] == "sampled-rows" and l2["err_fro_se"] > 0
assert abs(l2["err_fro"] - l1["err_fro"]) <= 4 * l2["err_fro_se"], (l2["err_fro"], l1["err_fro"], l2["err_fro_se"])
assert l1["cpu_s"] > 0 and l1["dense_cpu_s"] > 0 and l1["peak_mem_bytes"] > 0
assert g1["dense_method"] == ("scalapack-pdsyevr" if g1["ranks"] in (1, 4, 9) else "scalapack-pdsyevx") and g1["alignment"] > 0.99 and g1["rel_err"] < 0.05
assert g2["residual_rel"] < 0.1 and g2["lambda_exact"] is None
assert abs(g2["lambda_est"] - g1["lambda_est"]) < 1e-9 * g1["lambda_est"]
for m in ("uniform", "kde", "kde_hi", "exact_norms"):
    assert all(e >= l1["best_rank_k_err_fro"] * (1 - 1e-9) for e in b[m]["err_fro"]), m
    assert b[m]["err_fro"][1] < b[m]["err_fro"][0] * 1.05, m
assert b["kde"]["norm_mean_rel_err"] > b["kde_hi"]["norm_mean_rel_err"]
PY
# Edge cases through the jobs (issue 11), values known in closed form: 6 identical points
# give K = all ones (lambda_1 = 6, rank 1: a rank-2 approximation is exact); one point gives
# K = [1]; 3 pairs of duplicates at bandwidth 1e-200 give K = blockdiag(ones(2)) (KDE = 2).
printf '0.5,-1,2\n%.0s' 1 2 3 4 5 6 > "$T/same.csv"
printf '0.5,-1,2\n' > "$T/one.csv"
printf '0,0\n0,0\n1,0\n1,0\n0,3\n0,3\n' > "$T/dup.csv"
mpi 2 "$SUBQ_BIN" kernel-eig --data=csv:"$T/same.csv" --bandwidth=1 --out="$T/x1" > "$T/e7" 2>&1
ok $? "kernel-eig on identical points exits 0"
mpi 2 "$SUBQ_BIN" kernel-lra --data=csv:"$T/same.csv" --bandwidth=1 --rank=2 --samples=4 --out="$T/x2" > "$T/e8" 2>&1
ok $? "kernel-lra rank 2 on identical points (rank-1 K) exits 0"
mpi 2 "$SUBQ_BIN" kernel-eig --data=csv:"$T/one.csv" --bandwidth=1 --out="$T/x3" > "$T/e9" 2>&1
ok $? "kernel-eig on one point exits 0"
mpi 2 "$SUBQ_BIN" kde --data=csv:"$T/dup.csv" --bandwidth=1e-200 --queries=6 --estimator=hbe --samples=8 --groups=3 \
    --out="$T/x4" > "$T/e10" 2>&1
ok $? "kde (hbe) on duplicates at bandwidth 1e-200 exits 0"
mpi 2 "$SUBQ_BIN" kernel-eig --data=csv:"$T/dup.csv" --bandwidth=1e-200 --columns=6 --out="$T/x5" > "$T/e11" 2>&1
ok $? "kernel-eig on duplicates at bandwidth 1e-200 exits 0"
python3 - "$T" <<'PY'; ok $? "edge-case values match the closed forms"
import json, math, sys, os
t = sys.argv[1]
j = lambda d: json.load(open(os.path.join(t, d, "summary.json")))
x1, x2, x3, x4, x5 = j("x1"), j("x2"), j("x3"), j("x4"), j("x5")
assert abs(x1["lambda_exact"] - 6) < 1e-10 and abs(x1["lambda_est"] - 6) < 1e-10, x1
assert abs(x1["alignment"] - 1) < 1e-10, x1
assert x2["rank_used"] == 1 and x2["err_fro"] <= 1e-6 and x2["best_rank_k_err_fro"] <= 1e-6, x2
assert abs(x2["norm_fro"] - 6) < 1e-10, x2
assert x3["lambda_exact"] == 1 and x3["lambda_est"] == 1 and x3["alignment"] == 1, x3
# K = blockdiag(ones(2)): lambda_1 = 2 with multiplicity 3; v lies in that eigenspace
assert x4["min_kde_over_n"] == 2 / 6 and math.isfinite(x4["mean_rel_err"]), x4
# exact up to the eigensolver's rounding, a few u ||K|| (pdsyevx returns 2 + 1 ulp)
assert abs(x5["lambda_exact"] - 2) <= 8 * 2.2e-16 * 2 and x5["lambda_multiplicity"] == 3, x5
assert abs(x5["alignment"] - 1) < 1e-9 and not x5["alignment_lower_bound"], x5
PY
mpi 2 "$SUBQ_BIN" kernel-lra-bench --data=synthetic:gauss:400,16 --sweep=3 --out="$T/bad" > "$T/e6" 2>&1
[ $? -ne 0 ] && grep -q "sweep must list" "$T/e6"; ok $? "--sweep below the rank fails with a message"
echo "$n checks, $fail failures"
finish test_kde_jobs
