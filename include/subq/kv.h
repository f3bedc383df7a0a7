/* subq kv: loader for KV dumps (design.md "KV dumps"): data/kv/<name>/meta.json +
 * q_L{l}.npy, k_L{l}.npy, v_L{l}.npy of shape (heads, tokens, head_dim), float16 or
 * float32, queries and keys after RoPE.  Query heads map to KV heads by meta.json "gqa". */
#ifndef SUBQ_KV_H
#define SUBQ_KV_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct subq_kv subq_kv_t;

typedef struct {
  char model[128];
  int n_layers;         /* number of dumped layers */
  int layers[64];       /* their model layer indices */
  int n_q_heads, n_kv_heads, head_dim;
  size_t tokens;
  double rope_base;
  int gqa[256];         /* gqa[h] = KV head of query head h */
} subq_kv_meta_t;

/* Open a dump directory: parse meta.json, check every listed array's header (dtype,
 * shape (heads, tokens, head_dim) against meta.json) and, when verify_hashes is 1, its
 * sha256.  Not collective (each rank opens; callers agree on errors).
 * Errors: SUBQ_ERR_IO (missing dir/file, named), SUBQ_ERR_FORMAT (bad JSON, missing
 * key, shape or hash mismatch, truncated array; message names the file). */
int subq_kv_open(const char *dir, int verify_hashes, subq_kv_t **kv);
void subq_kv_close(subq_kv_t **kv);
const subq_kv_meta_t *subq_kv_meta(const subq_kv_t *kv);

/* Load tokens [t0, t1) of one head of one layer as float64 (or float32), row-major
 * (t1 - t0) x head_dim.  which: 'q' (head < n_q_heads), 'k' or 'v' (head < n_kv_heads).
 * layer is the model layer index (one of meta.layers).  Each rank can load only its own
 * token range (sequence sharding).  Errors: SUBQ_ERR_ARG (layer/head/range, named),
 * SUBQ_ERR_IO / SUBQ_ERR_FORMAT / SUBQ_ERR_NUMERIC from the .npy reader. */
int subq_kv_load(const subq_kv_t *kv, char which, int layer, int head, size_t t0, size_t t1,
                 double *out);
int subq_kv_load_f32(const subq_kv_t *kv, char which, int layer, int head, size_t t0,
                     size_t t1, float *out);

#ifdef __cplusplus
}
#endif
#endif
