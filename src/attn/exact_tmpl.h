/* Exact softmax and polynomial attention, one body for double and float: included by
 * exact.c with R (the real type), FN(name) (name with a type suffix), GEMM (cblas_dgemm or
 * cblas_sgemm), MPI_R, EXP (scalar exp) and EXPV (exp in a vectorised loop, arguments <= 0)
 * defined. */

/* Row-wise layer norm without affine parameters (attn.h), computed on x / max|x|. */
static int FN(layer_norm_)(size_t n, int d, const R *X, R *Y) {
  for (size_t i = 0; i < n; i++) {
    const R *x = X + i * (size_t)d;
    R *y = Y + i * (size_t)d;
    double m = 0;
    for (int k = 0; k < d; k++) {
      double v = fabs((double)x[k]);
      if (!isfinite(v))
        return SUBQ_FAIL(SUBQ_ERR_NUMERIC, "layer norm: row %zu has a NaN/Inf entry (column %d)",
                         i, k);
      m = v > m ? v : m;
    }
    double mu = 0, var = 0;
    if (m > 0) {
      for (int k = 0; k < d; k++) mu += (double)x[k] / m;
      mu /= d;
      for (int k = 0; k < d; k++) {
        double t = (double)x[k] / m - mu;
        var += t * t;
      }
      var /= d;
    }
    if (!(var > 0)) {
      for (int k = 0; k < d; k++) y[k] = 0;
      continue;
    }
    const double isd = 1.0 / sqrt(var);
    for (int k = 0; k < d; k++) y[k] = (R)(((double)x[k] / m - mu) * isd);
  }
  return SUBQ_OK;
}

/* Number of keys of block [kstart, kstart + nkb) visible to the query at position qp. */
static inline size_t FN(visible_)(int causal, size_t qp, size_t kstart, size_t nkb) {
  if (!causal) return nkb;
  if (qp < kstart) return 0;
  return qp - kstart + 1 < nkb ? qp - kstart + 1 : nkb;
}

/* Online-softmax update of nqb query rows (positions qp..) over one key block (positions
 * kp.., nkb keys) whose scaled scores are in S (nqb x nkb): S becomes exp(S - new max) with
 * the invisible (causal) entries 0, and m, l, acc (rows of dv) are updated as in
 * FlashAttention Alg. 1 before the P V product adds the block.  These row loops (max,
 * exp + sum) are the part of the exact softmax that BLAS does not do: compiled for AVX-512
 * (16 floats a vector) as well (src/core/simd.h, included by attn_impl.h). */
SUBQ_SIMD_CLONES
static void FN(softmax_rows_)(size_t nqb, size_t nkb, int causal, size_t qp, size_t kp,
                              int dv, R *S, R *m, R *l, R *acc) {
  for (size_t i = 0; i < nqb; i++) {
    R *restrict s = S + i * nkb;
    const size_t vis = FN(visible_)(causal, qp + i, kp, nkb);
    if (vis == 0) {
      memset(s, 0, sizeof(R) * nkb);
      continue;
    }
    R bm = s[0];
#pragma omp simd reduction(max : bm)
    for (size_t j = 1; j < vis; j++) bm = s[j] > bm ? s[j] : bm;
    const R mo = m[i], mn = mo > bm ? mo : bm;
    const R alpha = EXP(mo - mn); /* 0 when mo = -inf; mn is finite */
    R sum = 0;
#pragma omp simd reduction(+ : sum)
    for (size_t j = 0; j < vis; j++) {
      const R e = EXPV(s[j] - mn);
      s[j] = e;
      sum += e;
    }
    for (size_t j = vis; j < nkb; j++) s[j] = 0;
    l[i] = l[i] * alpha + sum;
    m[i] = mn;
    if (alpha != 1) {
      R *ac = acc + i * (size_t)dv;
      for (int c = 0; c < dv; c++) ac[c] *= alpha;
    }
  }
}

/* Softmax partial result of nq queries (global positions q0..) over one key shard of nk
 * keys (positions k0..): running max m, sum l and unnormalised output acc (nq x dv), as in
 * FlashAttention Alg. 1.  Rows that see no key keep m = -inf, l = 0, acc = 0.
 * S: workspace SUBQ_ATTN_BQ x block. */
static void FN(softmax_shard_)(subq_attn_t *a, size_t nq, size_t nk, const R *Q, const R *K,
                               const R *V, size_t q0, size_t k0, R *m, R *l, R *acc, R *S) {
  const int d = a->d, dv = a->dv, causal = a->causal;
  const size_t bk = (size_t)a->block;
  const R sc = (R)a->scale;
  for (size_t i = 0; i < nq; i++) m[i] = -(R)INFINITY;
  memset(l, 0, sizeof(R) * nq);
  memset(acc, 0, sizeof(R) * nq * (size_t)dv);
  for (size_t i0 = 0; i0 < nq; i0 += SUBQ_ATTN_BQ) {
    const size_t nqb = nq - i0 < SUBQ_ATTN_BQ ? nq - i0 : SUBQ_ATTN_BQ;
    const size_t qlast = q0 + i0 + nqb - 1;
    for (size_t j0 = 0; j0 < nk; j0 += bk) {
      const size_t nkb = nk - j0 < bk ? nk - j0 : bk;
      if (causal && k0 + j0 > qlast) break;
      SUBQ_TGEMM(GEMM, a, CblasNoTrans, CblasTrans, nqb, nkb, d, sc, Q + i0 * d, d,
                 K + j0 * d, d, (R)0, S, nkb);
      FN(softmax_rows_)(nqb, nkb, causal, q0 + i0, k0 + j0, dv, S, m + i0, l + i0,
                        acc + i0 * (size_t)dv);
      SUBQ_TGEMM(GEMM, a, CblasNoTrans, CblasNoTrans, nqb, dv, nkb, (R)1, S, nkb,
                 V + j0 * dv, dv, (R)1, acc + i0 * dv, dv);
    }
  }
}

/* Log-sum-exp merge of a shard's partial softmax (ms, ls, accs) into (m, l, acc): the
 * result is the softmax partial over the union of the key sets.  Empty partials have
 * m = -inf and are skipped, so no -inf - -inf = NaN arises. */
static void FN(lse_merge_)(size_t n, int dv, R *m, R *l, R *acc, const R *ms, const R *ls,
                           const R *accs) {
  for (size_t i = 0; i < n; i++) {
    if (ms[i] == -(R)INFINITY) continue;
    R *ac = acc + i * (size_t)dv;
    const R *as = accs + i * (size_t)dv;
    if (m[i] == -(R)INFINITY) {
      m[i] = ms[i];
      l[i] = ls[i];
      memcpy(ac, as, sizeof(R) * (size_t)dv);
      continue;
    }
    const R mn = m[i] > ms[i] ? m[i] : ms[i];
    const R wa = EXP(m[i] - mn), wb = EXP(ms[i] - mn);
    l[i] = wa * l[i] + wb * ls[i];
    for (int c = 0; c < dv; c++) ac[c] = wa * ac[c] + wb * as[c];
    m[i] = mn;
  }
}

/* Exact polynomial partial: den += sum_j <q,k_j>^p, acc += sum_j <q,k_j>^p v_j over one key
 * shard (q, k already layer-normalised). */
static void FN(poly_shard_)(subq_attn_t *a, size_t nq, size_t nk, const R *Q, const R *K,
                            const R *V, size_t q0, size_t k0, R *den, R *acc, R *S) {
  const int d = a->d, dv = a->dv, causal = a->causal, half = a->p / 2;
  const size_t bk = (size_t)a->block;
  for (size_t i0 = 0; i0 < nq; i0 += SUBQ_ATTN_BQ) {
    const size_t nqb = nq - i0 < SUBQ_ATTN_BQ ? nq - i0 : SUBQ_ATTN_BQ;
    const size_t qlast = q0 + i0 + nqb - 1;
    for (size_t j0 = 0; j0 < nk; j0 += bk) {
      const size_t nkb = nk - j0 < bk ? nk - j0 : bk;
      if (causal && k0 + j0 > qlast) break;
      SUBQ_TGEMM(GEMM, a, CblasNoTrans, CblasTrans, nqb, nkb, d, (R)1, Q + i0 * d, d,
                 K + j0 * d, d, (R)0, S, nkb);
      for (size_t i = 0; i < nqb; i++) {
        R *restrict s = S + i * nkb;
        const size_t vis = FN(visible_)(causal, q0 + i0 + i, k0 + j0, nkb);
        R sum = 0;
        for (size_t j = 0; j < vis; j++) {
          const R t2 = s[j] * s[j];
          R w = t2;
          for (int e = 1; e < half; e++) w *= t2;
          s[j] = w;
          sum += w;
        }
        for (size_t j = vis; j < nkb; j++) s[j] = 0;
        den[i0 + i] += sum;
      }
      SUBQ_TGEMM(GEMM, a, CblasNoTrans, CblasNoTrans, nqb, dv, nkb, (R)1, S, nkb,
                 V + j0 * dv, dv, (R)1, acc + i0 * dv, dv);
    }
  }
}

/* Sequence-parallel exact attention: K, V shards travel around the ring of ranks; each
 * rank merges the partial results of its queries over every shard it can see. */
int FN(subq_attn_exact_apply_)(subq_attn_t *a, size_t nl, const R *Q, const R *K,
                               const R *V, R *O) {
  const int d = a->d, dv = a->dv, np = a->size, me = a->rank;
  const int soft = a->type == SUBQ_ATTN_SOFTMAX, dev = a->cu != NULL;
  unsigned long long nme = nl, *cnt = NULL;
  R *bufK = NULL, *bufV = NULL, *S = NULL, *Qn = NULL, *m = NULL, *l = NULL, *acc = NULL,
    *ms = NULL, *ls = NULL, *accs = NULL;
  int derr = SUBQ_OK, err = subq_malloc((size_t)np, sizeof *cnt, &cnt);
  err = subq_error_agree(a->comm, err);
  if (err) goto done;
  if (MPI_Allgather(&nme, 1, MPI_UNSIGNED_LONG_LONG, cnt, 1, MPI_UNSIGNED_LONG_LONG,
                    a->comm) != MPI_SUCCESS) {
    err = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Allgather of the shard sizes failed");
    goto done;
  }
  size_t maxn = 0, off = 0, total = 0;
  for (int r = 0; r < np; r++) {
    maxn = cnt[r] > maxn ? cnt[r] : maxn;
    if (r < me) off += cnt[r];
    total += cnt[r];
  }
  (void)total;
  if (maxn * (size_t)(d > dv ? d : dv) > (size_t)INT32_MAX) {
    err = SUBQ_FAIL(SUBQ_ERR_UNSUPPORTED, "shard of %zu tokens too large for one MPI message", maxn);
  }
  /* The ring buffers are what MPI exchanges: pinned host memory on cuda. */
  if (!err) err = subq_attn_host_alloc_(a, maxn * (size_t)d + 1, sizeof(R), &bufK);
  if (!err) err = subq_attn_host_alloc_(a, maxn * (size_t)dv + 1, sizeof(R), &bufV);
  if (!err && !dev) err = subq_malloc((size_t)SUBQ_ATTN_BQ * (size_t)a->block, sizeof(R), &S);
  if (!err && !dev) err = subq_calloc(nl + 1, sizeof(R), &l);
  if (!err && !dev) err = subq_calloc(nl * (size_t)dv + 1, sizeof(R), &acc);
  if (!err && soft && !dev) {
    err = subq_malloc(nl + 1, sizeof(R), &m);
    if (!err) err = subq_malloc(nl + 1, sizeof(R), &ms);
    if (!err) err = subq_malloc(nl + 1, sizeof(R), &ls);
    if (!err) err = subq_malloc(nl * (size_t)dv + 1, sizeof(R), &accs);
  }
  if (!err && !soft) err = subq_malloc(nl * (size_t)d + 1, sizeof(R), &Qn);
  /* Poly: layer-normalise Q here and K into the ring buffer. */
  if (!err && !soft) err = FN(layer_norm_)(nl, d, Q, Qn);
  if (!err && !soft) err = FN(layer_norm_)(nl, d, K, bufK);
  if (!err && soft) memcpy(bufK, K, sizeof(R) * nl * (size_t)d);
  if (!err) {
    memcpy(bufV, V, sizeof(R) * nl * (size_t)dv);
    for (size_t i = 0; i < nl * (size_t)d && soft; i++)
      if (!isfinite((double)Q[i]) || !isfinite((double)K[i])) {
        err = SUBQ_FAIL(SUBQ_ERR_NUMERIC, "softmax attention: NaN/Inf in Q or K (row %zu)",
                        i / (size_t)d);
        break;
      }
    for (size_t i = 0; i < nl * (size_t)dv && !err; i++)
      if (!isfinite((double)V[i])) {
        err = SUBQ_FAIL(SUBQ_ERR_NUMERIC, "attention: NaN/Inf in V (row %zu)", i / (size_t)dv);
        break;
      }
  }
  /* cuda: upload this rank's queries (raw for softmax, layer-normalised for poly). */
  if (!err && dev) err = subq_cuda_attn_exact_begin(a->cu, sizeof(R) == sizeof(float), nl, off,
                                                    soft ? (const void *)Q : (const void *)Qn);
  err = subq_error_agree(a->comm, err);
  if (err) goto done;
  if (soft && !dev)
    for (size_t i = 0; i < nl; i++) m[i] = -(R)INFINITY;
  /* A device failure is agreed after the ring: this rank keeps exchanging shards, so no
   * rank waits in a Sendrecv for it. */
  for (int step = 0; step < np; step++) {
    const int src = (me - step + np) % np;
    size_t koff = 0;
    for (int r = 0; r < src; r++) koff += cnt[r];
    const size_t nk = cnt[src];
    if (nl > 0 && nk > 0 && (!a->causal || koff <= off + nl - 1)) {
      if (dev) {
        if (!derr) derr = subq_cuda_attn_exact_shard(a->cu, nk, koff, bufK, bufV);
      } else if (soft) {
        FN(softmax_shard_)(a, nl, nk, Q, bufK, bufV, off, koff, ms, ls, accs, S);
        FN(lse_merge_)(nl, dv, m, l, acc, ms, ls, accs);
      } else {
        FN(poly_shard_)(a, nl, nk, Qn, bufK, bufV, off, koff, l, acc, S);
      }
    }
    if (step + 1 < np) {
      MPI_Status st;
      int e1 = MPI_Sendrecv_replace(bufK, (int)(maxn * (size_t)d), MPI_R, (me + 1) % np, 1,
                                    (me - 1 + np) % np, 1, a->comm, &st);
      int e2 = MPI_Sendrecv_replace(bufV, (int)(maxn * (size_t)dv), MPI_R, (me + 1) % np, 2,
                                    (me - 1 + np) % np, 2, a->comm, &st);
      if (e1 != MPI_SUCCESS || e2 != MPI_SUCCESS) {
        err = SUBQ_FAIL(SUBQ_ERR_MPI, "ring exchange of K/V shards failed at step %d", step);
        goto done;
      }
    }
  }
  if (dev) {
    if (!derr) derr = subq_cuda_attn_exact_end(a->cu, O);
    err = subq_error_agree(a->comm, derr);
    goto done;
  }
  for (size_t i = 0; i < nl; i++) {
    const R den = soft ? l[i] : 1 + l[i];
    const R inv = den > 0 ? 1 / den : 0;
    for (int c = 0; c < dv; c++) O[i * dv + c] = acc[i * dv + c] * inv;
  }
done:
  subq_free(&cnt);
  subq_attn_host_free_(a, &bufK);
  subq_attn_host_free_(a, &bufV);
  subq_free(&S);
  subq_free(&Qn);
  subq_free(&m);
  subq_free(&l);
  subq_free(&acc);
  subq_free(&ms);
  subq_free(&ls);
  subq_free(&accs);
  return err;
}
