/* subq polarquant: compress a real KV cache with PolarQuant (Han et al. 2025, arXiv
 * 2502.02617) and its peers at matched bits, and measure what it does to attention.
 *
 * For every selected (layer, KV head) of the dump and every method, keys and values are
 * encoded and decoded; the job reports bits per coordinate (all metadata included),
 * compression vs fp16, relative MSE of K^ and V^, and, with the real queries of every
 * query head mapped to that KV head (GQA), causal per query:
 *   score_rel_err    |q K^T - q K^T_exact| / |q K^T_exact| over keys j <= i, with the
 *                    scores computed from the codes (subq_quant_scores);
 *   attn_out_rel_err |softmax(q K^T/sqrt d) V^ - exact| / |exact|, the scores from the
 *                    codes, the exact output from the library's causal softmax attention
 *                    (subq_attn, SUBQ_ATTN_SOFTMAX on MPI_COMM_SELF, once per query head);
 *   top1_agree, top8_agree  argmax / top-8 overlap of the attention distribution (of the
 *                    scores: softmax is monotone).
 * Averages are over layers, KV heads and queries.  Work units (layer, KV head) are dealt
 * round-robin over the ranks; each unit is computed by one rank, so the figures do not
 * depend on the number of ranks.  --gauss=N also quantizes N unit Gaussian vectors and
 * prints each method's MSE beside TurboQuant's published values (0.117 at 2 bits, 0.03
 * at 3 bits). */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/job.h"
#include "subq/attn.h"
#include "subq/quant.h"

static const subq_opt_spec_t opts_[] = {
    {"kv", SUBQ_OPT_STRING, NULL, "", "KV dump directory (e.g. data/kv/smollm2-135m-gpl3)", NULL, 0, 0},
    {"layers", SUBQ_OPT_LIST, NULL, "", "model layers to use (default: every dumped layer)", NULL, 0, 1e6},
    {"kv-heads", SUBQ_OPT_LIST, NULL, "", "KV heads to use (default: all)", NULL, 0, 1e6},
    {"methods", SUBQ_OPT_STRING, "polarquant,polarquant_nopre,kivi,qjl,turbo,q4_0,fp16", "",
     "methods: polarquant, polarquant_nopre, kivi, qjl, turbo, q4_0, fp16", NULL, 0, 0},
    {"bits", SUBQ_OPT_LIST, "4,2,2,2", "bits", "PolarQuant bits per level", NULL, 1, 8},
    {"levels", SUBQ_OPT_INT, "4", "", "PolarQuant levels L (blocks of 2^L coordinates)", NULL, 1, 8},
    {"codebook", SUBQ_OPT_CHOICE, "offline", "", "PolarQuant angle codebooks", "offline|online", 0, 0},
    {"precondition", SUBQ_OPT_CHOICE, "hadamard", "", "random rotation of polarquant/turbo",
     "hadamard|dense|none", 0, 0},
    {"residual", SUBQ_OPT_INT, "0", "tokens", "recent tokens kept in fp16 (every method)", NULL, 0, 1e9},
    {"kivi-bits", SUBQ_OPT_INT, "2", "bits", "KIVI bits (also QJL's values)", NULL, 1, 8},
    {"turbo-bits", SUBQ_OPT_INT, "3", "bits", "TurboQuant bits per coordinate", NULL, 1, 8},
    {"qjl-m", SUBQ_OPT_INT, "0", "bits", "QJL sketch size m (0: 4*head_dim - 16)", NULL, 0, 1e5},
    {"queries", SUBQ_OPT_INT, "0", "", "query positions per head, evenly spaced (0: all)", NULL, 0, 1e9},
    {"gauss", SUBQ_OPT_INT, "2000", "vectors", "unit Gaussian vectors for the MSE anchor (0: skip)", NULL, 0, 1e7},
    {NULL, 0, NULL, NULL, NULL, NULL, 0, 0}};

static const char *const methods_[] = {"polarquant", "polarquant_nopre", "kivi", "qjl",
                                       "turbo",      "q4_0",             "fp16"};
enum { NMETH = 7 };
enum { M_BITS, M_KBITS, M_VBITS, M_KMSE, M_VMSE, M_SCORE, M_OUT, M_TOP1, M_TOP8, NM };
static const char *const mnames_[NM] = {"bits_per_coord", "k_bits_per_coord", "v_bits_per_coord",
                                        "k_rel_mse", "v_rel_mse", "score_rel_err",
                                        "attn_out_rel_err", "top1_agree", "top8_agree"};

typedef struct {
  int bits[8], nbits, levels, codebook, precond, kivi_bits, turbo_bits, qjl_m;
  long residual;
  uint64_t seed;
  subq_device_t device; /* --device: the polarquant methods and the exact reference */
} cfg_t;

/* Quantizer for method m and role (keys/values), set up (online codebooks on X). */
static int make_(const cfg_t *c, int m, int role, int d, size_t n, const float *X,
                 subq_quant_t **q) {
  const char *type = methods_[m];
  if (m <= 1) type = "polarquant";
  if (m == 3 && role == SUBQ_QUANT_VALUES) type = "kivi"; /* QJL's values: per token */
  SUBQ_CALL(subq_quant_create(type, d, q));
  int err = subq_quant_set_seed(*q, c->seed);
  if (!err) err = subq_quant_set_role(*q, role);
  if (!err) err = subq_quant_set_residual(*q, (size_t)c->residual);
  if (!err && m <= 1) {
    err = subq_quant_set_levels(*q, c->levels);
    if (!err) err = subq_quant_set_bits(*q, c->bits, c->nbits);
    if (!err) err = subq_quant_set_codebook(*q, c->codebook);
    if (!err) err = subq_quant_set_precondition(*q, m == 1 ? SUBQ_PRECOND_NONE : c->precond);
    if (!err) err = subq_quant_set_device(*q, c->device);
  }
  if (!err && strcmp(type, "kivi") == 0) err = subq_quant_set_bits(*q, &c->kivi_bits, 1);
  if (!err && m == 4) {
    err = subq_quant_set_bits(*q, &c->turbo_bits, 1);
    if (!err) err = subq_quant_set_precondition(*q, c->precond);
  }
  if (!err && strcmp(type, "qjl") == 0)
    err = subq_quant_set_sketch_dim(*q, c->qjl_m ? c->qjl_m : (4 * d - 16 > 0 ? 4 * d - 16 : d));
  if (!err) err = subq_quant_setup(*q, n, X);
  if (err) {
    subq_quant_destroy(q);
    return subq_error_trace(err, __FILE__, __LINE__, __func__);
  }
  return SUBQ_OK;
}

/* Encode + decode X; relative squared error and bits. */
static int roundtrip_(subq_quant_t *q, size_t n, int d, const float *X, subq_qtensor_t **t,
                      float *Xh, double *relmse, double *bits) {
  SUBQ_CALL(subq_quant_encode(q, n, X, t));
  SUBQ_CALL(subq_quant_decode(q, *t, Xh));
  double e = 0, s = 0;
  for (size_t i = 0; i < n * (size_t)d; i++) {
    e += (double)(Xh[i] - X[i]) * (Xh[i] - X[i]);
    s += (double)X[i] * X[i];
  }
  *relmse = s > 0 ? e / s : 0;
  *bits = subq_qtensor_bits(*t);
  return SUBQ_OK;
}

/* Indices of the (up to) 8 largest of p[0..n), into top (count returned). */
static int top8_(const float *p, size_t n, size_t *top) {
  int k = 0;
  for (size_t j = 0; j < n; j++) {
    int pos = k < 8 ? k++ : 8;
    while (pos > 0 && p[top[pos - 1]] < p[j]) {
      if (pos < 8) top[pos] = top[pos - 1];
      pos--;
    }
    if (pos < 8) top[pos] = j;
  }
  return k;
}

/* Causal softmax rows of the scores from the codes, Sh (nsel x n, row r masked beyond
 * pos[r]), scaled, in place. */
static void softmax_rows_(float *S, size_t nsel, size_t n, const size_t *pos, float scale) {
  for (size_t r = 0; r < nsel; r++) {
    float *s = S + r * n, mx = -INFINITY;
    for (size_t j = 0; j <= pos[r]; j++) mx = fmaxf(mx, scale * s[j]);
    double l = 0;
    for (size_t j = 0; j <= pos[r]; j++) l += (s[j] = expf(scale * s[j] - mx));
    for (size_t j = 0; j < n; j++) s[j] = j <= pos[r] ? (float)(s[j] / l) : 0.0f;
  }
}

/* One unit: layer lay, KV head h, all methods; res[m*NM + k] filled. */
static int unit_(const cfg_t *c, const subq_kv_t *kv, int lay, int h, const int *use,
                 size_t nsel, double *res) {
  const subq_kv_meta_t *mt = subq_kv_meta(kv);
  const size_t n = mt->tokens, d = (size_t)mt->head_dim;
  int nqh = 0, qh[256];
  for (int g = 0; g < mt->n_q_heads; g++)
    if (mt->gqa[g] == h) qh[nqh++] = g;
  float *K = NULL, *V = NULL, *Kh = NULL, *Vh = NULL, *Q = NULL, *Qall = NULL;
  float *S = NULL, *Sh = NULL, *O = NULL, *Oh = NULL, *Oex = NULL, *Oall = NULL;
  size_t *pos = NULL;
  subq_quant_t *kq = NULL, *vq = NULL;
  subq_qtensor_t *Kt = NULL, *Vt = NULL;
  int err = subq_malloc(n, d * sizeof(float), &K);
  if (!err) err = subq_malloc(n, d * sizeof(float), &V);
  if (!err) err = subq_malloc(n, d * sizeof(float), &Kh);
  if (!err) err = subq_malloc(n, d * sizeof(float), &Vh);
  if (!err) err = subq_malloc(n, d * sizeof(float), &Qall);
  if (!err) err = subq_malloc(nsel, d * sizeof(float), &Q);
  if (!err) err = subq_malloc(nsel, n * sizeof(float), &S);
  if (!err) err = subq_malloc(nsel, n * sizeof(float), &Sh);
  if (!err) err = subq_malloc(nsel, d * sizeof(float), &Oh);
  if (!err) err = SUBQ_ALLOC(pos, nsel);
  if (!err) err = subq_kv_load_f32(kv, 'k', lay, h, 0, n, K);
  if (!err) err = subq_kv_load_f32(kv, 'v', lay, h, 0, n, V);
  for (size_t r = 0; r < nsel; r++) pos[r] = (r + 1) * n / nsel - 1;
  const float scale = 1.0f / sqrtf((float)d);
  /* The exact reference: causal softmax attention of the library (subq_attn, one rank),
   * once per query head, rows pos[r] kept in Oex (nqh x nsel x d). */
  subq_attn_t *att = NULL;
  if (!err) err = subq_malloc((size_t)nqh * nsel, d * sizeof(float), &Oex);
  if (!err) err = subq_malloc(n, d * sizeof(float), &Oall);
  if (!err) err = subq_attn_create(MPI_COMM_SELF, SUBQ_ATTN_SOFTMAX, (int)d, (int)d, &att);
  if (!err) err = subq_attn_set_device(att, c->device);
  if (!err) err = subq_attn_setup(att);
  for (int g = 0; !err && g < nqh; g++) {
    err = subq_kv_load_f32(kv, 'q', lay, qh[g], 0, n, Qall);
    if (!err) err = subq_attn_apply_f32(att, n, Qall, K, V, Oall);
    for (size_t r = 0; !err && r < nsel; r++)
      memcpy(Oex + ((size_t)g * nsel + r) * d, Oall + pos[r] * d, d * sizeof(float));
  }
  subq_attn_destroy(&att);
  for (int m = 0; !err && m < NMETH; m++) {
    if (!use[m]) continue;
    double *R = res + m * NM, kb, vb;
    err = make_(c, m, SUBQ_QUANT_KEYS, (int)d, n, K, &kq);
    if (!err) err = make_(c, m, SUBQ_QUANT_VALUES, (int)d, n, V, &vq);
    if (!err) err = roundtrip_(kq, n, (int)d, K, &Kt, Kh, &R[M_KMSE], &kb);
    if (!err) err = roundtrip_(vq, n, (int)d, V, &Vt, Vh, &R[M_VMSE], &vb);
    if (!err) {
      R[M_KBITS] = kb / (double)(n * d);
      R[M_VBITS] = vb / (double)(n * d);
      R[M_BITS] = (kb + vb) / (double)(2 * n * d);
    }
    double cnt = 0;
    for (int g = 0; !err && g < nqh; g++) {
      err = subq_kv_load_f32(kv, 'q', lay, qh[g], 0, n, Qall);
      for (size_t r = 0; !err && r < nsel; r++) memcpy(Q + r * d, Qall + pos[r] * d, d * sizeof(float));
      if (!err) err = subq_quant_scores(kq, Kt, nsel, Q, Sh); /* from the codes */
      if (err) break;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nsel, (int)n, (int)d, 1.0f, Q,
                  (int)d, K, (int)d, 0.0f, S, (int)n);
      for (size_t r = 0; r < nsel; r++) {
        double e = 0, s = 0;
        for (size_t j = 0; j <= pos[r]; j++) {
          double a = S[r * n + j], b = Sh[r * n + j];
          e += (a - b) * (a - b);
          s += a * a;
        }
        R[M_SCORE] += s > 0 ? sqrt(e / s) : 0;
      }
      /* Top-8 of the attention distribution = top-8 of the scores (softmax is monotone). */
      for (size_t r = 0; r < nsel; r++) {
        size_t ta[8], tb[8];
        int ka = top8_(S + r * n, pos[r] + 1, ta);
        top8_(Sh + r * n, pos[r] + 1, tb);
        R[M_TOP1] += ta[0] == tb[0];
        int hit = 0;
        for (int x = 0; x < ka; x++)
          for (int y = 0; y < ka; y++) hit += ta[x] == tb[y];
        R[M_TOP8] += (double)hit / ka;
      }
      softmax_rows_(Sh, nsel, n, pos, scale);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nsel, (int)d, (int)n, 1.0f, Sh,
                  (int)n, Vh, (int)d, 0.0f, Oh, (int)d);
      O = Oex + (size_t)g * nsel * d;
      for (size_t r = 0; r < nsel; r++) {
        double e = 0, s = 0;
        for (size_t c2 = 0; c2 < d; c2++) {
          e += (double)(O[r * d + c2] - Oh[r * d + c2]) * (O[r * d + c2] - Oh[r * d + c2]);
          s += (double)O[r * d + c2] * O[r * d + c2];
        }
        R[M_OUT] += s > 0 ? sqrt(e / s) : 0;
        cnt++;
      }
    }
    if (!err && cnt > 0)
      for (int k = M_SCORE; k <= M_TOP8; k++) R[k] /= cnt;
    subq_qtensor_destroy(&Kt);
    subq_qtensor_destroy(&Vt);
    subq_quant_destroy(&kq);
    subq_quant_destroy(&vq);
  }
  subq_free(&K), subq_free(&V), subq_free(&Kh), subq_free(&Vh), subq_free(&Q);
  subq_free(&Qall), subq_free(&S), subq_free(&Sh), subq_free(&Oh), subq_free(&Oex);
  subq_free(&Oall);
  subq_free(&pos);
  if (err) {
    /* Name the layer and head (NaN/Inf in the cache, etc.). */
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", subq_error_message());
    return SUBQ_FAIL(err, "layer %d, KV head %d: %s", lay, h, msg);
  }
  return SUBQ_OK;
}

/* Relative MSE of each method's key quantizer on ng unit Gaussian vectors of dim d. */
static int gauss_(const cfg_t *c, int d, size_t ng, const int *use, double *mse) {
  float *X = NULL, *Xh = NULL;
  SUBQ_CALL(subq_malloc(ng, (size_t)d * sizeof(float), &X));
  int err = subq_malloc(ng, (size_t)d * sizeof(float), &Xh);
  for (size_t i = 0; !err && i < ng; i++) {
    double s = 0;
    for (int j = 0; j < d; j++) {
      float v = subq_rng_gaussf(c->seed, 0x6761757373ull, i * (size_t)d + (size_t)j);
      X[i * d + j] = v;
      s += (double)v * v;
    }
    for (int j = 0; j < d; j++) X[i * d + j] = (float)(X[i * d + j] / sqrt(s));
  }
  cfg_t c0 = *c;
  c0.residual = 0;
  for (int m = 0; !err && m < NMETH; m++) {
    if (!use[m]) continue;
    subq_quant_t *q = NULL;
    subq_qtensor_t *t = NULL;
    double bits;
    err = make_(&c0, m, SUBQ_QUANT_KEYS, d, ng, X, &q);
    if (!err) err = roundtrip_(q, ng, d, X, &t, Xh, &mse[m], &bits);
    subq_qtensor_destroy(&t);
    subq_quant_destroy(&q);
  }
  subq_free(&X);
  subq_free(&Xh);
  if (err) return subq_error_trace(err, __FILE__, __LINE__, __func__);
  return SUBQ_OK;
}

static int options_(const subq_job_ctx_t *ctx, cfg_t *c, int *use) {
  const subq_opts_t *o = ctx->opts;
  long v;
  long lb[8];
  SUBQ_CALL(subq_opts_list(o, "bits", lb, 8, &c->nbits));
  for (int i = 0; i < c->nbits; i++) c->bits[i] = (int)lb[i];
  SUBQ_CALL(subq_opts_int(o, "levels", &v));
  c->levels = (int)v;
  SUBQ_CHECK(c->nbits == c->levels, SUBQ_ERR_ARG,
             "--bits needs one width per level: --levels=%d, %d widths given", c->levels, c->nbits);
  const char *s;
  SUBQ_CALL(subq_opts_string(o, "codebook", &s));
  c->codebook = strcmp(s, "online") == 0 ? SUBQ_CODEBOOK_ONLINE : SUBQ_CODEBOOK_OFFLINE;
  SUBQ_CALL(subq_opts_string(o, "precondition", &s));
  c->precond = strcmp(s, "dense") == 0  ? SUBQ_PRECOND_DENSE
               : strcmp(s, "none") == 0 ? SUBQ_PRECOND_NONE
                                        : SUBQ_PRECOND_HADAMARD;
  SUBQ_CALL(subq_opts_int(o, "residual", &c->residual));
  SUBQ_CALL(subq_opts_int(o, "kivi-bits", &v));
  c->kivi_bits = (int)v;
  SUBQ_CALL(subq_opts_int(o, "turbo-bits", &v));
  c->turbo_bits = (int)v;
  SUBQ_CALL(subq_opts_int(o, "qjl-m", &v));
  c->qjl_m = (int)v;
  c->seed = ctx->seed;
  c->device = ctx->device;
  SUBQ_CALL(subq_opts_string(o, "methods", &s));
  char buf[256];
  snprintf(buf, sizeof buf, "%s", s);
  memset(use, 0, NMETH * sizeof(int));
  int nuse = 0;
  for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    int found = 0;
    nuse++;
    for (int m = 0; m < NMETH; m++)
      if (strcmp(tok, methods_[m]) == 0) use[m] = found = 1;
    SUBQ_CHECK(found, SUBQ_ERR_ARG,
               "--methods: unknown method '%s' (polarquant, polarquant_nopre, kivi, qjl, turbo, "
               "q4_0, fp16)", tok);
  }
  SUBQ_CHECK(nuse > 0, SUBQ_ERR_ARG,
             "--methods is empty: give one or more of polarquant, polarquant_nopre, kivi, qjl, "
             "turbo, q4_0, fp16");
  return SUBQ_OK;
}

/* Open the dump and resolve layers/heads on this rank. */
static int select_(const subq_job_ctx_t *ctx, subq_kv_t **kv, int *lay, int *nl, int *hd,
                   int *nh) {
  const char *dir;
  SUBQ_CHECK(subq_opts_has(ctx->opts, "kv"), SUBQ_ERR_ARG,
             "option --kv=DIR is required (a KV dump directory, e.g. data/kv/smollm2-135m-gpl3)");
  SUBQ_CALL(subq_opts_string(ctx->opts, "kv", &dir));
  SUBQ_CALL(subq_kv_open(dir, ctx->rank == 0, kv));
  const subq_kv_meta_t *m = subq_kv_meta(*kv);
  long v[64];
  int n = 0;
  if (subq_opts_has(ctx->opts, "layers")) SUBQ_CALL(subq_opts_list(ctx->opts, "layers", v, 64, &n));
  *nl = 0;
  for (int i = 0; i < (n ? n : m->n_layers); i++) {
    int l = n ? (int)v[i] : m->layers[i], found = 0;
    for (int j = 0; j < m->n_layers; j++) found |= m->layers[j] == l;
    SUBQ_CHECK(found, SUBQ_ERR_ARG, "--layers: layer %d is not in KV dump '%s'", l, dir);
    for (int j = 0; j < *nl; j++)
      SUBQ_CHECK(lay[j] != l, SUBQ_ERR_ARG, "--layers: duplicate layer %d", l);
    lay[(*nl)++] = l;
  }
  n = 0;
  if (subq_opts_has(ctx->opts, "kv-heads")) SUBQ_CALL(subq_opts_list(ctx->opts, "kv-heads", v, 64, &n));
  *nh = 0;
  for (int i = 0; i < (n ? n : m->n_kv_heads); i++) {
    int h = n ? (int)v[i] : i;
    SUBQ_CHECK(h >= 0 && h < m->n_kv_heads, SUBQ_ERR_ARG,
               "--kv-heads: head %d out of range (KV heads 0..%d)", h, m->n_kv_heads - 1);
    hd[(*nh)++] = h;
  }
  SUBQ_CHECK(m->tokens >= 1, SUBQ_ERR_ARG, "KV dump '%s' has no tokens", dir);
  return SUBQ_OK;
}

/* Summary fields of one method, from per-unit results averaged over units [u in sel]. */
static int emit_(subq_json_t *j, FILE *csv, const char *method, const char *layer,
                 const double *avg, double gmse) {
  SUBQ_CALL(subq_json_num(j, "bits_per_coord", avg[M_BITS]));
  SUBQ_CALL(subq_json_num(j, "compression_vs_fp16", 16.0 / avg[M_BITS]));
  for (int k = 1; k < NM; k++) SUBQ_CALL(subq_json_num(j, mnames_[k], avg[k]));
  if (csv) {
    fprintf(csv, "%s,%s,%.6f,%.4f", method, layer, avg[M_BITS], 16.0 / avg[M_BITS]);
    for (int k = 1; k < NM; k++) fprintf(csv, ",%.6g", avg[k]);
    fprintf(csv, ",%.6g\n", gmse);
  }
  return SUBQ_OK;
}

static int report_(subq_job_ctx_t *ctx, const int *use, const int *lay, int nl, int nh,
                   const double *res, const double *gmse, size_t nsel, const char *kvdir) {
  subq_json_t *j = ctx->summary;
  char path[4096];
  FILE *csv = fopen(subq_job_path(ctx, "polarquant.csv", path, sizeof path), "w");
  SUBQ_CHECK(csv, SUBQ_ERR_IO, "cannot write '%s'", path);
  fprintf(csv, "method,layer,bits_per_coord,compression_vs_fp16");
  for (int k = 1; k < NM; k++) fprintf(csv, ",%s", mnames_[k]);
  fprintf(csv, ",gauss_unit_mse\n");
  double dl[64];
  for (int i = 0; i < nl; i++) dl[i] = lay[i];
  SUBQ_CALL(subq_json_str(j, "kv", kvdir));
  SUBQ_CALL(subq_json_num_array(j, "layers", dl, (size_t)nl));
  SUBQ_CALL(subq_json_int(j, "queries_per_head", (long long)nsel));
  SUBQ_CALL(subq_json_begin(j, "turbo_published_unit_mse"));
  SUBQ_CALL(subq_json_num(j, "1", 0.36));
  SUBQ_CALL(subq_json_num(j, "2", 0.117));
  SUBQ_CALL(subq_json_num(j, "3", 0.03));
  SUBQ_CALL(subq_json_num(j, "4", 0.009));
  SUBQ_CALL(subq_json_end(j));
  SUBQ_CALL(subq_json_begin(j, "methods"));
  subq_job_table(ctx, "method", "%6s %7s %9s %9s %9s %9s %6s %6s %9s", "bits", "x fp16",
                 "K relMSE", "V relMSE", "score err", "out err", "top1", "top8", "gauss MSE");
  for (int m = 0; m < NMETH; m++) {
    if (!use[m]) continue;
    double avg[NM] = {0}, pl[NM];
    for (int u = 0; u < nl * nh; u++)
      for (int k = 0; k < NM; k++) avg[k] += res[((size_t)u * NMETH + m) * NM + k] / (nl * nh);
    SUBQ_CALL(subq_json_begin(j, methods_[m]));
    SUBQ_CALL(emit_(j, csv, methods_[m], "all", avg, gmse[m]));
    SUBQ_CALL(subq_json_num(j, "gauss_unit_mse", gmse[m]));
    SUBQ_CALL(subq_json_begin_array(j, "per_layer"));
    for (int l = 0; l < nl; l++) {
      char key[32];
      snprintf(key, sizeof key, "%d", lay[l]);
      memset(pl, 0, sizeof pl);
      for (int h = 0; h < nh; h++)
        for (int k = 0; k < NM; k++) pl[k] += res[((size_t)(l * nh + h) * NMETH + m) * NM + k] / nh;
      SUBQ_CALL(subq_json_begin(j, NULL));
      SUBQ_CALL(subq_json_int(j, "layer", lay[l]));
      SUBQ_CALL(emit_(j, csv, methods_[m], key, pl, NAN));
      SUBQ_CALL(subq_json_end(j));
    }
    SUBQ_CALL(subq_json_end_array(j));
    SUBQ_CALL(subq_json_end(j));
    subq_job_table(ctx, methods_[m], "%6.3f %7.2f %9.2e %9.2e %9.2e %9.2e %6.3f %6.3f %9.2e",
                   avg[M_BITS], 16.0 / avg[M_BITS], avg[M_KMSE], avg[M_VMSE], avg[M_SCORE],
                   avg[M_OUT], avg[M_TOP1], avg[M_TOP8], gmse[m]);
  }
  SUBQ_CALL(subq_json_end(j));
  subq_job_table(ctx, "anchor", "TurboQuant published unit-vector MSE 0.117 (2 bits), 0.03 (3 bits)");
  SUBQ_CHECK(fclose(csv) == 0, SUBQ_ERR_IO, "cannot write '%s'", path);
  return SUBQ_OK;
}

static int run_(subq_job_ctx_t *ctx) {
  cfg_t c;
  int use[NMETH], lay[64], hd[64], nl = 0, nh = 0;
  subq_kv_t *kv = NULL;
  int err = options_(ctx, &c, use);
  if (!err) err = select_(ctx, &kv, lay, &nl, hd, &nh);
  err = subq_error_agree(ctx->comm, err);
  if (err) {
    subq_kv_close(&kv);
    return subq_error_trace(err, __FILE__, __LINE__, __func__);
  }
  const subq_kv_meta_t *mt = subq_kv_meta(kv);
  long nqopt = 0, ng = 0;
  SUBQ_CALL(subq_opts_int(ctx->opts, "queries", &nqopt));
  SUBQ_CALL(subq_opts_int(ctx->opts, "gauss", &ng));
  size_t nsel = nqopt > 0 && (size_t)nqopt < mt->tokens ? (size_t)nqopt : mt->tokens;
  const size_t nres = (size_t)nl * nh * NMETH * NM;
  double *res = NULL, gmse[NMETH];
  for (int m = 0; m < NMETH; m++) gmse[m] = NAN; /* null in summary.json when --gauss=0 */
  err = SUBQ_ZALLOC(res, nres);
  double t0 = subq_wtime();
  for (int u = 0; !err && u < nl * nh; u++) {
    if (u % ctx->size != ctx->rank) continue;
    err = unit_(&c, kv, lay[u / nh], hd[u % nh], use, nsel, res + (size_t)u * NMETH * NM);
    subq_progress("polarquant units", u + 1, nl * nh, t0);
  }
  if (!err && ng > 0 && ctx->rank == 0) err = gauss_(&c, mt->head_dim, (size_t)ng, use, gmse);
  err = subq_error_agree(ctx->comm, err);
  if (!err) err = subq_job_phase(ctx, "quantize_and_attend", subq_wtime() - t0);
  if (!err && MPI_Allreduce(MPI_IN_PLACE, res, (int)nres, MPI_DOUBLE, MPI_SUM, ctx->comm))
    err = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Allreduce of the per-unit results failed");
  const char *dir = "";
  if (!err) err = subq_opts_string(ctx->opts, "kv", &dir);
  if (!err && ctx->rank == 0) err = report_(ctx, use, lay, nl, nh, res, gmse, nsel, dir);
  subq_free(&res);
  subq_kv_close(&kv);
  if (err) return subq_error_trace(err, __FILE__, __LINE__, __func__);
  return SUBQ_OK;
}

const subq_job_t subq_job_polarquant = {
    "polarquant",
    "PolarQuant KV-cache compression vs KIVI, QJL, TurboQuant, q4_0, fp16 on a KV dump.", opts_,
    run_, 0};
