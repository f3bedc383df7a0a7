/* Exact KDE: sum_j k(x_j, y) over the local rows, blocked; the kernel block comes from
 * subq_kernel_block (one dgemm for ||x||^2 + ||y||^2 - 2 X Y^T).  The reference oracle.
 * On device cuda (subq_kde_set_device) the local rows live on the GPU and each batch of
 * queries is one call of subq_cuda_kde_sums (src/cuda/kde.cu). */
#include "cuda/subq_cuda.h"
#include "kde/kde_impl.h"

#define XB 512 /* local rows per block */
#define QB 256 /* queries per block */

typedef struct {
  double *xn2; /* squared norms of the local rows */
  double *work, *yn2;
  subq_cuda_kde_t *cu; /* device cuda: the local rows on the GPU */
} exact_t;

static int setup_(subq_kde_t *k) {
  exact_t *x = NULL;
  SUBQ_CALL(SUBQ_ZALLOC(x, 1));
  k->impl = x;
  if (k->device == SUBQ_DEVICE_CUDA) {
    SUBQ_CALL(subq_cuda_kde_create((int)k->kernel.type, k->kernel.h, k->nloc, k->d, k->X, &x->cu));
    return SUBQ_OK;
  }
  SUBQ_CALL(SUBQ_ALLOC(x->xn2, k->nloc));
  SUBQ_CALL(SUBQ_ALLOC(x->work, (size_t)XB * QB));
  SUBQ_CALL(SUBQ_ALLOC(x->yn2, QB));
  subq_kde_norms2_(k->nloc, k->d, k->X, x->xn2);
  return SUBQ_OK;
}

static size_t npre_(const subq_kde_t *k) { (void)k; return 0; }
static size_t nout_(const subq_kde_t *k) { (void)k; return 1; }

static int local_(subq_kde_t *k, const double *Y, size_t q, const uint64_t *qids,
                  const long *allcnt, double *part, uint64_t *evals) {
  (void)qids;
  (void)allcnt;
  exact_t *x = k->impl;
  if (x->cu) {
    SUBQ_CALL(subq_cuda_kde_sums(x->cu, q, Y, part));
    *evals += (uint64_t)q * k->nloc;
    return SUBQ_OK;
  }
  for (size_t a = 0; a < q; a += QB) {
    size_t qb = a + QB < q ? QB : q - a;
    subq_kde_norms2_(qb, k->d, Y + a * k->d, x->yn2);
    for (size_t r = 0; r < k->nloc; r += XB) {
      size_t rb = r + XB < k->nloc ? XB : k->nloc - r;
      SUBQ_CALL(subq_kernel_block(&k->kernel, qb, rb, k->d, Y + a * k->d, x->yn2,
                                  k->X + r * k->d, x->xn2 + r, x->work));
      for (size_t i = 0; i < qb; i++) {
        double s = 0;
        for (size_t j = 0; j < rb; j++) s += x->work[i * rb + j];
        part[a + i] += s;
      }
    }
  }
  *evals += (uint64_t)q * k->nloc;
  return SUBQ_OK;
}

static double combine_(const subq_kde_t *k, double *v) { (void)k; return v[0]; }

static void destroy_(subq_kde_t *k) {
  exact_t *x = k->impl;
  if (!x) return;
  subq_free(&x->xn2);
  subq_free(&x->work);
  subq_free(&x->yn2);
  subq_cuda_kde_destroy(&x->cu);
  subq_free(&k->impl);
}

const subq_kde_ops_t subq_kde_exact_ops_ = {"exact", setup_, npre_, NULL, nout_, local_,
                                            combine_, destroy_};
