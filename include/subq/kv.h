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

/* meta.json fields (see tools/kv/README.md for their meaning). */
typedef struct {
  char model[128];      /* meta "model", truncated to 127 bytes */
  int n_layers;         /* number of dumped layers */
  int layers[64];       /* their model layer indices */
  int n_q_heads, n_kv_heads, head_dim;
  size_t tokens;        /* sequence length of every array */
  double rope_base;     /* RoPE base theta (q and k in the dump are after RoPE) */
  int gqa[256];         /* gqa[h] = KV head of query head h */
} subq_kv_meta_t;

/* Open a dump directory: parse DIR/meta.json (keys model, dtype, layers, n_q_heads,
 * n_kv_heads, gqa, head_dim, tokens, rope_base, and files.{q,k,v}_L<l> = {file, shape,
 * sha256} for every listed layer; other keys are ignored), check the GQA mapping
 * (gqa has n_q_heads entries, 0 <= gqa[h] < n_kv_heads), every array's shape in
 * meta.json against (heads, tokens, head_dim), every .npy header (dtype as meta "dtype",
 * C order, the same shape, file size) and, when verify_hashes is 1, the sha256 of each
 * whole .npy file (streamed, OpenSSL EVP; ~15 MiB read for the committed dump).
 * Array files must be plain names inside dir.  Limits: <= 64 layers, <= 256 heads.
 * Not collective (each rank opens its own handle; subq_kvopts_open in src/jobs agrees
 * on errors over a communicator).  *kv is NULL on error.
 * Errors: SUBQ_ERR_ARG (dir or kv NULL), SUBQ_ERR_IO (missing dir, meta.json or array;
 * message names the path), SUBQ_ERR_FORMAT (bad JSON, missing key, value out of range,
 * shape or dtype mismatch, truncated array, sha256 mismatch; message names the file and
 * the key or problem), SUBQ_ERR_MEM. */
int subq_kv_open(const char *dir, int verify_hashes, subq_kv_t **kv);
/* Free the handle and set *kv = NULL; accepts NULL and *kv == NULL. */
void subq_kv_close(subq_kv_t **kv);
/* The parsed meta.json (owned by kv, valid until close); NULL for a NULL kv. */
const subq_kv_meta_t *subq_kv_meta(const subq_kv_t *kv);

/* Load tokens [t0, t1) of one head of one layer as float64 (or float32), row-major
 * (t1 - t0) x head_dim: out[(t - t0) * head_dim + c] = X[head, t, c], converted exactly
 * from float16/float32.  which: 'q' (head < n_q_heads), 'k' or 'v' (head <
 * n_kv_heads; query head h reads KV head meta.gqa[h]).  layer is the model layer index
 * (one of meta.layers), not its position.  Reads only the requested
 * (t1 - t0) * head_dim elements, so each rank can load its own token block (sequence
 * sharding); t0 == t1 reads nothing (out may be NULL).  Not collective.
 * Errors: SUBQ_ERR_ARG (which, layer not in the dump, head or token range out of range;
 * message names the value and the valid range), SUBQ_ERR_IO (file gone),
 * SUBQ_ERR_FORMAT (file truncated since open), SUBQ_ERR_NUMERIC (NaN/Inf, or float64
 * data overflowing float32 in _f32: the message names the file and the element as row
 * head * tokens + t, column c of the (heads * tokens, head_dim) view). */
int subq_kv_load(const subq_kv_t *kv, char which, int layer, int head, size_t t0, size_t t1,
                 double *out);
int subq_kv_load_f32(const subq_kv_t *kv, char which, int layer, int head, size_t t0,
                     size_t t1, float *out);

#ifdef __cplusplus
}
#endif
#endif
