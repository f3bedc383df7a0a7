/* subq core: error codes and propagation, collective error agreement, checked memory,
 * logging on rank 0, timers, peak memory, counter-based random numbers.
 *
 * Conventions (design.md): every library function returns int, 0 or a SUBQ_ERR_* code;
 * library code never exits or aborts.  SUBQ_CHECK records a message naming the bad value
 * and returns; SUBQ_CALL propagates an error and appends file:line (function) to a short
 * trace, like PETSc's PetscCall.  Messages live in a thread-local buffer read with
 * subq_error_message(). */
#ifndef SUBQ_CORE_H
#define SUBQ_CORE_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Error codes.  0 is success. */
enum {
  SUBQ_OK = 0,
  SUBQ_ERR_ARG = 1,         /* bad argument or option value */
  SUBQ_ERR_MEM = 2,         /* allocation failed or size overflow */
  SUBQ_ERR_IO = 3,          /* file missing, unreadable, unwritable */
  SUBQ_ERR_FORMAT = 4,      /* file content malformed (magic, header, truncation, hash) */
  SUBQ_ERR_NUMERIC = 5,     /* NaN/Inf in input, breakdown in a factorization */
  SUBQ_ERR_MPI = 6,         /* an MPI call failed */
  SUBQ_ERR_LAPACK = 7,      /* LAPACK/ScaLAPACK returned info != 0 */
  SUBQ_ERR_UNSUPPORTED = 8, /* valid request this build cannot do (dtype, device) */
  SUBQ_ERR_DEVICE = 9,      /* GPU requested but unavailable, or a CUDA call failed */
  SUBQ_ERR_PEER = 10,       /* another rank failed in a collective phase */
  SUBQ_ERR_INTERNAL = 11,   /* a bug: invariant broken */
  SUBQ_ERR_COUNT_
};

/* Short human name of an error code ("bad argument", ...).  Never NULL. */
const char *subq_strerror(int code);

/* Record a new error: message formatted printf-style, location appended.  Returns code,
 * so it can be used as `return subq_error_set(...)`.  Replaces any earlier message. */
int subq_error_set(int code, const char *file, int line, const char *func, const char *fmt,
                   ...) __attribute__((format(printf, 5, 6)));

/* Append one trace line "  at file:line (func)" to the current message; returns code. */
int subq_error_trace(int code, const char *file, int line, const char *func);

/* The current error message with its trace ("" when none).  Thread-local. */
const char *subq_error_message(void);

/* Clear the current message. */
void subq_error_clear(void);

/* Collective over comm: agree on the outcome of a phase.  Every rank passes its local
 * result; every rank gets back the same code: 0 when all ranks succeeded, otherwise the
 * code of the lowest failing rank, and that rank's message (prefixed "rank R: ") is
 * copied to every rank's error buffer so each can print it.  Must be called by all ranks
 * of comm.  On success everywhere the local message is cleared (a handled error leaves
 * no stale trace behind).  Returns SUBQ_ERR_MPI if the agreement itself fails. */
int subq_error_agree(MPI_Comm comm, int local_err);

#define SUBQ_CALL(expr)                                                                   \
  do {                                                                                    \
    int subq_e_ = (expr);                                                                 \
    if (subq_e_) return subq_error_trace(subq_e_, __FILE__, __LINE__, __func__);          \
  } while (0)

#define SUBQ_CHECK(cond, code, ...)                                                       \
  do {                                                                                    \
    if (!(cond)) return subq_error_set((code), __FILE__, __LINE__, __func__, __VA_ARGS__); \
  } while (0)

#define SUBQ_FAIL(code, ...) subq_error_set((code), __FILE__, __LINE__, __func__, __VA_ARGS__)

/* MPI call wrapper: an MPI error becomes SUBQ_ERR_MPI with the MPI error string. */
#define SUBQ_MPI(expr)                                                                    \
  do {                                                                                    \
    int subq_m_ = (expr);                                                                 \
    if (subq_m_ != MPI_SUCCESS) return subq_error_mpi(subq_m_, __FILE__, __LINE__, __func__, #expr); \
  } while (0)
int subq_error_mpi(int mpierr, const char *file, int line, const char *func, const char *what);

/* ---- memory ---------------------------------------------------------------------- */

/* *out = malloc(n * size) aligned to 64 bytes, with the product checked for overflow.
 * n == 0 gives a valid minimal allocation.  Errors: SUBQ_ERR_MEM (message gives bytes). */
int subq_malloc(size_t n, size_t size, void *out_ptr);
/* Same, zero-filled. */
int subq_calloc(size_t n, size_t size, void *out_ptr);
/* free(*p) and set *p = NULL; accepts NULL and *p == NULL. */
void subq_free(void *pp);
/* a*b with overflow detection: returns 0 and sets *out, or SUBQ_ERR_MEM. */
int subq_size_mul(size_t a, size_t b, size_t *out);

#define SUBQ_ALLOC(ptr, n) subq_malloc((size_t)(n), sizeof(*(ptr)), &(ptr))
#define SUBQ_ZALLOC(ptr, n) subq_calloc((size_t)(n), sizeof(*(ptr)), &(ptr))

/* Peak resident set size of this process in bytes (getrusage). */
size_t subq_peak_rss_bytes(void);

/* ---- logging, timers ------------------------------------------------------------- */

enum { SUBQ_LOG_ERROR = 0, SUBQ_LOG_WARN = 1, SUBQ_LOG_INFO = 2, SUBQ_LOG_DEBUG = 3 };
/* Set the level (default INFO; env SUBQ_LOG=error|warn|info|debug overrides at init). */
void subq_log_set_level(int level);
int subq_log_level(void);
/* Print on rank 0 of MPI_COMM_WORLD only, to stderr, if level <= current level. */
void subq_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print on every rank, prefixed "[rank R] ". */
void subq_log_all(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Wall-clock seconds (MPI_Wtime). */
double subq_wtime(void);
/* Collective over comm: max over ranks of t (seconds).  Errors: SUBQ_ERR_MPI. */
int subq_time_max(MPI_Comm comm, double t, double *tmax);

/* Progress line with ETA on rank 0, to stderr, shown when stderr is a terminal or when
 * enabled by subq_progress_enable(1).  done/total are work units; label names the phase.
 * Rate-limited to one line per 0.5 s; a final line when done == total. */
void subq_progress_enable(int on);
void subq_progress(const char *label, double done, double total, double t_start);

/* ---- counter-based random numbers (Philox4x32-10, Salmon et al., SC'11) ---------- */

/* The raw Philox4x32-10 block function: 4 counter words, 2 key words -> 4 output words.
 * Known-answer vectors: Random123 kat_vectors. */
void subq_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* Draws keyed by (seed, stream, index).  The value depends only on these three numbers,
 * never on ranks or threads: counter = (index lo, index hi, stream lo, stream hi),
 * key = (seed lo, seed hi).  Streams are chosen by the caller (one per purpose). */
uint64_t subq_rng_u64(uint64_t seed, uint64_t stream, uint64_t index);
/* Uniform in the open interval (0, 1), 53-bit resolution. */
double subq_rng_uniform(uint64_t seed, uint64_t stream, uint64_t index);
/* Standard normal N(0,1) (Box–Muller on one Philox block). */
double subq_rng_gauss(uint64_t seed, uint64_t stream, uint64_t index);
float subq_rng_gaussf(uint64_t seed, uint64_t stream, uint64_t index);
/* +1 or -1 with probability 1/2 each. */
int subq_rng_rademacher(uint64_t seed, uint64_t stream, uint64_t index);
/* Uniform integer in [0, n), n >= 1 (multiply-shift on 64 random bits; bias < n/2^64). */
uint64_t subq_rng_below(uint64_t seed, uint64_t stream, uint64_t index, uint64_t n);
/* Bulk: out[i] = subq_rng_gauss(seed, stream, first + i) for i < n (OpenMP). */
void subq_rng_fill_gauss(uint64_t seed, uint64_t stream, uint64_t first, size_t n, double *out);
void subq_rng_fill_uniform(uint64_t seed, uint64_t stream, uint64_t first, size_t n,
                           double *out);

/* ---- library init ---------------------------------------------------------------- */

/* Initialize MPI with MPI_THREAD_FUNNELED if not yet initialized, read SUBQ_LOG.
 * Idempotent.  Errors: SUBQ_ERR_MPI. */
int subq_init(int *argc, char ***argv);
/* Run the registered finalizers (subq_atfinalize, newest first), then finalize MPI if
 * subq_init initialized it.  Collective over MPI_COMM_WORLD when a finalizer is (PETSc). */
int subq_finalize(void);
/* Register fn to run in subq_finalize before MPI_Finalize (e.g. PetscFinalize); at most
 * 8, registering the same fn twice is a no-op.  Not thread-safe; not collective.
 * Errors: SUBQ_ERR_ARG (NULL), SUBQ_ERR_INTERNAL (table full). */
int subq_atfinalize(void (*fn)(void));
/* Version string of libsubq, e.g. "0.1.0". */
const char *subq_version(void);

#ifdef __cplusplus
}
#endif
#endif
