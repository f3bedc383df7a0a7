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

enum { FN(MODE_STATE_), FN(MODE_STATE_FULL_), FN(MODE_CAUSAL_), FN(MODE_QUERY_) };

typedef struct {
  R *P, *Vp, *X2, *OUT;
} FN(work_t);

/* One sweep over the key-side rows [0, nk), nk = h + nl, at global positions g0.. (g0 the
 * position of key row 0), in blocks whose edges are at global multiples of b.  Key-side
 * arrays B (nk x r) and Kn (nk x d) start with h halo rows (the earlier tokens of the
 * block that holds this rank's first token, mixed variant across a shard edge), whose values
 * are Vh (h x dv); V (nl x dv) holds the local rows h..nk-1.  Query-side arrays A (nl x r),
 * Qn (nl x d) and O (nl x dv) hold the local rows only.  MODE_STATE: Z += sum_blocks t(B)^T
 * [V 1]; MODE_STATE_FULL: the same over the blocks that end at a multiple of b inside this
 * range (a trailing partial block belongs to the next rank).  MODE_CAUSAL: per block, OUT =
 * t(A) Z + tril(K_blk) [V 1] for the block's local query rows, then Z += t(B)^T [V 1] (Z
 * enters as the state of all tokens before the first block).  MODE_QUERY: OUT = t(A) Z
 * (non-causal).  Outputs O = OUT[:, :dv] / (1 + OUT[:, dv]). */
static void FN(sweep_)(subq_attn_t *a, int mode, size_t nl, size_t h, size_t g0, const R *A,
                       const R *B, const R *Qn, const R *Kn, const R *Vh, const R *V, R *Z,
                       R *O, FN(work_t) *w) {
  const size_t b = (size_t)a->block, rr = subq_attn_rr_(a->r), nk = h + nl;
  const int r = a->r, d = a->d, dv = a->dv, dv1 = dv + 1, half = a->p / 2;
  const int state = mode == FN(MODE_STATE_) || mode == FN(MODE_STATE_FULL_);
  for (size_t s = 0, e; s < nk; s = e) {
    e = ((g0 + s) / b + 1) * b - g0;
    if (e > nk) e = nk;
    if (mode == FN(MODE_STATE_FULL_) && (g0 + e) % b != 0) continue;
    const size_t len = e - s, qs = s > h ? s : h, lq = e > qs ? e - qs : 0, off = qs - s;
    for (size_t i = 0; i < len; i++) {
      const size_t row = s + i;
      memcpy(w->Vp + i * dv1, row < h ? Vh + row * dv : V + (row - h) * dv,
             sizeof(R) * (size_t)dv);
      w->Vp[i * dv1 + dv] = 1;
    }
    if (!state && lq > 0) {
      FN(tensor2_)(lq, r, A + (qs - h) * r, w->X2);
      SUBQ_TGEMM(GEMM, a, CblasNoTrans, CblasNoTrans, lq, dv1, rr, (R)1, w->X2, rr, Z, dv1,
                 (R)0, w->OUT, dv1);
    }
    if (mode == FN(MODE_CAUSAL_) && lq > 0) {
      /* Diagonal block: tril((A B^T)^2) or, mixed, tril((Qn Kn^T)^p); query row i of the
       * block's local rows is block row i + off. */
      if (a->mixed)
        SUBQ_TGEMM(GEMM, a, CblasNoTrans, CblasTrans, lq, len, d, (R)1, Qn + (qs - h) * d, d,
                   Kn + s * d, d, (R)0, w->P, len);
      else
        SUBQ_TGEMM(GEMM, a, CblasNoTrans, CblasTrans, lq, len, r, (R)1, A + (qs - h) * r, r,
                   B + s * r, r, (R)0, w->P, len);
      const int reps = a->mixed ? half : 1;
      for (size_t i = 0; i < lq; i++) {
        R *restrict p = w->P + i * len;
        for (size_t j = 0; j <= i + off; j++) {
          const R t2 = p[j] * p[j];
          R v = t2;
          for (int k = 1; k < reps; k++) v *= t2;
          p[j] = v;
        }
        for (size_t j = i + off + 1; j < len; j++) p[j] = 0;
      }
      SUBQ_TGEMM(GEMM, a, CblasNoTrans, CblasNoTrans, lq, dv1, len, (R)1, w->P, len, w->Vp,
                 dv1, (R)1, w->OUT, dv1);
    }
    if (!state) {
      for (size_t i = 0; i < lq; i++) {
        const R *o = w->OUT + i * dv1;
        const R inv = 1 / (1 + o[dv]);
        for (int c = 0; c < dv; c++) O[(qs - h + i) * dv + c] = o[c] * inv;
      }
    }
    if (mode != FN(MODE_QUERY_)) {
      FN(tensor2_)(len, r, B + s * r, w->X2);
      SUBQ_TGEMM(GEMM, a, CblasTrans, CblasNoTrans, rr, dv1, len, (R)1, w->X2, rr, w->Vp, dv1,
                 (R)1, Z, dv1);
    }
  }
}

/* Mixed variant across shard edges: the block that holds this rank's first token (global
 * g0) starts at g0 - h, h = g0 mod b, and its exact diagonal part needs the layer-normalised
 * keys and the values of tokens g0 - h .. g0 - 1.  They come from the previous rank in one
 * message of h x (d + dv) values (that rank forwards earlier ranks' tokens when its own
 * shard is shorter than the block's part before it).  This rank sends the next rank the
 * last hn = (g0 + nl) mod b rows of its halo + local rows (hn = 0: no message); it sends
 * before receiving when those rows are all local, so the common case (shards >= b) is one
 * concurrent exchange.  Kn: nk x d with the halo rows first (filled here); Vh: h x dv.
 * Collective over the neighbours; MPI errors returned. */
static int FN(halo_)(subq_attn_t *a, size_t h, size_t hn, size_t nl, R *Kn, R *Vh,
                     const R *V) {
  const size_t d = (size_t)a->d, dv = (size_t)a->dv, w = d + dv, nk = h + nl;
  R *rb = NULL, *sb = NULL;
  MPI_Request req = MPI_REQUEST_NULL;
  int err = subq_malloc(h * w + 1, sizeof(R), &rb);
  if (!err) err = subq_malloc(hn * w + 1, sizeof(R), &sb);
  if (err) goto done;
  const int early = hn > 0 && hn <= nl;
  for (int pass = 0; pass < 2 && !err; pass++) {
    if (pass == (early ? 1 : 0) && h > 0) { /* receive the halo */
      if (MPI_Recv(rb, (int)(h * w), MPI_R, a->rank - 1, 0x5048, a->comm, MPI_STATUS_IGNORE) !=
          MPI_SUCCESS) {
        err = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Recv of the mixed-variant halo failed");
        break;
      }
      for (size_t i = 0; i < h; i++) {
        memcpy(Kn + i * d, rb + i * w, sizeof(R) * d);
        memcpy(Vh + i * dv, rb + i * w + d, sizeof(R) * dv);
      }
    }
    if (pass == (early ? 0 : 1) && hn > 0) { /* send the tail of rows [0, nk) */
      for (size_t i = 0; i < hn; i++) {
        const size_t row = nk - hn + i;
        memcpy(sb + i * w, Kn + row * d, sizeof(R) * d);
        memcpy(sb + i * w + d, row < h ? Vh + row * dv : V + (row - h) * dv, sizeof(R) * dv);
      }
      if (MPI_Isend(sb, (int)(hn * w), MPI_R, a->rank + 1, 0x5048, a->comm, &req) !=
          MPI_SUCCESS)
        err = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Isend of the mixed-variant halo failed");
    }
  }
  if (req != MPI_REQUEST_NULL && MPI_Wait(&req, MPI_STATUS_IGNORE) != MPI_SUCCESS && !err)
    err = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Wait for the mixed-variant halo failed");
done:
  subq_free(&rb);
  subq_free(&sb);
  return err;
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
  R *Qn = NULL, *Kn = NULL, *A = NULL, *B = NULL, *Z = NULL, *Zl = NULL, *Vh = NULL;
  FN(work_t) w = {0};
  /* Global position of the first local token; the mixed variant's halo (see halo_). */
  unsigned long long nme = nl, g0 = 0;
  if (MPI_Exscan(&nme, &g0, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM, a->comm) != MPI_SUCCESS)
    return SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Exscan of the shard sizes failed");
  if (a->rank == 0) g0 = 0;
  const int halo = a->mixed && a->causal && a->size > 1;
  const size_t h = halo ? (size_t)g0 % b : 0, nk = h + nl;
  /* The device path has no halo exchange: a mixed apply with a shard edge inside a block
   * runs on the CPU (every rank, agreed), and its gemm statistics are the CPU's. */
  int cut = h > 0, anycut = 0;
  if (a->cu && halo &&
      MPI_Allreduce(&cut, &anycut, 1, MPI_INT, MPI_MAX, a->comm) != MPI_SUCCESS)
    return SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Allreduce of the shard-edge flag failed");
  a->host_apply = a->cu != NULL && anycut;
  const int dev = a->cu != NULL && !anycut;
  const size_t hn = halo && a->rank < a->size - 1 ? (size_t)(g0 + nl) % b : 0;
  const size_t bl = nk < b ? nk : b;
  int err = subq_malloc(nl * (size_t)d + 1, sizeof(R), &Qn);
  if (!err) err = subq_malloc(nk * (size_t)d + 1, sizeof(R), &Kn);
  if (!dev) { /* the device path needs only Qn, Kn on the host */
    if (!err) err = subq_malloc(nl * (size_t)r + 1, sizeof(R), &A);
    if (!err) err = subq_malloc(nk * (size_t)r + 1, sizeof(R), &B);
    if (!err) err = subq_malloc(h * (size_t)dv + 1, sizeof(R), &Vh);
    if (!err) err = subq_calloc(zn, sizeof(R), &Z);
    if (!err) err = subq_calloc(zn, sizeof(R), &Zl);
    if (!err) err = subq_malloc(bl * bl + 1, sizeof(R), &w.P);
    if (!err) err = subq_malloc(bl * (size_t)(dv + 1) + 1, sizeof(R), &w.Vp);
    if (!err) err = subq_malloc(bl * rr + 1, sizeof(R), &w.X2);
    if (!err) err = subq_malloc(bl * (size_t)(dv + 1) + 1, sizeof(R), &w.OUT);
  }
  if (!err) err = LN(nl, d, Q, Qn);
  if (!err) err = LN(nl, d, K, Kn + h * d);
  for (size_t i = 0; i < nl * (size_t)dv && !err; i++)
    if (!isfinite((double)V[i]))
      err = SUBQ_FAIL(SUBQ_ERR_NUMERIC, "attention: NaN/Inf in V (row %zu)", i / (size_t)dv);
  if (!err && nl > 0 && !dev) err = FEATURES(a->phi, nl, Qn, (size_t)d, A, (size_t)r);
  if (!err && nl > 0 && !dev) err = FEATURES(a->phi, nl, Kn + h * d, (size_t)d, B + h * r, (size_t)r);
  err = subq_error_agree(a->comm, err);
  if (err) goto done;
  if (halo && !dev) {
    err = FN(halo_)(a, h, hn, nl, Kn, Vh, V);
    if (!err && h > 0) err = FEATURES(a->phi, h, Kn, (size_t)d, B, (size_t)r);
    err = subq_error_agree(a->comm, err);
    if (err) goto done;
  }
  if (dev) {
    err = FN(sketch_apply_cuda_)(a, nl, (size_t)g0, Qn, Kn, V, O);
    goto done;
  }
  if (!a->causal) {
    FN(sweep_)(a, FN(MODE_STATE_), nl, 0, g0, A, B, Qn, Kn, Vh, V, Z, O, &w);
    if (a->size > 1 &&
        MPI_Allreduce(MPI_IN_PLACE, Z, (int)zn, MPI_R, MPI_SUM, a->comm) != MPI_SUCCESS) {
      err = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Allreduce of the polysketch state failed");
      goto done;
    }
    FN(sweep_)(a, FN(MODE_QUERY_), nl, 0, g0, A, B, Qn, Kn, Vh, V, Z, O, &w);
    goto done;
  }
  if (a->size > 1) {
    /* Local state, exclusive prefix sum over ranks (LASP-2 style), then local outputs.
     * Mixed: a block that straddles a shard edge is summed by the rank holding its end,
     * so the scan gives each rank the state of the blocks before its first block. */
    FN(sweep_)(a, halo ? FN(MODE_STATE_FULL_) : FN(MODE_STATE_), nl, h, g0 - h, A, B, Qn, Kn,
               Vh, V, Zl, O, &w);
    if (MPI_Exscan(Zl, Z, (int)zn, MPI_R, MPI_SUM, a->comm) != MPI_SUCCESS) {
      err = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Exscan of the polysketch state failed");
      goto done;
    }
    if (a->rank == 0) memset(Z, 0, sizeof(R) * zn);
  }
  FN(sweep_)(a, FN(MODE_CAUSAL_), nl, h, g0 - h, A, B, Qn, Kn, Vh, V, Z, O, &w);
done:
  subq_free(&Qn);
  subq_free(&Kn);
  subq_free(&A);
  subq_free(&B);
  subq_free(&Vh);
  subq_free(&Z);
  subq_free(&Zl);
  subq_free(&w.P);
  subq_free(&w.Vp);
  subq_free(&w.X2);
  subq_free(&w.OUT);
  return err;
}
