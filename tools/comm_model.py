#!/usr/bin/env python3
"""alpha-beta(-gamma) communication model of subq's distributed algorithms (docs/comm-model.md).

  tools/comm_model.py predict                 time and parallel efficiency at p = 1, 64, 1024,
                                              16384 for the network parameters below ->
                                              results/comm-model/predictions.{md,csv}
  tools/comm_model.py check RESULTS.csv ...   per-rank bytes and messages of levscores,
                                              polysketch, polarquant-decode, kde, levattn and
                                              sparsify rows of a suite run vs the model ->
                                              results/comm-model/measured-vs-model.md
  tools/comm_model.py check-sparsify SUMMARY.json ...   one `subq sparsify` run each (any
                                              --check-max/--dense-max: per-rank PETSc counts)

Only the Python standard library.  Collective costs: Thakur, Rabenseifner, Gropp, "Optimization
of collective communication operations in MPICH", IJHPCA 19(1) 2005; Chan et al., "Collective
communication: theory, practice, and experience", CCPE 19(13) 2007.
"""
import csv
import math
import os
import json
import sys

# Stated machine (one rank = one 4-core socket slice): 100 Gb/s InfiniBand-class network.
ALPHA = 2.0e-6           # s per message (latency, inter-node)
BETA = 1.0 / 12.5e9      # s per byte (12.5 GB/s per rank link)
GAMMA_RED = 1.0 / 5.0e9  # s per byte combined in a reduction (memory-bound add)
FLOPS = 50.0e9           # flop/s per rank (4 cores x ~12.5 GFLOP/s dgemm)
PS = [1, 64, 1024, 16384]
OUT = os.environ.get("SUBQ_COMM_MODEL_OUT") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "results", "comm-model")


def lg(p):
    return math.ceil(math.log2(p)) if p > 1 else 0


# ---- collectives (time of m bytes on p ranks) ----------------------------------------------
def bcast(m, p):
    if p == 1:
        return 0.0
    binomial = lg(p) * (ALPHA + m * BETA)
    scatter_allgather = (lg(p) + p - 1) * ALPHA + 2 * (p - 1) / p * m * BETA
    return min(binomial, scatter_allgather)


def allreduce(m, p):
    if p == 1:
        return 0.0
    rec_doubling = lg(p) * (ALPHA + m * BETA + m * GAMMA_RED)
    rabenseifner = 2 * lg(p) * ALPHA + 2 * (p - 1) / p * m * BETA + (p - 1) / p * m * GAMMA_RED
    return min(rec_doubling, rabenseifner)


def exscan(m, p):
    """Recursive doubling (MPICH); Open MPI's coll/basic exscan is a linear chain: (p-1)(...)."""
    return lg(p) * (ALPHA + m * BETA + m * GAMMA_RED) if p > 1 else 0.0


def gatherv(total, p):
    return lg(p) * ALPHA + (p - 1) / p * total * BETA if p > 1 else 0.0


# ---- algorithms: (compute seconds, communication seconds, {op: (calls, bytes/rank)}) -------
def lev_gram(n, d, p):
    comp = (n * d * d + 2 * n * d * d) / (p * FLOPS) + 9 * d ** 3 / FLOPS
    comm = allreduce(8 * d * d, p) + bcast(48, p) + bcast(8 * d * d, p)
    return comp, comm, {"Allreduce": (1, 8 * d * d), "Bcast": (2, 48 + 8 * d * d)}


def lev_qr(n, d, p):
    qr2 = (10.0 / 3.0) * d ** 3  # QR of the stacked 2d x d pair
    comp = 4 * n * d * d / (p * FLOPS) + lg(p) * qr2 / FLOPS + 12 * d ** 3 / FLOPS
    comm = lg(p) * (ALPHA + 8 * d * d * BETA) + 2 * bcast(8 * d * d, p) + bcast(48, p)
    return comp, comm, {"Send/Recv (tree)": (lg(p), 8 * d * d), "Bcast": (3, 48 + 16 * d * d)}


def polysketch(n, d, dv, r, b, p, mixed=False):
    """Causal sequence-parallel polysketch (src/attn/polysketch_tmpl.h): Exscan of the shard
    offset (1 uint64) and of the r(r+1)/2 x (dv+1) state.  mixed: plus one halo message per
    shard edge from the previous rank, (g0 mod b) x (d + dv) values (b - 1 rows at most,
    modelled at the mean (b - 1)/2).  Shards >= b: the messages of all edges are concurrent;
    shards shorter than b: a block spans ceil(b / shard) ranks and its halo is forwarded
    along them one message after the other.  Mixed diagonal blocks multiply d-dimensional
    (not r-dimensional) keys."""
    nl = n / p
    rr = r * (r + 1) // 2
    kd = d if mixed else r
    comp = nl * (8 * d * r + 2 * rr + 4 * rr * (dv + 1) + 2 * b * (kd + dv + 1)) / FLOPS
    state = 8 * rr * (dv + 1)
    comm = exscan(8, p) + exscan(state, p)
    ops = {"Exscan": (2, 8 + state)}
    if mixed and p > 1:
        halo = 8 * (b - 1) / 2 * (d + dv)
        comm += math.ceil(b / nl) * (ALPHA + halo * BETA)
        ops["Isend+Recv (halo)"] = (2, halo)
    return comp, comm, ops


def softmax_ring(n, d, dv, p):
    comp = 2 * n * n * (d + dv) / 2 / p / FLOPS  # causal half of QK^T and PV
    blk = 8 * math.ceil(n / p)
    comm = (p - 1) * 2 * (ALPHA + blk * max(d, dv) * BETA) if p > 1 else 0.0
    return comp, comm, {"Sendrecv_replace": (2 * (p - 1), (p - 1) * blk * (d + dv))}


def allgatherv(total, p):
    """Recursive doubling / Bruck: log p steps, each rank receives the (p-1)/p rest."""
    return lg(p) * ALPHA + (p - 1) / p * total * BETA if p > 1 else 0.0


def quant_decode(n, d, heads, p):
    """Sequence-parallel decode over a compressed cache (src/quant/attention.c): per head and
    cached token d multiply-adds for the score and d for the weighted value (4 n d h / p flop,
    code decoding not counted), then the log-sum-exp merge: Allreduce of h maxima and of
    h (d + 1) sums."""
    comp = 4 * n * d * heads / (p * FLOPS)
    comm = allreduce(8 * heads, p) + allreduce(8 * heads * (d + 1), p)
    return comp, comm, {"Allreduce": (2, 8 * heads + 8 * heads * (d + 1))}


def kde_exact_query(n, d, q, p):
    """Exact KDE of q replicated queries over n sharded points (src/kde/kde_exact.c): a
    q x n/p x d dgemm plus the kernel (2d + 3 flop per pair), one Allreduce of c + 1 doubles
    per batch of c <= 4096 queries."""
    comp = q * n * (2 * d + 3) / (p * FLOPS)
    batches = [min(KDE_BATCH, q - a) for a in range(0, q, KDE_BATCH)]
    comm = sum(allreduce(8 * (c + 1), p) for c in batches)
    return comp, comm, {"Allreduce": (len(batches), sum(8 * (c + 1) for c in batches))}


def levattn_two_pass(n, d, usize, p):
    """Two-pass LevAttention selection, p = 2 (D = d): Gram (n d^2 / p, syrk), pivoted
    Cholesky and triangular inverse on rank 0 (2 d^3 / 3), scores (2 n d^2 / p); Allreduce of
    the d x d Gram, Bcast of the d x d scoring matrix, Allgatherv of the 16 |U| bytes of
    candidates (plus the small reductions)."""
    comp = 3 * n * d * d / (p * FLOPS) + 2 * d ** 3 / 3 / FLOPS
    comm = (allreduce(8, p) + allreduce(8 * d * d, p) + bcast(8, p) + bcast(8 * d * d, p)
            + 2 * allreduce(16, p) + allgatherv(4 * p, p) + allgatherv(16 * usize, p))
    return comp, comm, {"Allreduce": (4, 8 + 8 * d * d + 32), "Bcast": (2, 8 + 8 * d * d),
                        "Allgather(v)": (2, 4 + 16 * usize / p)}


CASES = [
    # name, scaling, function of p, per-p problem description
    ("levscores gram", "strong", lambda p: lev_gram(10 ** 8, 64, p), "n = 1e8, d = 64"),
    ("levscores qr (TSQR)", "strong", lambda p: lev_qr(10 ** 8, 64, p), "n = 1e8, d = 64"),
    ("levscores gram", "weak", lambda p: lev_gram(10 ** 6 * p, 64, p), "n = 1e6 per rank, d = 64"),
    ("levscores qr (TSQR)", "weak", lambda p: lev_qr(10 ** 6 * p, 64, p), "n = 1e6 per rank, d = 64"),
    ("polysketch causal (Exscan)", "strong", lambda p: polysketch(2 ** 20, 64, 64, 32, 256, p),
     "n = 2^20 tokens, d = dv = 64, r = 32, b = 256"),
    ("polysketch causal (Exscan)", "weak", lambda p: polysketch(4096 * p, 64, 64, 32, 256, p),
     "n = 4096 tokens per rank, d = dv = 64, r = 32"),
    ("polysketch causal mixed (Exscan + halo)", "strong",
     lambda p: polysketch(2 ** 20, 64, 64, 32, 256, p, mixed=True),
     "n = 2^20 tokens, d = dv = 64, r = 32, b = 256"),
    ("compressed-cache decode (LSE merge)", "strong", lambda p: quant_decode(2 ** 20, 128, 8, p),
     "n = 2^20 cached tokens, d = 128, 8 query heads"),
    ("compressed-cache decode (LSE merge)", "weak", lambda p: quant_decode(2 ** 16 * p, 128, 8, p),
     "n = 2^16 tokens per rank, d = 128, 8 heads"),
    ("KDE exact query", "strong", lambda p: kde_exact_query(10 ** 7, 784, 1000, p),
     "n = 1e7 points, d = 784, 1000 queries"),
    ("LevAttention two-pass selection", "strong", lambda p: levattn_two_pass(10 ** 8, 64, 1280, p),
     "n = 1e8 keys, d = 64, universal set 1280 (d / eps, eps = 0.05)"),
    ("exact softmax (ring)", "strong", lambda p: softmax_ring(2 ** 20, 64, 64, p), "n = 2^20 tokens, d = dv = 64"),
    ("exact softmax (ring)", "weak", lambda p: softmax_ring(4096 * p, 64, 64, p), "n = 4096 tokens per rank"),
    ("sparsify: KDE-tree edge sampling (pairs at their bound)", "strong",
     lambda p: sparsify_sampling(60000, 784, p),
     "Fashion-MNIST-like n = 60000, d = 784, eps = 0.5, T = 0.5 n ln n / eps^2, m = 8, leaf 32"),
    ("sparsify: KDE-tree edge sampling (pairs at their bound)", "strong",
     lambda p: sparsify_sampling(10 ** 7, 784, p),
     "Fashion-MNIST-like n = 1e7, d = 784, eps = 0.5, T = 0.5 n ln n / eps^2, m = 8, leaf 32"),
]


def predict():
    os.makedirs(OUT, exist_ok=True)
    rows = []
    for name, scaling, f, desc in CASES:
        c1, m1, _ = f(1)
        t1 = c1 + m1
        for p in PS:
            c, m, ops = f(p)
            t = c + m
            eff = t1 / (p * t) if scaling == "strong" else t1 / t
            rows.append(dict(algorithm=name, scaling=scaling, problem=desc, ranks=p, compute_s=c,
                             comm_s=m, time_s=t, efficiency=eff,
                             comm_ops="; ".join(f"{k} {v[0]} x {v[1]:.0f} B" for k, v in ops.items())))
    with open(os.path.join(OUT, "predictions.csv"), "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    with open(os.path.join(OUT, "predictions.md"), "w") as fh:
        fh.write("# Predicted time and parallel efficiency (alpha-beta model)\n\n")
        fh.write(f"Network and machine (stated, not measured): alpha = {ALPHA * 1e6:g} us per message, "
                 f"beta = 1/{1 / BETA / 1e9:g} GB/s, reduction gamma = 1/{1 / GAMMA_RED / 1e9:g} GB/s, "
                 f"{FLOPS / 1e9:g} GFLOP/s per rank.  Model and sources: docs/comm-model.md; made by "
                 "`tools/comm_model.py predict`.  Efficiency: strong T1/(p Tp), weak T1/Tp.\n\n")
        fh.write("| algorithm | scaling | problem | ranks | compute s | comm s | time s | efficiency | per-rank messages x bytes |\n")
        fh.write("|---|---|---|---|---|---|---|---|---|\n")
        for r in rows:
            fh.write(f"| {r['algorithm']} | {r['scaling']} | {r['problem']} | {r['ranks']} | {r['compute_s']:.3g} | "
                     f"{r['comm_s']:.3g} | {r['time_s']:.3g} | {r['efficiency']:.3f} | {r['comm_ops']} |\n")
    print(f"wrote {OUT}/predictions.md and predictions.csv")


# ---- measured vs model: whole jobs (load, algorithm, score sum, gather) ---------------------
def block(n, p, r):
    q, m = divmod(n, p)
    return q + (1 if r < m else 0)


def lev_job_counts(n, d, p, method):
    """Per-rank (messages, bytes_sent) of `subq levscores` (data class), max over ranks."""
    best = (0, 0)
    levels = lg(p)
    for r in range(p):
        multi = p > 1
        msgs = 2 + 2 + 1 + (2 if method != "qr" else 3)   # load Allreduce x2, Reduce x2, Gatherv, Bcasts
        sent = multi * 32 + multi * 16 + (0 if r == 0 else 8 * block(n, p, r))
        sent += (48 + 8 * d * d) * (r == 0 and multi)   # Bcast of info + weights (rank 0 sends)
        if method == "gram":
            msgs += 1
            sent += multi * 8 * d * d
        else:  # TSQR: Send to the parent or receive from children, Bcast of R from rank 0
            kids = 0
            s = 1
            while s < p:
                if r % (2 * s) == s:
                    msgs += 1
                    sent += 8 * d * d
                    break
                if r % (2 * s) == 0 and r + s < p:
                    kids += 1
                s *= 2
            msgs += kids
            sent += 8 * d * d * (r == 0 and multi)
        best = (max(best[0], msgs), max(best[1], sent))
    return best


def polysketch_job_counts(n, d, r, blk, p, causal=True, mixed=False, es=8):
    """Per-rank (messages, bytes_sent) of `subq polysketch` on synthetic tokens (--n, --d;
    dv = d), data class, max over ranks.  The job runs each attention once (run_attn_:
    Barrier, the apply, Allreduce of 2 doubles of times), then 3 Allreduces of 2 doubles
    (relative errors) and 1 of 2 doubles (gemm time).  polysketch: Exscan of the shard size
    (uint64) and, with more than one rank, Exscan (causal) or Allreduce (non-causal) of the
    r(r+1)/2 x (d+1) state of es-byte values; mixed causal: rank q sends the next rank the last (g0_q + n_q) mod blk
    rows (d + d values each, one Isend) and receives g0_q mod blk rows (one Recv, no bytes
    sent).  Exact polynomial and softmax attention: Allgather of the shard size, then p - 1
    ring steps of 2 Sendrecv_replace of max-shard x d values (K and V).  Collectives on one
    rank count calls, no bytes.  Shards: block partition (subq_kvopts_block)."""
    rr = r * (r + 1) // 2
    multi = p > 1
    sizes = [block(n, p, q) for q in range(p)]
    maxn = max(sizes)
    best, g0 = (0, 0), 0
    for q in range(p):
        nl = sizes[q]
        msgs = 3 + 3 + 3 + 1                 # Barriers, time / error / gemm Allreduces
        sent = multi * 16 * 7
        msgs += 1 + multi                     # polysketch: size Exscan, state Exscan/Allreduce
        sent += multi * (8 + es * rr * (d + 1))
        msgs += 2 * (1 + 2 * (p - 1))         # two rings: Allgather, 2 (p-1) Sendrecv_replace
        sent += multi * 2 * 8 + 2 * (p - 1) * maxn * 2 * d * es
        if mixed and causal and multi:
            h = g0 % blk
            hn = (g0 + nl) % blk if q < p - 1 else 0
            msgs += (h > 0) + (hn > 0)
            sent += hn * 2 * d * es
        g0 += nl
        best = (max(best[0], msgs), max(best[1], sent))
    return best


def polarquant_decode_job_counts(heads, d, reps, p):
    """Per-rank (messages, bytes_sent) of `subq polarquant-decode` (src/jobs/polarquant_decode.c),
    data class; every rank alike.  Each of the reps timed decode calls: a Barrier, then
    subq_quant_attention's log-sum-exp merge (src/quant/attention.c): Allreduce(MAX) of the
    heads running maxima and Allreduce(SUM) of the heads x (d + 1) rescaled (sum, weighted
    values).  Then the exact fp32 reference merges the same way (2 Allreduces of the same
    sizes) and one Allreduce of 1 double sums the code bits.  Doubles throughout; collectives
    on one rank count calls, no bytes.  Independent of n."""
    merge = 8 * heads + 8 * heads * (d + 1)
    msgs = 3 * reps + 2 + 1
    sent = (p > 1) * ((reps + 1) * merge + 8)
    return msgs, sent


KDE_BATCH = 4096  # items per collective in subq_kde_query (src/kde/kde.c)


def kde_items(n, estimator, samples, groups, eps, delta, tau, kernel="gaussian"):
    """(values per query, bucket sizes per query) that the oracle sends in subq_kde_query:
    exact 1 value; sampling `groups` means; HBE L = per_group * groups table estimates and L
    bucket sizes (the Allgather).  Derived sizes as in subq_kde_setup_range_ (src/kde/kde.c):
    per group ceil(4 rv / eps^2), rv = 1/tau (sampling) or 1/sqrt(tau) (HBE), capped at 2^32;
    groups ceil(8 ln(1/delta)) made odd; a derived count with per_group * groups >= n falls
    back to the exact oracle."""
    if estimator == "exact":
        return 1, 0
    derived = samples == 0
    per_group = samples
    if derived:
        rv = 1.0 / tau if estimator == "sampling" else 1.0 / math.sqrt(tau)
        pg = math.ceil(4.0 * rv / (eps * eps))
        per_group = pg if pg < 4294967296.0 else 1 << 32
    if groups == 0:
        groups = math.ceil(8.0 * math.log(1.0 / delta))
        groups += groups % 2 == 0
    if not (estimator == "hbe" and kernel == "laplacian") and derived and per_group * groups >= n:
        return 1, 0
    if estimator == "sampling":
        return groups, 0
    return per_group * groups, per_group * groups


def kde_job_counts(n, d, q, p, estimator="sampling", samples=0, groups=0, eps=0.1, delta=0.1,
                   tau=0.01, bandwidth=0.0, bw_pairs=2000, kernel="gaussian"):
    """Per-rank (messages, bytes_sent) of `subq kde` (src/jobs/kde.c), data class; every rank
    alike (the points are row blocks, the queries replicated).  Load: 2 Allreduces of 2
    uint64 (shape check, subq_dmat_load); bandwidth 0 (median heuristic): one Allreduce of the
    2 bw_pairs x d sampled rows (subq_kde_gather_rows); the q query rows: one Allreduce of
    q x d doubles; the exact reference and the estimator each answer the q queries in
    batches of KDE_BATCH (subq_kde_query_multi_): per batch of c queries an Allreduce of
    c * values + 1 doubles (partial sums and the evaluation count) and, for HBE, first an
    Allgather of c * L bucket sizes (long); after the estimator's setup an Allreduce of 1
    double (its setup evaluations); finally an Allreduce of 1 double (peak memory).
    Collectives on one rank count calls, no bytes."""
    multi = p > 1
    msgs, sent = 2, multi * 32
    if bandwidth == 0:
        msgs += 1
        sent += multi * 8 * 2 * bw_pairs * d
    msgs += 1
    sent += multi * 8 * q * d
    for nout, npre in ((1, 0), kde_items(n, estimator, samples, groups, eps, delta, tau, kernel)):
        for a in range(0, q, KDE_BATCH):
            c = min(KDE_BATCH, q - a)
            msgs += 1 + (npre > 0)
            sent += multi * (8 * (c * nout + 1) + 8 * c * npre)
    msgs += 2
    sent += multi * 16
    return msgs, sent


def levattn_selection_counts(D, p, q, passes, nloc, topk):
    """(messages, deterministic bytes sent, candidates sent or None) of one universal-set
    selection (subq_levattn_select_stream, src/lev/levatt_select.c, levatt_online.c) on rank q
    of p, D features (p = 2: D = d), the Gram assumed of full rank r = D (Gaussian keys,
    n >= d).  passes 2: factor = Allreduce of 1 uint64 (key count) and of the D x D Gram,
    Bcast of r (uint64) and of the D x r scoring matrix from rank 0.  passes 1: Exscan of the
    D x D Gram (prefix), then in select Allgather of 2 uint64 (key ranges), Allreduces of the
    min and max ridge (1 double each), Bcast of 2 doubles from the last rank.  Both: 2
    Allreduces of 2 doubles (score sum and count, max and workspace), Allgather of 1 int
    (candidate count), Allgatherv of the rank's candidates as (tau, index) pairs, 16 B each:
    top-k keeps min(k, local keys) candidates; an eps threshold keeps the rank's keys with
    tau >= eps (data-dependent: returned as None; 16 |U| bytes over all ranks)."""
    multi = p > 1
    nc = min(topk, nloc) if topk else None
    if passes == 2:
        msgs = 2 + 2 + 2 + 2
        sent = multi * (8 + 8 * D * D + 16 + 16 + 4) + (multi and q == 0) * (8 + 8 * D * D)
    else:
        msgs = 1 + 2 + 4 + 2
        sent = multi * (8 * D * D + 16 + 16 + 16 + 8 + 8 + 4) + (multi and q == p - 1) * 16
    if nc is not None:
        sent += multi * 16 * nc
    return msgs, sent, nc


def levattn_job_counts(ns, d, p, eps=0.05, topk=0, passes=2, usizes=None):
    """Per-rank (messages, bytes_sent) of `subq levattn --synthetic=ns` (src/jobs/levattn.c,
    run_synthetic_), data class.  Returns (messages_max, bytes_sent_max or None,
    bytes_sent_total or None).  Per n: the selection with --passes (levattn_selection_counts);
    when n <= 2^18 and eps > 0 the heavy-entry check: Allreduce of 64 doubles (query row sums)
    and of 2 uint64 (heavy counts); with --passes=1 also the two-pass selection.  Keys are
    block-sharded (subq_kvopts_block).  top-k: every count exact.  eps: the candidates
    gathered depend on the data; with usizes (per n, the universal-set sizes of each selection
    run: |U| and, for --passes=1, the two-pass |U|) the total over ranks is exact (16 B per
    member), the max over ranks is not modelled (None)."""
    msgs_q = [0] * p
    sent_q = [0] * p
    total_cand = 0
    exact_max = True
    for t, n in enumerate(ns):
        sel = [passes] + ([2] if passes == 1 else [])
        for k, ps in enumerate(sel):
            for q in range(p):
                m, s, nc = levattn_selection_counts(d, p, q, ps, block(n, p, q), topk)
                msgs_q[q] += m
                sent_q[q] += s
                exact_max &= nc is not None
            if not topk:
                total_cand = None if usizes is None or total_cand is None else total_cand + usizes[t][k]
        if n <= 1 << 18 and eps > 0:
            for q in range(p):
                msgs_q[q] += 2
                sent_q[q] += (p > 1) * (512 + 16)
    total = sum(sent_q)
    if not topk:
        total = None if total_cand is None else total + (p > 1) * 16 * total_cand
    return max(msgs_q), (max(sent_q) if exact_max else None), total


def levattn_row_(row, par, p, two_pass_sizes):
    """levattn rows with --synthetic (and no --data or --kv); None otherwise."""
    synth = par("synthetic", "none")
    if synth == "none" or par("data", "") or par("kv", ""):
        return None
    ns = [int(float(x)) for x in synth.split(",")]
    d = int(par("synthetic-d", 64))
    epss = [float(x) for x in par("eps", "0.05").split(",") if x != "none"]
    ks = [int(x) for x in par("topk", "32").split(",") if x != "none"]
    eps, topk = (epss[0], 0) if epss else (0.0, ks[0])
    passes = int(par("passes", 2))
    usizes = None
    if not topk and len(ns) == 1 and row.get("universal_set_size"):
        u = [int(row["universal_set_size"])]
        if passes == 1:
            u2 = two_pass_sizes.get((ns[0], d, eps))
            u = None if u2 is None else u + [u2]
        usizes = None if u is None else [u]
    msgs, smax, stot = levattn_job_counts(ns, d, p, eps, topk, passes, usizes)
    sel = f"eps={eps:g}" if not topk else f"topk={topk}"
    desc = f"{sel} passes={passes}"
    if smax is not None:
        return desc, ns[0], d, (msgs, smax)
    if stot is None:
        return None
    return desc + " (bytes: total over ranks)", ns[0], d, (msgs, stot, "comm.bytes_sent_total")


def two_pass_sizes_(rows):
    """(n, d, eps) -> |U| of the two-pass levattn --synthetic rows (one n, eps selection):
    the --passes=1 job also runs the two-pass selection, whose |U| is not in its own row; the
    scores agree bitwise across rank counts, so any row with the same n, d, eps gives it."""
    out = {}
    for row in rows:
        if row.get("job") != "levattn" or not row.get("universal_set_size"):
            continue
        g = lambda k, dflt: row.get("param." + k) or dflt
        synth, eps = g("synthetic", "none"), g("eps", "0.05").split(",")[0]
        if "," in synth or synth == "none" or eps == "none" or g("passes", "2") != "2":
            continue
        out[(int(float(synth)), int(g("synthetic-d", 64)), float(eps))] = int(row["universal_set_size"])
    return out


# ---- sparsify: KDE-tree edge sampling (src/graph/sparsify.c, src/kde/tree.c) ----------------
SPARSIFY_BATCH = 8192  # samples per tree call (src/graph/sparsify.c BATCH)
DOUBLE_INT = 12        # MPI_Type_size(MPI_DOUBLE_INT) in Open MPI (the leaf race's MINLOC)


def sparsify_samples(n, eps=0.5, oversample=0.5, edges=0):
    """T of subq_sparsifier_setup: --edges, else ceil(C n ln n / eps^2) (at least 1)."""
    if edges:
        return edges
    return max(1, math.ceil(oversample * n * math.log(n) / (eps * eps)))


def tree_shape(n, leaf=32):
    """(internal nodes per depth, leaves, {depth: {size: count}}) of the halving tree of
    subq_kde_tree_create (node [lo, hi) splits at lo + size // 2 while size > leaf)."""
    level, internal, leaves, sizes = {n: 1}, [], 0, []
    while level:
        sizes.append(level)
        nxt = {}
        internal.append(sum(c for z, c in level.items() if z > leaf))
        leaves += sum(c for z, c in level.items() if z <= leaf)
        for z, c in level.items():
            if z > leaf:
                for h in (z // 2, z - z // 2):
                    nxt[h] = nxt.get(h, 0) + c
        level = nxt
    while internal and internal[-1] == 0:
        internal.pop()
    return internal, leaves, sizes


def sparsify_batches(n, T):
    """[(samples, distinct sources)] of each tree call: batches of SPARSIFY_BATCH; sources
    stratified (floor(g n / T)) when T >= n: the distinct count is exact; uniform otherwise:
    None (it depends on the counter RNG's draws; at most min(samples, n))."""
    out = []
    for b0 in range(0, T, SPARSIFY_BATCH):
        bs = min(SPARSIFY_BATCH, T - b0)
        nu = (b0 + bs - 1) * n // T - b0 * n // T + 1 if T >= n else None
        out.append((bs, nu))
    return out


def sparsify_sample_counts(d, p, tree):
    """(messages, bytes sent) per rank of the sampling (every rank alike: all Allreduces,
    the tree replicated) from the tree's counts as the job reports them (summary.json
    tree_*; subq_kde_tree_stats_t): per call an Allreduce of the distinct sources' rows
    (rows x d doubles), per level reached an Allreduce of 2 P_l + 1 doubles, and the leaf
    race's Allreduce of s MPI_DOUBLE_INT (MINLOC) and of P_leaf + 1 doubles."""
    calls, level_calls = tree["tree_calls"], tree["tree_level_calls"]
    msgs = 3 * calls + level_calls
    sent = (p > 1) * (8 * d * tree["tree_rows"] + 16 * tree["tree_pairs"] + 8 * level_calls
                      + DOUBLE_INT * tree["tree_draws"] + 8 * (tree["tree_leaf_pairs"] + calls))
    return msgs, sent


def sparsify_sample_bound(n, d, p, T, leaf=32):
    """Data-free upper bound (messages, bytes sent) of the sampling per rank: every call
    reaches every depth that has an internal node; pairs at depth l <= min(samples, internal
    nodes at l x distinct sources), leaf pairs <= min(samples, leaves x sources); sources
    exact for stratified T >= n, else <= min(samples, n).  Also returns the per-level pair
    bound summed over calls (for the comparison with the reported pairs)."""
    internal, leaves, _ = tree_shape(n, leaf)
    D = len(internal)
    msgs = sent = 0
    per_level = [0] * D
    for bs, nu in sparsify_batches(n, T):
        nu = min(bs, n) if nu is None else nu
        msgs += 3 + D
        sent += 8 * d * nu + DOUBLE_INT * bs + 8 * (min(bs, leaves * nu) + 1)
        for l in range(D):
            pl = min(bs, internal[l] * nu)
            per_level[l] += pl
            sent += 8 * (2 * pl + 1)
    return msgs, (p > 1) * sent, per_level


def sparsify_job_counts(n, d, p, tree, petsc_msgs, petsc_sent, bandwidth=0.0, bw_pairs=2000,
                        check_vectors=0, dense_k=0, dense_given=None):
    """Per-rank (messages, bytes sent) of `subq sparsify` (src/jobs/sparsify.c), data class,
    max over ranks.  subq's own calls, from the source: load (2 Allreduces of 2 uint64,
    subq_dmat_load), --bandwidth=0: Allreduce of the 2 bw_pairs x d sampled rows; the
    sampling (sparsify_sample_counts, from the tree's reported counts); with the exact check
    (n <= --check-max; check_vectors = R = vectors + k + 1): subq_laplacian_apply's 2 Bcasts
    per rank block (root q sends its nq x d rows and nq x R vectors), the Allreduce of 2R
    doubles of the quadratic forms; with the dense LAPACK reference (--dense=lapack, n <=
    --dense-max; dense_k = k): Gatherv of the rows to rank 0 (nloc x d doubles from each rank
    != 0), Bcast of k doubles; with the dense ScaLAPACK reference (the default) the job
    measures its calls per rank (dense_comm_*: the block-cyclic build and BLACS inside
    pdsyevr/pdsyevx, a library's algorithm like PETSc's) and dense_given = (messages, bytes) per-rank
    lists are added as given;
    Allreduce of 1 double (peak memory).  PETSc's and SLEPc's own calls (PetscInitialize,
    the MPIAIJ assembly, MatMult, Krylov-Schur) are their algorithms': the job measures them
    per rank (petsc_comm_*) and they are added as given: petsc_msgs, petsc_sent are per-rank
    lists, or maxima (ints) when subq's part is the same on every rank (no check, no dense).
    Returns None when maxima are given but subq's part differs between ranks."""
    multi = p > 1
    smsg, ssent = sparsify_sample_counts(d, p, tree)
    msgs_q, sent_q = [], []
    for q in range(p):
        nq = block(n, p, q)
        msgs, sent = 2 + smsg + 1, multi * (32 + 8) + ssent
        if bandwidth == 0:
            msgs += 1
            sent += multi * 8 * 2 * bw_pairs * d
        if check_vectors:
            msgs += 2 * p + 1
            sent += multi * (8 * nq * (d + check_vectors) + 16 * check_vectors)
        if dense_given is not None:
            msgs += int(dense_given[0][q])
            sent += int(dense_given[1][q])
        elif dense_k:
            msgs += 2
            sent += multi * (8 * nq * d * (q != 0) + 8 * dense_k * (q == 0))
        msgs_q.append(msgs)
        sent_q.append(sent)
    if isinstance(petsc_msgs, (list, tuple)):
        return (max(a + int(b) for a, b in zip(msgs_q, petsc_msgs)),
                max(a + int(b) for a, b in zip(sent_q, petsc_sent)))
    if len(set(msgs_q)) > 1 or len(set(sent_q)) > 1:
        return None
    return msgs_q[0] + int(petsc_msgs), sent_q[0] + int(petsc_sent)


def sparsify_params_(get):
    """(n, d, T, bandwidth, bw_pairs, check R, dense k, leaf) of a sparsify row or summary;
    get(key, default) reads the option or figure."""
    n, d = int(get("n", 0)), int(get("d", 0))
    k, nv = int(get("k", 10)), int(get("vectors", 20))
    chk = n <= int(get("check-max", 20000))
    dense = n <= int(get("dense-max", 5000))
    return (n, d, int(get("samples", 0)), float(get("bandwidth-opt", 0)), int(get("bw-pairs", 2000)),
            (nv + k + 1) if chk else 0, k if dense else 0, int(get("leaf", 32)))


TREE_KEYS = ("tree_calls", "tree_draws", "tree_rows", "tree_level_calls", "tree_pairs",
             "tree_leaf_pairs")


def sparsify_row_(row, par, p):
    """sparsify rows (shared-sample trees: --estimator exact or sampling) with the tree counts."""
    if par("estimator", "sampling") == "hbe" or not row.get("tree_calls"):
        return None
    def get(key, dflt):
        if key in ("n", "d", "samples"):
            return row[key]
        if key == "bandwidth-opt":
            return par("bandwidth", dflt)
        return par(key, dflt)
    n, d, T, bw, bwp, R, K, leaf = sparsify_params_(get)
    if K and par("dense", "scalapack") == "scalapack":
        return None  # the ScaLAPACK reference's per-rank counts are only in summary.json
    tree = {k: int(float(row[k])) for k in TREE_KEYS}
    counts = sparsify_job_counts(n, d, p, tree, int(float(row["petsc_comm_messages_max"])),
                                 int(float(row["petsc_comm_bytes_sent_max"])), bw, bwp, R, K)
    if counts is None:
        return None
    sm, ss = sparsify_sample_counts(d, p, tree)
    bm, bb, _ = sparsify_sample_bound(n, d, p, T, leaf)
    extra = dict(sample=(int(float(row["sample_comm_messages_max"])),
                         int(float(row["sample_comm_bytes_sent_max"]))),
                 sample_model=(sm, ss), sample_bound=(bm, bb))
    return f"T={T} eps={par('eps', '0.5')}", n, d, counts + ("comm.bytes_sent_max", extra)


def sparsify_check_summary(path):
    """Check one `subq sparsify` summary.json (any options but HBE): whole-job messages and
    bytes (max over ranks) = the model with the per-rank PETSc counts; the sampling phase =
    sparsify_sample_counts exactly and <= sparsify_sample_bound; the reported pairs per level
    <= their bound; the distinct sources = the stratified count when T >= n.  Returns a list
    of failure messages (empty: all hold) and a one-line description."""
    import json
    j = json.load(open(path))
    opts = j.get("options", {})
    def get(key, dflt):
        if key in ("n", "d", "samples"):
            return j[key]
        if key == "bandwidth-opt":
            return opts.get("bandwidth", dflt)
        return opts.get(key, dflt)
    p = int(j["ranks"])
    n, d, T, bw, bwp, R, K, leaf = sparsify_params_(get)
    tree = {k: int(j[k]) for k in TREE_KEYS}
    bad = []
    dense_given = None
    if j.get("dense_method", "").startswith("scalapack"):
        dense_given = (j["dense_comm_messages"], j["dense_comm_bytes_sent"])
    want = sparsify_job_counts(n, d, p, tree, j["petsc_comm_messages"], j["petsc_comm_bytes_sent"],
                               bw, bwp, R, K, dense_given)
    got = (j["comm"]["messages_max"], j["comm"]["bytes_sent_max"])
    if got != want:
        bad.append(f"job: measured {got} != model {want}")
    sm = sparsify_sample_counts(d, p, tree)
    sg = (j["sample_comm_messages_max"], j["sample_comm_bytes_sent_max"])
    if sg != sm:
        bad.append(f"sampling: measured {sg} != model {sm}")
    bm, bb, per = sparsify_sample_bound(n, d, p, T, leaf)
    if not (sg[0] <= bm and sg[1] <= bb):
        bad.append(f"sampling: measured {sg} exceeds the bound {(bm, bb)}")
    pairs = [int(x) for x in j["tree_pairs_per_level"]]
    if len(pairs) > len(per) or any(a > b for a, b in zip(pairs, per)):
        bad.append(f"pairs per level {pairs} exceed the bound {per}")
    if pairs and pairs[0] != tree["tree_rows"]:  # every sample starts at the root
        bad.append(f"pairs at the root {pairs[0]} != distinct sources {tree['tree_rows']}")
    if T >= n and tree["tree_rows"] != sum(nu for _, nu in sparsify_batches(n, T)):
        bad.append(f"distinct sources {tree['tree_rows']} != stratified count")
    if T != int(j["samples"]) or tree["tree_draws"] != T or tree["tree_calls"] != len(sparsify_batches(n, T)):
        bad.append(f"draws {tree['tree_draws']} / calls {tree['tree_calls']} do not match T = {T}")
    desc = (f"{path}: np={p} n={n} d={d} T={T} messages {got[0]} bytes {got[1]}; sampling {sg} "
            f"(bound {bm}, {bb}); pairs {sum(pairs)} (bound {sum(per)})")
    return bad, desc


SORT_RATE = 1.0e8  # comparisons per second per rank of qsort with a callback (~10 ns each;
                   # 4.6e7/s measured in thread CPU time on the loaded 2-core dev VM)
RNG_RATE = 5.0e7   # leaf-race keys per second per rank (a Philox uniform and a log each)


def sparsify_sampling(n, d, p, eps=0.5, oversample=0.5, leaf=32, m=8):
    """Edge sampling of subq_sparsifier_setup (the KDE tree, sampling prototype with m
    shared samples per node, stratified sources; src/graph/sparsify.c, src/kde/tree.c), with
    the pairs per level at their data-free bound (sparsify_sample_bound: pairs at depth l =
    min(batch, internal nodes x distinct sources)), not an expected count.  Compute: per
    pair at depth l the 2 children's shared samples (m, or all points of a child of at most
    max(leaf, m)), per leaf pair the leaf's points, 2d + 3 flop per kernel evaluation, and per
    (sample, leaf point) one exponential key at RNG_RATE, spread evenly over the ranks (the
    columns are split by ownership; balance assumed);
    replicated on every rank: the sort of the active samples by (node, source) per level and
    for the leaf race (s log2 s comparisons each) and the merge of the T edges (T log2 T), at
    SORT_RATE.  Communication per batch: Allreduce of the sources' rows (8 d nu), one of
    8 (2 P_l + 1) per level, the leaf race's 12 s and 8 (P_leaf + 1).  PETSc's assembly and
    SLEPc are not included (their own algorithms)."""
    T = sparsify_samples(n, eps, oversample)
    internal, leaves, sizes = tree_shape(n, leaf)
    D = len(internal)
    ns = lambda z: z if z <= max(leaf, m) else m
    mean_child = [sum(c * ns(z) for z, c in sizes[l + 1].items()) / sum(sizes[l + 1].values())
                  for l in range(D)]
    leaf_sizes = [(z, c) for lv in sizes for z, c in lv.items() if z <= leaf]
    mean_leaf = sum(z * c for z, c in leaf_sizes) / sum(c for _, c in leaf_sizes)
    evals = sort_cmp = keys = comm = 0.0
    calls = 0
    byts = 0
    for bs, nu in sparsify_batches(n, T):
        nu = min(bs, n) if nu is None else nu
        comm += allreduce(8 * d * nu, p) + allreduce(DOUBLE_INT * bs, p)
        byts += 8 * d * nu + DOUBLE_INT * bs
        pl_leaf = min(bs, leaves * nu)
        comm += allreduce(8 * (pl_leaf + 1), p)
        byts += 8 * (pl_leaf + 1)
        evals += pl_leaf * mean_leaf
        keys += bs * mean_leaf
        for l in range(D):
            pl = min(bs, internal[l] * nu)
            comm += allreduce(8 * (2 * pl + 1), p)
            byts += 8 * (2 * pl + 1)
            evals += pl * 2 * mean_child[l]
        calls += 3 + D
        sort_cmp += (D + 1) * bs * math.log2(max(bs, 2))
    sort_cmp += T * math.log2(T)
    comp = (evals * (2 * d + 3) / FLOPS + keys / RNG_RATE) / p + sort_cmp / SORT_RATE
    return comp, comm, {"Allreduce": (calls, byts)}


def row_model(row, two_pass_sizes=None):
    """(description, n, d, (messages, bytes_sent[, measured column])) model of a results.csv
    row, or None for other jobs.  The bytes are compared with comm.bytes_sent_max unless a
    third element names another column."""
    def par(key, default):
        v = row.get("param." + key)
        return v if v not in (None, "") else default

    p = int(row["ranks"])
    if row["job"] == "sparsify":
        return sparsify_row_(row, par, p)
    if row["job"] == "levattn":
        return levattn_row_(row, par, p, two_pass_sizes or {})
    if row["job"] == "polarquant-decode":
        n, d, h, reps = int(par("n", 131072)), int(par("d", 64)), int(par("heads", 1)), int(par("reps", 5))
        return f"heads={h} reps={reps}", n, d, polarquant_decode_job_counts(h, d, reps, p)
    if row["job"] == "kde":
        n, d = int(row["n"]), int(row["d"])
        est = par("estimator", "sampling")
        kw = dict(samples=int(par("samples", 0)), groups=int(par("groups", 0)),
                  eps=float(par("eps", 0.1)), delta=float(par("delta", 0.1)),
                  tau=float(par("tau", 0.01)), bandwidth=float(par("bandwidth", 0)),
                  bw_pairs=int(par("bw-pairs", 2000)), kernel=par("kernel", "gaussian"))
        q = int(par("queries", 500))
        return f"{est} q={q}", n, d, kde_job_counts(n, d, q, p, est, **kw)
    m = row_model_nd_(row)
    return None if m is None else (m[0], int(row["n"]), int(row["d"]), m[1])


def row_model_nd_(row):
    """levscores and polysketch rows (they have n and d columns)."""
    n, d, p = int(row["n"]), int(row["d"]), int(row["ranks"])
    if row["job"] == "levscores":
        method = row.get("param.method") or "qr"
        return method, lev_job_counts(n, d, p, method)
    if row["job"] == "polysketch":
        mixed = (row.get("param.mixed") or "0") in ("1", "true", "yes")
        causal = (row.get("param.causal") or "1") in ("1", "true", "yes")
        es = 4 if row.get("param.precision") == "f32" else 8
        desc = f"r={row['r']} b={row['block']}{' mixed' if mixed else ''}{'' if causal else ' non-causal'} " \
               f"{'f32' if es == 4 else 'f64'}"
        return desc, polysketch_job_counts(n, d, int(row["r"]), int(row["block"]), p, causal,
                                           mixed, es)
    return None


def check(paths):
    os.makedirs(OUT, exist_ok=True)
    lines = ["# Measured communication vs the model (per rank, max over ranks)\n",
             "Measured: summary.json \"comm\" (PMPI counters, data class) of each suite row; model: "
             "`lev_job_counts`, `polysketch_job_counts`, `polarquant_decode_job_counts`, `kde_job_counts`, "
             "`levattn_job_counts` and `sparsify_job_counts` in tools/comm_model.py (docs/comm-model.md; sparsify: "
             "subq's calls from the source and the tree's reported pairs per level, plus PETSc's and SLEPc's calls "
             "as measured by the job).  Bytes: max over ranks, "
             "except where the method says total over ranks (levattn with an eps selection: the ranks' "
             "shares of the universal set depend on the data, its size does not).  Made by `tools/comm_model.py check " + " ".join(paths) + "`.\n",
             "| run | job | method | n | d | ranks | messages measured | model | bytes sent measured | model | match |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    bad = 0
    phases = []
    tables = [(path, list(csv.DictReader(open(path)))) for path in paths]
    sizes = two_pass_sizes_([r for _, rows in tables for r in rows])
    for path, rows in tables:
        for row in rows:
            if not row.get("comm.bytes_sent_max"):
                continue
            m = row_model(row, sizes)
            if m is None:
                continue
            method, n, d, counts = m
            msgs, sent = counts[:2]
            col = counts[2] if len(counts) > 2 else "comm.bytes_sent_max"
            p = int(row["ranks"])
            mm, ms = int(row["comm.messages_max"]), int(row[col])
            ok = (mm, ms) == (msgs, sent)
            if len(counts) > 3:  # sparsify: the sampling phase exactly and within its bound
                x = counts[3]
                sok = x["sample"] == x["sample_model"] and all(a <= b for a, b in zip(x["sample"], x["sample_bound"]))
                ok &= sok
                phases.append(f"| {os.path.basename(os.path.dirname(os.path.dirname(path)))} | {method} | {n} | {p} | "
                              f"{x['sample'][0]} | {x['sample_model'][0]} | {x['sample_bound'][0]} | "
                              f"{x['sample'][1]} | {x['sample_model'][1]} | {x['sample_bound'][1]} | "
                              f"{'yes' if sok else 'NO'} |")
            bad += not ok
            lines.append(f"| {os.path.basename(os.path.dirname(os.path.dirname(path)))} | {row['job']} | {method} | {n} | {d} | {p} | "
                         f"{mm} | {msgs} | {ms} | {sent} | {'yes' if ok else 'NO'} |")
    if phases:
        lines += ["", "sparsify, the sampling phase alone (summary.json sample_comm_*: the KDE tree's "
                  "Allreduces, max over ranks) against `sparsify_sample_counts` (from the reported pairs per "
                  "level) and the data-free bound `sparsify_sample_bound` (pairs <= min(draws, nodes x "
                  "sources)); the whole-job rows above add PETSc's and SLEPc's measured calls "
                  "(petsc_comm_*_max) to subq's own:", "",
                  "| run | method | n | ranks | messages measured | model | bound | bytes sent measured | model | bound | match, <= bound |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"] + phases
    with open(os.path.join(OUT, "measured-vs-model.md"), "w") as fh:
        fh.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "predict":
        predict()
    elif len(sys.argv) >= 3 and sys.argv[1] == "check":
        sys.exit(check(sys.argv[2:]))
    elif len(sys.argv) >= 2 and sys.argv[1] in ("-h", "--help", "help"):
        print(__doc__)
    elif len(sys.argv) >= 3 and sys.argv[1] == "check-sparsify":
        if any(a in ("-h", "--help") for a in sys.argv[2:]):
            print(__doc__)
            sys.exit(0)
        nbad = 0
        for f in sys.argv[2:]:
            try:
                with open(f) as fh:
                    j = json.load(fh)
            except (OSError, ValueError) as ex:
                print(f"check-sparsify: {f}: cannot read a summary.json ({ex})", file=sys.stderr)
                sys.exit(2)
            if j.get("job") != "sparsify" or "tree_calls" not in j:
                print(f"check-sparsify: {f}: not a `subq sparsify` summary.json with the tree counts "
                      f"(job {j.get('job')!r})", file=sys.stderr)
                sys.exit(2)
            if j.get("options", {}).get("estimator") == "hbe":
                print(f"check-sparsify: {f}: the HBE tree is not modelled (--estimator=hbe)",
                      file=sys.stderr)
                sys.exit(2)
            fails, line = sparsify_check_summary(f)
            print(("FAIL " if fails else "ok ") + line + "".join("\n  " + x for x in fails))
            nbad += bool(fails)
        sys.exit(1 if nbad else 0)
    else:
        print(__doc__)
        sys.exit(2)
