/* The committed KV dump (data/kv/smollm2-135m-gpl3) opens with sha256 verification, its
 * meta matches the model (SmolLM2-135M: 9 query heads, 3 KV heads, head_dim 64), every
 * layer/head loads, a plain causal softmax attention computed here from the loaded arrays
 * equals values computed outside the project, and sequence-sharded loads (each rank its
 * token block) concatenate to the whole-array load.  Run at np = 1 and 2. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "common/test_util.h"
#include "jobs/kvopts.h"

#define REL_CLOSE(a, b, rel)                                                         \
  do {                                                                               \
    double ra_ = (a), rb_ = (b);                                                     \
    check_count_++;                                                                  \
    if (!(fabs(ra_ - rb_) <= (rel) * fabs(rb_))) {                                   \
      check_failures_++;                                                             \
      fprintf(stderr, "[rank %d] FAIL %s:%d: %s = %.17g, expected %.17g (rel %g)\n",  \
              check_rank_(), __FILE__, __LINE__, #a, ra_, rb_, (double)(rel));       \
    }                                                                                \
  } while (0)

/* Expected attention outputs of layer 0, query head 0 (KV head 0), scale 1/sqrt(64),
 * out_i = sum_{j<=i} softmax_j(q_i . k_j / 8) v_j (causal) and sum over all j for the
 * non-causal row.  Source: computed outside the project by tools/kv/make_kv_dump.py
 * (attn_ref, numpy float64 from the stored float16 arrays) when the dump was made,
 * commit 618542a, written to meta.json "reference"; copied here by hand so that this
 * test does not read the numbers from the file it tests. */
static const struct {
  int row, causal, dim;
  double value;
} ref_[] = {
    {0, 1, 0, 0.0157318115234375},     {0, 1, 63, 0.0240936279296875},
    {1, 1, 0, 0.0185641372076996},     {1, 1, 1, -0.01814478353365222},
    {1, 1, 31, 0.0458189395373981},    {1, 1, 63, -0.0097736206671057},
    {100, 1, 0, 0.003408321244097741}, {100, 1, 1, 0.004901821116250647},
    {100, 1, 32, 0.003927105558026071}, {100, 1, 63, -0.006818577909050787},
    {2047, 1, 1, 0.004868332794318774}, {2047, 1, 2, -0.002084530757386979},
    {2047, 1, 32, 0.005399856828756515}, {2047, 1, 63, -0.00838021999422602},
    {0, 0, 1, 0.004896459309887736},    {0, 0, 2, -0.0027091317440290836},
    {0, 0, 32, 0.005301178493261559},   {0, 0, 63, -0.008889663662960895},
};

/* Plain softmax attention of query row i over keys [0, n): out (d). */
static void attn_row_(const double *q, const double *k, const double *v, size_t n, size_t d,
                      double scale, double *out) {
  double *s = malloc(n * sizeof *s), mx = -INFINITY, z = 0;
  for (size_t j = 0; j < n; j++) {
    double a = 0;
    for (size_t c = 0; c < d; c++) a += q[c] * k[j * d + c];
    s[j] = a * scale;
    if (s[j] > mx) mx = s[j];
  }
  for (size_t c = 0; c < d; c++) out[c] = 0;
  for (size_t j = 0; j < n; j++) {
    double p = exp(s[j] - mx);
    z += p;
    for (size_t c = 0; c < d; c++) out[c] += p * v[j * d + c];
  }
  for (size_t c = 0; c < d; c++) out[c] /= z;
  free(s);
}

static double sum_(const double *x, size_t n, double *sq) {
  double s = 0, s2 = 0;
  for (size_t i = 0; i < n; i++) s += x[i], s2 += x[i] * x[i];
  *sq = s2;
  return s;
}

int main(int argc, char **argv) {
  subq_init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  char dir[4096];
  subq_test_kv_dump_dir(dir, sizeof dir, ".");

  /* Open with hashes (every rank: the open itself is not collective). */
  subq_kv_t *kv = NULL;
  CHECK_OK(subq_kv_open(dir, 1, &kv));
  if (!kv) CHECK_FINISH();
  const subq_kv_meta_t *m = subq_kv_meta(kv);
  CHECK(strcmp(m->model, "SmolLM2-135M-Instruct") == 0);
  CHECK(m->n_layers == 4);
  CHECK(m->layers[0] == 0 && m->layers[1] == 10 && m->layers[2] == 20 && m->layers[3] == 29);
  CHECK(m->n_q_heads == 9 && m->n_kv_heads == 3 && m->head_dim == 64);
  CHECK(m->tokens == 2048);
  CHECK(m->rope_base == 100000.0);
  for (int h = 0; h < 9; h++) CHECK(m->gqa[h] == h / 3);

  const size_t n = m->tokens, d = (size_t)m->head_dim;
  double *q = malloc(n * d * sizeof *q), *k = malloc(n * d * sizeof *k),
         *v = malloc(n * d * sizeof *v), *loc = malloc(n * d * sizeof *loc);
  float *f = malloc(n * d * sizeof *f);

  /* Every layer and head loads (float64 and float32 agree exactly: float16 values). */
  const char *wh = "qkv";
  for (int li = 0; li < m->n_layers; li++)
    for (int w = 0; w < 3; w++) {
      int nh = w == 0 ? m->n_q_heads : m->n_kv_heads;
      for (int h = 0; h < nh; h++) {
        CHECK_OK(subq_kv_load(kv, wh[w], m->layers[li], h, 0, n, q));
        CHECK_OK(subq_kv_load_f32(kv, wh[w], m->layers[li], h, 0, n, f));
        size_t bad = 0;
        double s2;
        for (size_t i = 0; i < n * d; i++) bad += (double)f[i] != q[i];
        CHECK(bad == 0);
        CHECK(sum_(q, n * d, &s2) == sum_(q, n * d, &s2) && s2 > 0); /* finite, nonzero */
      }
    }

  /* Attention of layer 0, query head 0 with its KV head, against the outside values. */
  int kvh = m->gqa[0];
  CHECK_OK(subq_kv_load(kv, 'q', 0, 0, 0, n, q));
  CHECK_OK(subq_kv_load(kv, 'k', 0, kvh, 0, n, k));
  CHECK_OK(subq_kv_load(kv, 'v', 0, kvh, 0, n, v));
  double out[64], scale = 1.0 / sqrt((double)d);
  for (size_t r = 0; r < sizeof ref_ / sizeof ref_[0]; r++) {
    size_t i = (size_t)ref_[r].row;
    attn_row_(q + i * d, k, v, ref_[r].causal ? i + 1 : n, d, scale, out);
    REL_CLOSE(out[ref_[r].dim], ref_[r].value, 1e-12);
  }

  /* Sequence sharding: this rank's token block of every array; the sums and sums of
   * squares over ranks equal those of the whole-array load, and each block equals the
   * corresponding rows of the whole load. */
  size_t t0, t1;
  subq_kvopts_block(n, size, rank, &t0, &t1);
  size_t tot = 0, lo = t1 - t0;
  MPI_Allreduce(&lo, &tot, 1, MPI_UNSIGNED_LONG, MPI_SUM, MPI_COMM_WORLD);
  CHECK(tot == n);
  for (int li = 0; li < m->n_layers; li += 3)
    for (int w = 0; w < 3; w++) {
      int h = w == 0 ? 7 : 2;
      CHECK_OK(subq_kv_load(kv, wh[w], m->layers[li], h, 0, n, q));
      CHECK_OK(subq_kv_load(kv, wh[w], m->layers[li], h, t0, t1, loc));
      CHECK(memcmp(loc, q + t0 * d, lo * d * sizeof *loc) == 0);
      double part[2], all[2], full[2];
      part[0] = sum_(loc, lo * d, &part[1]);
      full[0] = sum_(q, n * d, &full[1]);
      MPI_Allreduce(part, all, 2, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
      CHECK_CLOSE(all[0], full[0], 1e-12);
      CHECK_CLOSE(all[1], full[1], 1e-12);
    }
  /* Empty range, float32 block. */
  CHECK_OK(subq_kv_load(kv, 'k', 10, 1, 5, 5, NULL));
  CHECK_OK(subq_kv_load_f32(kv, 'v', 29, 2, t0, t1, f));
  subq_kv_close(&kv);
  CHECK(kv == NULL);
  subq_kv_close(&kv);
  subq_kv_close(NULL);

  /* The job option helper: --kv, --layer, --head; GQA and token block resolved. */
  static const subq_opt_spec_t specs[] = {SUBQ_KV_OPTS, {NULL, 0, NULL, NULL, NULL, NULL, 0, 0}};
  char a0[4200];
  snprintf(a0, sizeof a0, "--kv=%s", dir);
  char *args[] = {a0, "--layer=20", "--head=5"};
  subq_opts_t *o = NULL;
  CHECK_OK(subq_opts_parse(specs, "test", 3, args, &o));
  subq_kv_sel_t sel;
  CHECK_OK(subq_kvopts_open(MPI_COMM_WORLD, o, &sel));
  CHECK(sel.layer == 20 && sel.q_head == 5 && sel.kv_head == 1 && sel.tokens == n);
  CHECK(sel.t0 == t0 && sel.t1 == t1);
  subq_kvopts_close(&sel);
  subq_opts_destroy(&o);
  CHECK_OK(subq_opts_parse(specs, "test", 1, args, &o));
  CHECK_OK(subq_kvopts_open(MPI_COMM_WORLD, o, &sel));
  CHECK(sel.layer == 0 && sel.q_head == 0 && sel.kv_head == 0); /* defaults */
  subq_kvopts_close(&sel);
  subq_kvopts_close(&sel);
  subq_opts_destroy(&o);

  free(q), free(k), free(v), free(loc), free(f);
  CHECK_FINISH();
}
