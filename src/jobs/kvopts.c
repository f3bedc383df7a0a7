/* --kv=DIR [--layer=L] [--head=H] for attention jobs (see kvopts.h). */
#include <string.h>

#include "jobs/kvopts.h"

void subq_kvopts_block(size_t n, int size, int rank, size_t *b0, size_t *b1) {
  size_t p = (size_t)size, r = (size_t)rank, q = n / p, rem = n % p;
  *b0 = r * q + (r < rem ? r : rem);
  *b1 = *b0 + q + (r < rem ? 1 : 0);
}

/* Local part: open and resolve the options on this rank. */
static int open_local_(int rank, int size, const subq_opts_t *opts, subq_kv_sel_t *sel) {
  const char *dir = NULL;
  SUBQ_CHECK(subq_opts_has(opts, "kv"), SUBQ_ERR_ARG,
             "option --kv=DIR is required (a KV dump directory, e.g. data/kv/smollm2-135m-gpl3)");
  SUBQ_CALL(subq_opts_string(opts, "kv", &dir));
  SUBQ_CALL(subq_kv_open(dir, rank == 0, &sel->kv));
  const subq_kv_meta_t *m = sel->meta = subq_kv_meta(sel->kv);
  long layer = m->layers[0], head = 0;
  if (subq_opts_has(opts, "layer")) SUBQ_CALL(subq_opts_int(opts, "layer", &layer));
  SUBQ_CALL(subq_opts_int(opts, "head", &head));
  int found = 0;
  for (int i = 0; i < m->n_layers; i++) found |= m->layers[i] == layer;
  SUBQ_CHECK(found, SUBQ_ERR_ARG, "--layer=%ld is not in KV dump '%s' (%d layers, first %d, last %d)",
             layer, dir, m->n_layers, m->layers[0], m->layers[m->n_layers - 1]);
  SUBQ_CHECK(head >= 0 && head < m->n_q_heads, SUBQ_ERR_ARG,
             "--head=%ld out of range for KV dump '%s' (query heads 0..%d)", head, dir,
             m->n_q_heads - 1);
  sel->layer = (int)layer;
  sel->q_head = (int)head;
  sel->kv_head = m->gqa[head];
  sel->tokens = m->tokens;
  subq_kvopts_block(m->tokens, size, rank, &sel->t0, &sel->t1);
  return SUBQ_OK;
}

int subq_kvopts_open(MPI_Comm comm, const subq_opts_t *opts, subq_kv_sel_t *sel) {
  SUBQ_CHECK(sel && opts, SUBQ_ERR_ARG, "subq_kvopts_open: sel and opts must not be NULL");
  memset(sel, 0, sizeof *sel);
  int rank, size;
  SUBQ_MPI(MPI_Comm_rank(comm, &rank));
  SUBQ_MPI(MPI_Comm_size(comm, &size));
  int err = subq_error_agree(comm, open_local_(rank, size, opts, sel));
  if (err) {
    subq_kvopts_close(sel);
    return subq_error_trace(err, __FILE__, __LINE__, __func__);
  }
  return SUBQ_OK;
}

void subq_kvopts_close(subq_kv_sel_t *sel) {
  if (!sel) return;
  subq_kv_close(&sel->kv);
  sel->meta = NULL;
}
