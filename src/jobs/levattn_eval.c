/* subq levattn: the universal set of one key set streamed through a reader, and the
 * metrics of LevAttention (Kannan et al. 2024, arXiv 2410.05462) on it: heavy-entry
 * recall (the theorem, non-causal; causal too), causal top-8 recall and attention mass on
 * U, relative error of the attention restricted to U, times.  Used for every layer and
 * head of a KV dump and for a data spec (src/jobs/levattn.c); declarations and contracts
 * in src/jobs/levattn_jobs.h. */
#include <cblas.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/levattn_jobs.h"

enum { MAXL = SUBQ_LEVATTN_MAXL, TOPQ = 8 };

int subq_levattn_addf(subq_levattn_text_t *t, const char *fmt, ...) {
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(t->buf ? t->buf + t->len : NULL, t->buf ? t->cap - t->len : 0, fmt, ap);
    va_end(ap);
    if (w < 0) return SUBQ_FAIL(SUBQ_ERR_INTERNAL, "vsnprintf failed");
    if (t->buf && t->len + (size_t)w < t->cap) {
      t->len += (size_t)w;
      return SUBQ_OK;
    }
    size_t cap = (t->cap + (size_t)w + 1) * 2;
    char *b = realloc(t->buf, cap);
    SUBQ_CHECK(b, SUBQ_ERR_MEM, "cannot grow the CSV buffer to %zu bytes", cap);
    t->buf = b;
    t->cap = cap;
  }
}

int subq_levattn_select_stream(MPI_Comm comm, const subq_levatt_opts_t *o, subq_levattn_read_t read,
                               void *arg, int head, size_t d, size_t g0, size_t g1, size_t chunk,
                               double *buf, int64_t **U, size_t *nU, subq_levatt_info_t *info) {
  subq_levatt_t *L = NULL;
  *U = NULL;
  SUBQ_CALL(subq_levatt_create(comm, d, o, &L));
  int err = SUBQ_OK;
  for (int pass = 2 - subq_levatt_key_reads(L); pass < 2 && !err; pass++) {
    if (pass == 1) err = subq_levatt_factor(L);
    for (size_t g = g0; g < g1 && !err; g += chunk) {
      size_t r = g1 - g < chunk ? g1 - g : chunk;
      err = read(arg, 'k', head, g, g + r, buf);
      if (!err) err = pass == 0 ? subq_levatt_gram_add(L, r, buf) : subq_levatt_score(L, r, buf, g, NULL);
    }
    err = subq_error_agree(comm, err);
  }
  if (!err) err = subq_levatt_select(L, nU);
  if (!err) err = SUBQ_ALLOC(*U, *nU + 1);
  if (!err) err = subq_levatt_universal_set(L, *U);
  if (!err) err = subq_levatt_info(L, info);
  subq_levatt_destroy(&L);
  if (err) subq_free(U);
  return err;
}

int subq_levattn_summary_fields(subq_json_t *j, size_t n, size_t d, const char *fn, double eps,
                                size_t k, size_t nU, double bound, unsigned long long heavy,
                                double recall, double rel_err, size_t ws, double tsel,
                                double tres, double tex) {
  SUBQ_CALL(subq_json_int(j, "n", (long long)n));
  SUBQ_CALL(subq_json_int(j, "d", (long long)d));
  SUBQ_CALL(subq_json_str(j, "p", fn));
  SUBQ_CALL(subq_json_num(j, eps > 0 ? "eps" : "k", eps > 0 ? eps : (double)k));
  SUBQ_CALL(subq_json_int(j, "universal_set_size", (long long)nU));
  SUBQ_CALL(subq_json_num(j, "bound", bound));
  SUBQ_CALL(subq_json_int(j, "heavy_entries", (long long)heavy));
  SUBQ_CALL(subq_json_num(j, "heavy_recall", recall));
  SUBQ_CALL(subq_json_num(j, "attn_rel_error", rel_err));
  SUBQ_CALL(subq_json_int(j, "workspace_bytes", (long long)ws));
  SUBQ_CALL(subq_json_num(j, "time_select_s", tsel));
  SUBQ_CALL(subq_json_num(j, "time_restricted_s", tres));
  SUBQ_CALL(subq_json_num(j, "time_exact_s", tex));
  return SUBQ_OK;
}

/* ---- metrics of one query head ------------------------------------------------------- */
typedef struct {
  unsigned long long heavy[2], missed[2]; /* [0] non-causal, [1] causal */
  double top_hit, top_all, mass_u, mass_all;
} counts_t;

/* Weights of one query row into w (n): |s|^p or exp(scale s - max) over j < jmax. */
static void weights_(int fn, double scale, const double *s, size_t jmax, double *w, double *sum) {
  double mx = -INFINITY, t = 0;
  if (fn == 0)
    for (size_t j = 0; j < jmax; j++) mx = fmax(mx, scale * s[j]);
  for (size_t j = 0; j < jmax; j++) {
    w[j] = fn == 0 ? exp(scale * s[j] - mx) : pow(fabs(s[j]), fn);
    t += w[j];
  }
  *sum = t;
}

static void count_row_(int fn, double scale, double heps, const double *s, size_t n, size_t gi,
                       const char *inU, double *w, counts_t *c) {
  double sum;
  weights_(fn, scale, s, n, w, &sum);
  for (size_t j = 0; sum > 0 && j < n; j++)
    if (w[j] >= heps * sum) {
      c->heavy[0]++;
      c->missed[0] += !inU[j];
    }
  size_t jm = gi + 1 < n ? gi + 1 : n;
  weights_(fn, scale, s, jm, w, &sum);
  if (!(sum > 0)) return;
  size_t best[TOPQ];
  int nb = 0;
  for (size_t j = 0; j < jm; j++) {
    if (w[j] >= heps * sum) {
      c->heavy[1]++;
      c->missed[1] += !inU[j];
    }
    if (inU[j]) c->mass_u += w[j] / sum;
    /* insertion into the TOPQ largest */
    if (nb < TOPQ || w[j] > w[best[nb - 1]]) {
      int q = nb < TOPQ ? nb++ : TOPQ - 1;
      while (q > 0 && w[best[q - 1]] < w[j]) {
        best[q] = best[q - 1];
        q--;
      }
      best[q] = j;
    }
  }
  c->mass_all += 1;
  for (int q = 0; q < nb; q++) c->top_hit += inU[best[q]];
  c->top_all += nb;
}

static double ratio_(unsigned long long a, unsigned long long b) { return b ? (double)a / (double)b : 1.0; }

/* Members of the sorted B not in the sorted A. */
static size_t outside_(const int64_t *A, size_t na, const int64_t *B, size_t nb) {
  size_t out = 0;
  for (size_t t = 0, s = 0; t < nb; t++) {
    while (s < na && A[s] < B[t]) s++;
    out += !(s < na && A[s] == B[t]);
  }
  return out;
}

typedef struct {
  int64_t *U[MAXL][MAXL];
  size_t nU[MAXL][MAXL], nU2[MAXL][MAXL], out2[MAXL][MAXL];
  subq_levatt_info_t info[MAXL][MAXL];
  double tsel[MAXL][MAXL];
} sets_t;

/* Every universal set of the plan, streamed through S->read; with passes = 1 also the
 * two-pass U, for its size and the members outside the online U (must be none). */
static int select_all_(subq_job_ctx_t *ctx, const subq_levattn_set_t *S, const subq_levattn_plan_t *P,
                       double *buf, sets_t *Z, subq_levattn_acc_t *A) {
  int err = SUBQ_OK;
  for (int f = 0; f < P->nfn && !err; f++)
    for (int s = 0; s < P->nsel && !err; s++) {
      subq_levatt_opts_t o;
      subq_levatt_opts_default(&o);
      o.p = P->fn[f] ? P->fn[f] : 2;
      o.eps = P->eps[s];
      o.topk = P->k[s] > S->n ? S->n : P->k[s];
      o.passes = P->passes;
      o.ridge = P->ridge;
      double t = subq_wtime();
      err = subq_levattn_select_stream(ctx->comm, &o, S->read, S->arg, S->kv_head, S->d, S->t0,
                                       S->t0 + S->nl, P->chunk, buf, &Z->U[f][s], &Z->nU[f][s],
                                       &Z->info[f][s]);
      if (!err) err = subq_time_max(ctx->comm, subq_wtime() - t, &Z->tsel[f][s]);
      Z->nU2[f][s] = Z->nU[f][s];
      if (!err && P->passes == 1) {
        int64_t *U2 = NULL;
        subq_levatt_info_t i2;
        o.passes = 2;
        err = subq_levattn_select_stream(ctx->comm, &o, S->read, S->arg, S->kv_head, S->d, S->t0,
                                         S->t0 + S->nl, P->chunk, buf, &U2, &Z->nU2[f][s], &i2);
        if (!err)
          Z->out2[f][s] = outside_(Z->U[f][s], Z->nU[f][s], U2, Z->nU2[f][s]);
        subq_free(&U2);
      }
      if (!err && !A->first_U && ctx->rank == 0) {
        err = SUBQ_ALLOC(A->first_U, Z->nU[f][s] + 1);
        if (!err) memcpy(A->first_U, Z->U[f][s], Z->nU[f][s] * sizeof(int64_t));
        A->first_nU = Z->nU[f][s];
      }
    }
  return err;
}

int subq_levattn_eval(subq_job_ctx_t *ctx, const subq_levattn_set_t *S, const double *K,
                      const double *V, const subq_levattn_plan_t *P, subq_levattn_acc_t *A) {
  const size_t n = S->n, d = S->d, t0 = S->t0, nl = S->nl, q0 = S->q0, ql = S->ql;
  double *Q = NULL, *Sc = NULL, *w = NULL, *buf = NULL, *Oex = NULL, *Ou = NULL;
  sets_t *Z = NULL;
  char *inU = NULL;
  int err = SUBQ_ZALLOC(Z, 1);
  if (!err) err = SUBQ_ALLOC(Q, ql * d + 1);
  if (!err) err = SUBQ_ALLOC(Sc, ql * n + 1);
  if (!err) err = SUBQ_ALLOC(w, n);
  if (!err) err = SUBQ_ALLOC(buf, P->chunk * d);
  if (!err) err = SUBQ_ALLOC(Oex, 2 * ql * d + 1);
  if (!err) err = SUBQ_ALLOC(Ou, ql * d + 1);
  if (!err) err = SUBQ_ALLOC(inU, n);
  err = subq_error_agree(ctx->comm, err);
  if (!err) err = select_all_(ctx, S, P, buf, Z, A);
  for (int h = 0; h < S->nheads && !err; h++) {
    const int qh = S->heads[h];
    err = subq_error_agree(ctx->comm, S->read(S->arg, 'q', qh, q0, q0 + ql, Q));
    if (err) break;
    if (ql)
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)ql, (int)n, (int)d, 1.0, Q,
                  (int)d, K, (int)d, 0.0, Sc, (int)n);
    for (int f = 0; f < P->nfn && !err; f++) {
      subq_levatt_attn_t a = {P->fn[f] ? SUBQ_LEVATT_POLY : SUBQ_LEVATT_SOFTMAX, P->fn[f], 0, 0,
                              ctx->device};
      double tex = subq_wtime(), tx;
      for (int c = 0; c < 2 && !err; c++) {
        a.causal = c;
        err = subq_levatt_attend(&a, d, d, ql, Q, q0, n, K, V, NULL, Oex + c * ql * d, NULL);
      }
      err = subq_error_agree(ctx->comm, err);
      if (!err) err = subq_time_max(ctx->comm, subq_wtime() - tex, &tx);
      for (int s = 0; s < P->nsel && !err; s++) {
        memset(inU, 0, n);
        for (size_t t = 0; t < Z->nU[f][s]; t++) inU[Z->U[f][s][t]] = 1;
        double heps = P->eps[s] > 0 ? P->eps[s] : P->heavy_eps, scale = 1 / sqrt((double)d);
        counts_t cnt;
        memset(&cnt, 0, sizeof cnt);
        for (size_t i = 0; i < ql; i++)
          count_row_(P->fn[f], scale, heps, Sc + i * n, n, q0 + i, inU, w, &cnt);
        double e2[4] = {0, 0, 0, 0}, tr = subq_wtime(), trx;
        for (int c = 0; c < 2 && !err; c++) {
          a.causal = c;
          err = subq_levatt_attend_sharded(ctx->comm, &a, d, d, ql, Q, q0, nl, K + t0 * d,
                                           V + t0 * d, t0, Z->nU[f][s], Z->U[f][s], Ou, NULL);
          for (size_t i = 0; !err && i < ql * d; i++) {
            double x = Oex[c * ql * d + i];
            e2[2 * c] += (Ou[i] - x) * (Ou[i] - x);
            e2[2 * c + 1] += x * x;
          }
        }
        if (!err) err = subq_time_max(ctx->comm, subq_wtime() - tr, &trx);
        if (err) break;
        unsigned long long ci[4] = {cnt.heavy[0], cnt.missed[0], cnt.heavy[1], cnt.missed[1]}, cg[4];
        double cd[8] = {cnt.top_hit, cnt.top_all, cnt.mass_u, cnt.mass_all, e2[0], e2[1], e2[2], e2[3]}, dg[8];
        SUBQ_MPI(MPI_Allreduce(ci, cg, 4, MPI_UNSIGNED_LONG_LONG, MPI_SUM, ctx->comm));
        SUBQ_MPI(MPI_Allreduce(cd, dg, 8, MPI_DOUBLE, MPI_SUM, ctx->comm));
        if (ctx->rank != 0) continue;
        const subq_levatt_info_t *si = &Z->info[f][s];
        double rec = ratio_(cg[0] - cg[1], cg[0]), recc = ratio_(cg[2] - cg[3], cg[2]);
        if (P->fn[f] && P->eps[s] > 0) {
          A->min_recall_poly = fmin(A->min_recall_poly, rec);
          A->heavy_poly += cg[0];
          if (P->passes == 1) { /* online scores: the causal guarantee */
            A->min_recall_causal = fmin(A->min_recall_causal, recc);
            A->heavy_causal += cg[2];
          }
        }
        char fn[16], layer[16], kvh[16];
        snprintf(fn, sizeof fn, P->fn[f] ? "p%d" : "softmax", P->fn[f]);
        snprintf(layer, sizeof layer, S->layer >= 0 ? "%d" : "", S->layer);
        snprintf(kvh, sizeof kvh, S->kv_head >= 0 ? "%d" : "", S->kv_head);
        err = subq_levattn_addf(
            &A->csv,
            "%s,%s,%s,%d,%zu,%zu,%s,%s,%g,%zu,%zu,%zu,%g,%g,%llu,%.6f,%llu,%.6f,%.6f,%.6f,"
            "%.6e,%.6e,%zu,%.6f,%.6f,%.6f,%d,%.3e,%.6f,%.6f,%zu,%zu\n",
            S->source, layer, kvh, qh, n, d, fn, P->eps[s] > 0 ? "eps" : "topk", P->eps[s],
            P->k[s], si->rank, Z->nU[f][s], si->bound, heps, cg[0], rec, cg[2], recc,
            dg[1] > 0 ? dg[0] / dg[1] : 1, dg[3] > 0 ? dg[2] / dg[3] : 1,
            sqrt(dg[4] / fmax(dg[5], 1e-300)), sqrt(dg[6] / fmax(dg[7], 1e-300)),
            si->workspace_bytes, Z->tsel[f][s], trx, tx, si->passes, si->ridge_min,
            si->sum_scores, si->sum_bound, Z->nU2[f][s], Z->out2[f][s]);
        if (!err && A->nrec == 0) /* the summary fields, for the first record */
          err = subq_levattn_summary_fields(ctx->summary, n, d, fn, P->eps[s], P->k[s],
                                            Z->nU[f][s], si->bound, cg[0], rec,
                                            sqrt(dg[4] / fmax(dg[5], 1e-300)),
                                            si->workspace_bytes, Z->tsel[f][s], trx, tx);
        if (!err && A->nrec == 0 && P->passes == 1)
          err = subq_json_int(ctx->summary, "universal_set_size_two_pass", (long long)Z->nU2[f][s]);
        if (!err && A->nrec == 0 && P->passes == 1)
          err = subq_json_int(ctx->summary, "two_pass_outside_U", (long long)Z->out2[f][s]);
        A->nrec++;
      }
      err = subq_error_agree(ctx->comm, err);
    }
  }
  if (Z)
    for (int f = 0; f < MAXL; f++)
      for (int s = 0; s < MAXL; s++) subq_free(&Z->U[f][s]);
  subq_free(&Z); subq_free(&Q); subq_free(&Sc); subq_free(&w);
  subq_free(&buf); subq_free(&Oex); subq_free(&Ou); subq_free(&inU);
  return err;
}
