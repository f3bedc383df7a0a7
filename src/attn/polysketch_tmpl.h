/* Polysketch attention, block lower-triangular algorithm (PolySketchFormer Sec. 3.3), one
 * body for double and float: included by polysketch.c with R, FN, GEMM, MPI_R, LN (layer
 * norm) and FEATURES (polysketch features) defined. */

/* Self-tensored features by symmetry: row a (r) -> a_c^2, sqrt(2) a_c a_e (c < e), so
 * <t(a), t(b)> = <a, b>^2 with r(r+1)/2 entries instead of r^2. */
static void FN(tensor2_)(size_t n, int r, const R *A, R *X2) {
  const size_t rr = subq_attn_rr_(r);
  const R s2 = (R)M_SQRT2;
  for (size_t i = 0; i < n; i++) {
    const R *restrict a = A + i * (size_t)r;
    R *restrict x = X2 + i * rr;
    for (int c = 0; c < r; c++) {
      const R ac = a[c], bc = s2 * a[c];
      *x++ = ac * ac;
      for (int e = c + 1; e < r; e++) *x++ = bc * a[e];
    }
  }
}

enum { FN(MODE_STATE_), FN(MODE_CAUSAL_), FN(MODE_QUERY_) };

typedef struct {
  R *P, *Vp, *X2, *OUT;
} FN(work_t);

/* One sweep over the local tokens [0, nl) (global positions g0..), in blocks whose edges
 * are at global multiples of b.  MODE_STATE: Z += sum_blocks t(B)^T [V 1].  MODE_CAUSAL:
 * per block, OUT = t(A) Z + tril(K_blk) [V 1], then Z += t(B)^T [V 1] (Z enters as the state
 * of all earlier tokens).  MODE_QUERY: OUT = t(A) Z (non-causal).  Outputs O = OUT[:, :dv] /
 * (1 + OUT[:, dv]). */
static void FN(sweep_)(subq_attn_t *a, int mode, size_t nl, size_t g0, const R *A,
                       const R *B, const R *Qn, const R *Kn, const R *V, R *Z, R *O,
                       FN(work_t) *w) {
  const size_t b = (size_t)a->block, rr = subq_attn_rr_(a->r);
  const int r = a->r, d = a->d, dv = a->dv, dv1 = dv + 1, half = a->p / 2;
  for (size_t s = 0, e; s < nl; s = e) {
    e = ((g0 + s) / b + 1) * b - g0;
    if (e > nl) e = nl;
    const size_t len = e - s;
    for (size_t i = 0; i < len; i++) {
      memcpy(w->Vp + i * dv1, V + (s + i) * dv, sizeof(R) * (size_t)dv);
      w->Vp[i * dv1 + dv] = 1;
    }
    if (mode != FN(MODE_STATE_)) {
      FN(tensor2_)(len, r, A + s * r, w->X2);
      SUBQ_TGEMM(GEMM, a, CblasNoTrans, CblasNoTrans, len, dv1, rr, (R)1, w->X2, rr, Z, dv1,
                 (R)0, w->OUT, dv1);
    }
    if (mode == FN(MODE_CAUSAL_)) {
      /* Diagonal block: tril((A B^T)^2) or, mixed, tril((Qn Kn^T)^p). */
      if (a->mixed)
        SUBQ_TGEMM(GEMM, a, CblasNoTrans, CblasTrans, len, len, d, (R)1, Qn + s * d, d,
                   Kn + s * d, d, (R)0, w->P, len);
      else
        SUBQ_TGEMM(GEMM, a, CblasNoTrans, CblasTrans, len, len, r, (R)1, A + s * r, r,
                   B + s * r, r, (R)0, w->P, len);
      const int reps = a->mixed ? half : 1;
      for (size_t i = 0; i < len; i++) {
        R *restrict p = w->P + i * len;
        for (size_t j = 0; j <= i; j++) {
          const R t2 = p[j] * p[j];
          R v = t2;
          for (int k = 1; k < reps; k++) v *= t2;
          p[j] = v;
        }
        for (size_t j = i + 1; j < len; j++) p[j] = 0;
      }
      SUBQ_TGEMM(GEMM, a, CblasNoTrans, CblasNoTrans, len, dv1, len, (R)1, w->P, len, w->Vp,
                 dv1, (R)1, w->OUT, dv1);
    }
    if (mode != FN(MODE_STATE_)) {
      for (size_t i = 0; i < len; i++) {
        const R *o = w->OUT + i * dv1;
        const R inv = 1 / (1 + o[dv]);
        for (int c = 0; c < dv; c++) O[(s + i) * dv + c] = o[c] * inv;
      }
    }
    if (mode != FN(MODE_QUERY_)) {
      FN(tensor2_)(len, r, B + s * r, w->X2);
      SUBQ_TGEMM(GEMM, a, CblasTrans, CblasNoTrans, rr, dv1, len, (R)1, w->X2, rr, w->Vp, dv1,
                 (R)1, Z, dv1);
    }
  }
}

/* The same on the device (src/cuda/attn_polysketch.cu): features and block algorithm
 * there, the states exchanged through pinned host buffers.  Qn, Kn layer-normalised; g0
 * the global position of the first local token.  Collective; every phase agreed, so a
 * device failure on one rank never leaves another waiting in the scan. */
static int FN(sketch_apply_cuda_)(subq_attn_t *a, size_t nl, size_t g0, const R *Qn,
                                  const R *Kn, const R *V, R *O) {
  const size_t zn = subq_attn_rr_(a->r) * (size_t)(a->dv + 1);
  const int f32 = sizeof(R) == sizeof(float);
  R *Z = NULL, *Zl = NULL;
  int err = subq_attn_host_alloc_(a, zn, sizeof(R), &Z);
  if (!err) err = subq_attn_host_alloc_(a, zn, sizeof(R), &Zl);
  if (!err) {
    memset(Z, 0, sizeof(R) * zn);
    err = subq_cuda_attn_ps_begin(a->cu, f32, nl, g0, Qn, Kn, V);
  }
  err = subq_error_agree(a->comm, err);
  if (err) goto done;
  if (!a->causal || a->size > 1) {
    /* Local state; non-causal: its sum over ranks; causal: the exclusive prefix sum. */
    err = subq_error_agree(a->comm, subq_cuda_attn_ps_state(a->cu, Zl));
    if (err) goto done;
    int me = !a->causal ? MPI_Allreduce(Zl, Z, (int)zn, MPI_R, MPI_SUM, a->comm)
                        : MPI_Exscan(Zl, Z, (int)zn, MPI_R, MPI_SUM, a->comm);
    if (me != MPI_SUCCESS) {
      err = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_%s of the polysketch state failed",
                      a->causal ? "Exscan" : "Allreduce");
      goto done;
    }
    if (a->causal && a->rank == 0) memset(Z, 0, sizeof(R) * zn);
  }
  err = subq_error_agree(a->comm, subq_cuda_attn_ps_output(a->cu, Z, O));
done:
  subq_cuda_attn_ps_end(a->cu);
  subq_attn_host_free_(a, &Z);
  subq_attn_host_free_(a, &Zl);
  return err;
}

int FN(subq_attn_sketch_apply_)(subq_attn_t *a, size_t nl, const R *Q, const R *K,
                                const R *V, R *O) {
  const int d = a->d, dv = a->dv, r = a->r;
  const size_t b = (size_t)a->block, rr = subq_attn_rr_(r), zn = rr * (size_t)(dv + 1);
  R *Qn = NULL, *Kn = NULL, *A = NULL, *B = NULL, *Z = NULL, *Zl = NULL;
  FN(work_t) w = {0};
  const size_t bl = nl < b ? nl : b;
  const int dev = a->cu != NULL;
  int err = subq_malloc(nl * (size_t)d + 1, sizeof(R), &Qn);
  if (!err) err = subq_malloc(nl * (size_t)d + 1, sizeof(R), &Kn);
  if (!dev) { /* the device path needs only Qn, Kn on the host */
    if (!err) err = subq_malloc(nl * (size_t)r + 1, sizeof(R), &A);
    if (!err) err = subq_malloc(nl * (size_t)r + 1, sizeof(R), &B);
    if (!err) err = subq_calloc(zn, sizeof(R), &Z);
    if (!err) err = subq_calloc(zn, sizeof(R), &Zl);
    if (!err) err = subq_malloc(bl * bl + 1, sizeof(R), &w.P);
    if (!err) err = subq_malloc(bl * (size_t)(dv + 1) + 1, sizeof(R), &w.Vp);
    if (!err) err = subq_malloc(bl * rr + 1, sizeof(R), &w.X2);
    if (!err) err = subq_malloc(bl * (size_t)(dv + 1) + 1, sizeof(R), &w.OUT);
  }
  if (!err) err = LN(nl, d, Q, Qn);
  if (!err) err = LN(nl, d, K, Kn);
  for (size_t i = 0; i < nl * (size_t)dv && !err; i++)
    if (!isfinite((double)V[i]))
      err = SUBQ_FAIL(SUBQ_ERR_NUMERIC, "attention: NaN/Inf in V (row %zu)", i / (size_t)dv);
  if (!err && nl > 0 && !dev) err = FEATURES(a->phi, nl, Qn, (size_t)d, A, (size_t)r);
  if (!err && nl > 0 && !dev) err = FEATURES(a->phi, nl, Kn, (size_t)d, B, (size_t)r);
  err = subq_error_agree(a->comm, err);
  if (err) goto done;
  unsigned long long nme = nl, g0 = 0;
  if (MPI_Exscan(&nme, &g0, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM, a->comm) != MPI_SUCCESS) {
    err = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Exscan of the shard sizes failed");
    goto done;
  }
  if (a->rank == 0) g0 = 0;
  if (dev) {
    err = FN(sketch_apply_cuda_)(a, nl, (size_t)g0, Qn, Kn, V, O);
    goto done;
  }
  if (!a->causal) {
    FN(sweep_)(a, FN(MODE_STATE_), nl, g0, A, B, Qn, Kn, V, Z, O, &w);
    if (a->size > 1 &&
        MPI_Allreduce(MPI_IN_PLACE, Z, (int)zn, MPI_R, MPI_SUM, a->comm) != MPI_SUCCESS) {
      err = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Allreduce of the polysketch state failed");
      goto done;
    }
    FN(sweep_)(a, FN(MODE_QUERY_), nl, g0, A, B, Qn, Kn, V, Z, O, &w);
    goto done;
  }
  if (a->size > 1) {
    /* Local state, exclusive prefix sum over ranks (LASP-2 style), then local outputs. */
    FN(sweep_)(a, FN(MODE_STATE_), nl, g0, A, B, Qn, Kn, V, Zl, O, &w);
    if (MPI_Exscan(Zl, Z, (int)zn, MPI_R, MPI_SUM, a->comm) != MPI_SUCCESS) {
      err = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Exscan of the polysketch state failed");
      goto done;
    }
    if (a->rank == 0) memset(Z, 0, sizeof(R) * zn);
  }
  FN(sweep_)(a, FN(MODE_CAUSAL_), nl, g0, A, B, Qn, Kn, V, Z, O, &w);
done:
  subq_free(&Qn);
  subq_free(&Kn);
  subq_free(&A);
  subq_free(&B);
  subq_free(&Z);
  subq_free(&Zl);
  subq_free(&w.P);
  subq_free(&w.Vp);
  subq_free(&w.X2);
  subq_free(&w.OUT);
  return err;
}
