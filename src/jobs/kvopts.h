/* Common KV-dump options for attention jobs: --kv=DIR [--layer=L] [--head=H].
 *
 * A job appends SUBQ_KV_OPTS to its option table:
 *
 *   static const subq_opt_spec_t opts_[] = {
 *       SUBQ_KV_OPTS,
 *       {"bits", SUBQ_OPT_INT, "4", "bits", "...", NULL, 1, 8},
 *       {NULL, 0, NULL, NULL, NULL, NULL, 0, 0}};
 *
 * and in run() opens the dump on every rank of ctx->comm:
 *
 *   subq_kv_sel_t sel;
 *   SUBQ_CALL(subq_kvopts_open(ctx->comm, ctx->opts, &sel));
 *   ... subq_kv_load(sel.kv, 'q', sel.layer, sel.q_head, sel.t0, sel.t1, q) ...
 *   ... subq_kv_load(sel.kv, 'k', sel.layer, sel.kv_head, 0, sel.tokens, k) ...
 *   subq_kvopts_close(&sel);
 *
 * --layer defaults to the first dumped layer (meta.json "layers"[0]); --head is a query
 * head, its KV head is meta.json "gqa"[head]. */
#ifndef SUBQ_JOBS_KVOPTS_H
#define SUBQ_JOBS_KVOPTS_H

#include <mpi.h>
#include <stddef.h>

#include "subq.h"

#define SUBQ_KV_OPTS                                                                      \
  {"kv", SUBQ_OPT_STRING, NULL, "",                                                       \
   "KV dump directory (meta.json + q/k/v_L<l>.npy, e.g. data/kv/smollm2-135m-gpl3)", NULL, \
   0, 0},                                                                                 \
  {"layer", SUBQ_OPT_INT, NULL, "",                                                       \
   "model layer of the KV dump (one of meta.json layers; default: the first)", NULL, 0,   \
   1e6},                                                                                  \
  {"head", SUBQ_OPT_INT, "0", "", "query head (its KV head is meta.json gqa[head])", NULL, \
   0, 1e6}

/* The selected dump, layer and head, and this rank's token block. */
typedef struct {
  subq_kv_t *kv;
  const subq_kv_meta_t *meta; /* owned by kv */
  int layer;                  /* model layer index (--layer) */
  int q_head, kv_head;        /* --head and gqa[--head] */
  size_t tokens;              /* tokens in the dump */
  size_t t0, t1;              /* this rank's balanced token block [t0, t1) */
} subq_kv_sel_t;

/* Open the dump named by --kv on every rank of comm and resolve --layer/--head.  Rank 0
 * verifies the sha256 of every array; every rank parses meta.json and checks every .npy
 * header (a shared file system is assumed).  Rank r of p gets the balanced token block
 * t0 = r*n/p rounded as floor with the first n mod p ranks one longer.
 * Collective over comm: errors are agreed with subq_error_agree, so every rank returns
 * the same code and the failing rank's message.  Errors: SUBQ_ERR_ARG (--kv missing,
 * --layer not in the dump, --head >= n_q_heads; named), SUBQ_ERR_IO / SUBQ_ERR_FORMAT
 * from subq_kv_open (file named).  On error sel->kv is NULL. */
int subq_kvopts_open(MPI_Comm comm, const subq_opts_t *opts, subq_kv_sel_t *sel);

/* Close the dump; accepts a zeroed or already closed sel.  Not collective. */
void subq_kvopts_close(subq_kv_sel_t *sel);

/* Balanced block [*b0, *b1) of n items for rank of size (the first n mod size ranks get
 * one more).  Pure. */
void subq_kvopts_block(size_t n, int size, int rank, size_t *b0, size_t *b1);

#endif
