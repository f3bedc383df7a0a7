/* The KDE oracle object: create -> set options -> setup -> query (many times) -> destroy.
 * Implementations in kde_exact.c, kde_sampling.c, kde_hbe.c through subq_kde_ops_t. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kde/kde_impl.h"

static const char *const type_names_[] = {"exact", "sampling", "hbe", "deann"};
static const subq_kde_ops_t *const type_ops_[] = {&subq_kde_exact_ops_, &subq_kde_sampling_ops_,
                                                  &subq_kde_hbe_ops_, &subq_kde_deann_ops_};
#define NTYPES 4

int subq_kde_type_parse(const char *name, subq_kde_type_t *type) {
  SUBQ_CHECK(name && type, SUBQ_ERR_ARG, "estimator name is NULL");
  for (int i = 0; i < NTYPES; i++)
    if (strcmp(name, type_names_[i]) == 0) {
      *type = (subq_kde_type_t)i;
      return SUBQ_OK;
    }
  return SUBQ_FAIL(SUBQ_ERR_ARG, "KDE estimator must be exact|sampling|hbe|deann, got '%s'", name);
}

const char *subq_kde_type_name(subq_kde_type_t type) {
  return (unsigned)type < NTYPES ? type_names_[type] : "unknown";
}

int subq_kde_create(MPI_Comm comm, subq_kde_type_t type, subq_kde_t **out) {
  SUBQ_CHECK(out != NULL, SUBQ_ERR_ARG, "output pointer is NULL");
  *out = NULL;
  SUBQ_CHECK((unsigned)type < NTYPES, SUBQ_ERR_ARG, "unknown KDE estimator type %d", (int)type);
  SUBQ_CHECK(comm != MPI_COMM_NULL, SUBQ_ERR_ARG, "communicator is MPI_COMM_NULL");
  subq_kde_t *k = NULL;
  SUBQ_CALL(SUBQ_ZALLOC(k, 1));
  k->comm = comm;
  MPI_Comm_rank(comm, &k->rank);
  MPI_Comm_size(comm, &k->size);
  k->type = type;
  k->ops = type_ops_[type];
  k->kernel.type = SUBQ_KERNEL_GAUSSIAN;
  k->kernel.h = 1.0;
  k->eps = 0.1;
  k->delta = 0.1;
  k->tau = 1e-2;
  *out = k;
  return SUBQ_OK;
}

void subq_kde_destroy(subq_kde_t **pk) {
  if (!pk || !*pk) return;
  if ((*pk)->ops->destroy) (*pk)->ops->destroy(*pk);
  subq_free(pk);
}

int subq_kde_set_kernel(subq_kde_t *k, subq_kernel_t kernel) {
  SUBQ_CHECK(k != NULL, SUBQ_ERR_ARG, "oracle is NULL");
  SUBQ_CALL(subq_kernel_check(&kernel));
  k->kernel = kernel;
  return SUBQ_OK;
}

int subq_kde_set_accuracy(subq_kde_t *k, double eps, double delta, double tau) {
  SUBQ_CHECK(k != NULL, SUBQ_ERR_ARG, "oracle is NULL");
  SUBQ_CHECK(eps > 0 && eps < 1, SUBQ_ERR_ARG, "eps must be in (0, 1), got %g", eps);
  SUBQ_CHECK(delta > 0 && delta < 1, SUBQ_ERR_ARG, "delta must be in (0, 1), got %g", delta);
  SUBQ_CHECK(tau > 0 && tau <= 1, SUBQ_ERR_ARG, "tau must be in (0, 1], got %g", tau);
  k->eps = eps;
  k->delta = delta;
  k->tau = tau;
  return SUBQ_OK;
}

int subq_kde_set_samples(subq_kde_t *k, size_t per_group, size_t groups) {
  SUBQ_CHECK(k != NULL, SUBQ_ERR_ARG, "oracle is NULL");
  SUBQ_CHECK(per_group <= ((size_t)1 << 32) && groups <= 4096, SUBQ_ERR_ARG,
             "samples per group (%zu) or groups (%zu) too large", per_group, groups);
  k->per_group = per_group;
  k->groups = groups;
  k->derived = 0;
  return SUBQ_OK;
}

int subq_kde_set_deann(subq_kde_t *k, size_t clusters, size_t probe) {
  SUBQ_CHECK(k != NULL, SUBQ_ERR_ARG, "oracle is NULL");
  SUBQ_CHECK(clusters <= ((size_t)1 << 31) && probe <= ((size_t)1 << 31), SUBQ_ERR_ARG,
             "DEANN clusters (%zu) or probe (%zu) too large", clusters, probe);
  k->clusters = clusters;
  k->probe = probe;
  return SUBQ_OK;
}

int subq_kde_set_seed(subq_kde_t *k, uint64_t seed) {
  SUBQ_CHECK(k != NULL, SUBQ_ERR_ARG, "oracle is NULL");
  k->seed = seed;
  return SUBQ_OK;
}

int subq_kde_set_device(subq_kde_t *k, subq_device_t dev) {
  SUBQ_CHECK(k != NULL, SUBQ_ERR_ARG, "oracle is NULL");
  SUBQ_CALL(subq_device_check(dev));
  k->device = dev;
  return SUBQ_OK;
}

size_t subq_kde_exact_fallback(const subq_kde_t *k) { return k ? k->fallback_m : 0; }

uint64_t subq_kde_local_evals(const subq_kde_t *k) { return k ? k->evals_local : 0; }

double subq_kde_median_(double *v, size_t g) {
  /* insertion sort: g is small (groups) */
  for (size_t i = 1; i < g; i++) {
    double x = v[i];
    size_t j = i;
    while (j > 0 && v[j - 1] > x) {
      v[j] = v[j - 1];
      j--;
    }
    v[j] = x;
  }
  return g % 2 ? v[g / 2] : 0.5 * (v[g / 2 - 1] + v[g / 2]);
}

int subq_kde_setup_range_(subq_kde_t *k, const subq_dmat_t *X, size_t g0, size_t n) {
  int e = 0;
  if (k->ready && k->ops->destroy) k->ops->destroy(k);
  k->ready = 0;
  k->d = X->d;
  k->g0 = g0;
  k->n = n;
  size_t a = g0 > X->r0 ? g0 : X->r0;
  size_t b = g0 + n < X->r0 + X->nloc ? g0 + n : X->r0 + X->nloc;
  k->lo = a;
  k->nloc = b > a ? b - a : 0;
  k->X = (const double *)X->data + (k->nloc ? (a - X->r0) * X->d : 0);
  k->nq = 0;
  k->evals_local = 0;
  k->ops = type_ops_[k->type];
  k->fallback_m = 0;
  /* derived sample sizes (documented in kde.h) */
  if (k->type != SUBQ_KDE_EXACT) {
    double rv = k->type == SUBQ_KDE_HBE ? 1.0 / sqrt(k->tau) : 1.0 / k->tau;
    if (!k->per_group || k->derived) {
      k->derived = 1;
      double pg = ceil(4.0 * rv / (k->eps * k->eps));
      k->per_group = pg < 4294967296.0 ? (size_t)pg : ((size_t)1 << 32);
    }
    if (!k->groups) {
      k->groups = (size_t)ceil(8.0 * log(1.0 / k->delta));
      if (k->groups % 2 == 0) k->groups++;
    }
    /* A derived count never costs more kernel evaluations per query than exact (n):
     * sampling evaluates per_group * groups points, HBE up to one per table. */
    if (k->type == SUBQ_KDE_HBE && k->kernel.type == SUBQ_KERNEL_LAPLACIAN) {
      /* unsupported: left to the HBE setup, which says so */
    } else if (k->derived) {
      double m = (double)k->per_group * (double)k->groups;
      if (m >= (double)n) {
        k->fallback_m = m < 1.8e19 ? (size_t)m : SIZE_MAX;
        k->ops = &subq_kde_exact_ops_;
      }
    }
  }
  e = k->ops->setup(k);
  SUBQ_CALL(subq_error_agree(k->comm, e));
  k->ready = 1;
  return SUBQ_OK;
}

int subq_kde_setup(subq_kde_t *k, const subq_dmat_t *X) {
  SUBQ_CHECK(k != NULL, SUBQ_ERR_ARG, "oracle is NULL");
  int e = 0;
  if (!X) e = SUBQ_FAIL(SUBQ_ERR_ARG, "points X is NULL");
  else if (X->dtype != SUBQ_F64) e = SUBQ_FAIL(SUBQ_ERR_ARG, "KDE points must be float64");
  else if (X->n == 0) e = SUBQ_FAIL(SUBQ_ERR_ARG, "KDE needs n >= 1 points, got n = 0");
  else if (X->d == 0) e = SUBQ_FAIL(SUBQ_ERR_ARG, "KDE needs dimension d >= 1, got d = 0");
  else {
    int cmp = MPI_UNEQUAL;
    MPI_Comm_compare(X->comm, k->comm, &cmp);
    if (cmp != MPI_IDENT && cmp != MPI_CONGRUENT)
      e = SUBQ_FAIL(SUBQ_ERR_ARG, "points and oracle live on different communicators");
  }
  SUBQ_CALL(subq_error_agree(k->comm, e));
  SUBQ_CALL(subq_kde_setup_range_(k, X, 0, X->n));
  return SUBQ_OK;
}

int subq_kde_query_multi_(MPI_Comm comm, size_t nitems, subq_kde_t *const *ok, const double *Y,
                          size_t d, const uint64_t *qids, double *est, uint64_t *evals) {
  int size = 1, e = 0;
  MPI_Comm_size(comm, &size);
  /* offsets of each item's partial values and pre counts */
  size_t *voff = NULL, *coff = NULL, nv = 0, nc = 0;
  long *cnt = NULL, *all = NULL, *allq = NULL;
  double *part = NULL;
  e = SUBQ_ALLOC(voff, nitems + 1);
  if (!e) e = SUBQ_ALLOC(coff, nitems + 1);
  if (!e) {
    for (size_t i = 0; i < nitems; i++) {
      voff[i] = nv;
      coff[i] = nc;
      nv += ok[i]->ops->nout(ok[i]);
      nc += ok[i]->ops->npre(ok[i]);
    }
    voff[nitems] = nv;
    coff[nitems] = nc;
    if (nv + 1 > (size_t)INT32_MAX || nc * (size_t)size > (size_t)INT32_MAX)
      e = SUBQ_FAIL(SUBQ_ERR_ARG, "query batch of %zu items too large for one message", nitems);
  }
  if (!e) e = SUBQ_ZALLOC(part, nv + 1);
  if (!e && nc) {
    e = SUBQ_ALLOC(cnt, nc);
    if (!e) e = subq_malloc(nc, (size_t)size * sizeof(long), &all);
    if (!e) e = subq_malloc(nc, (size_t)size * sizeof(long), &allq);
  }
  e = subq_error_agree(comm, e);
  if (!e && nc) {
    for (size_t i = 0; i < nitems; i++)
      if (ok[i]->ops->npre(ok[i])) ok[i]->ops->pre(ok[i], Y + i * d, cnt + coff[i]);
    if (MPI_Allgather(cnt, (int)nc, MPI_LONG, all, (int)nc, MPI_LONG, comm) != MPI_SUCCESS)
      e = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Allgather of bucket sizes failed");
    /* [rank][item][npre] -> [item][rank][npre] */
    for (size_t i = 0; !e && i < nitems; i++) {
      size_t np = coff[i + 1] - coff[i];
      for (int r = 0; r < size; r++)
        memcpy(allq + coff[i] * size + (size_t)r * np, all + (size_t)r * nc + coff[i],
               np * sizeof(long));
    }
  }
  uint64_t ev = 0;
  for (size_t i = 0; !e && i < nitems;) {
    size_t j = i + 1;
    while (j < nitems && ok[j] == ok[i]) j++;
    uint64_t ev0 = ev;
    e = ok[i]->ops->local(ok[i], Y + i * d, j - i, qids + i, nc ? allq + coff[i] * size : NULL,
                          part + voff[i], &ev);
    ok[i]->evals_local += ev - ev0;
    i = j;
  }
  part[nv] = (double)ev;
  e = subq_error_agree(comm, e);
  if (!e && MPI_Allreduce(MPI_IN_PLACE, part, (int)(nv + 1), MPI_DOUBLE, MPI_SUM, comm) !=
                MPI_SUCCESS)
    e = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Allreduce of KDE partial sums failed");
  if (!e) {
    for (size_t i = 0; i < nitems; i++) est[i] = ok[i]->ops->combine(ok[i], part + voff[i]);
    if (evals) *evals = (uint64_t)llround(part[nv]);
  }
  subq_free(&voff);
  subq_free(&coff);
  subq_free(&cnt);
  subq_free(&all);
  subq_free(&allq);
  subq_free(&part);
  return e ? subq_error_trace(e, __FILE__, __LINE__, __func__) : SUBQ_OK;
}

/* Items per collective in subq_kde_query: bounds the message and workspace sizes. */
#define KDE_BATCH 4096

int subq_kde_query(subq_kde_t *k, const double *Y, size_t q, double *est, uint64_t *evals) {
  SUBQ_CHECK(k != NULL, SUBQ_ERR_ARG, "oracle is NULL");
  SUBQ_CHECK(k->ready, SUBQ_ERR_ARG, "KDE oracle is not set up (call subq_kde_setup)");
  SUBQ_CHECK(q == 0 || (Y && est), SUBQ_ERR_ARG, "query points Y or output est is NULL");
  subq_kde_t **ok = NULL;
  uint64_t *qids = NULL, total = 0;
  int e = SUBQ_ALLOC(ok, KDE_BATCH);
  if (!e) e = SUBQ_ALLOC(qids, KDE_BATCH);
  SUBQ_CALL(subq_error_agree(k->comm, e));
  for (size_t i = 0; i < KDE_BATCH; i++) ok[i] = k;
  for (size_t a = 0; !e && a < q; a += KDE_BATCH) {
    size_t b = a + KDE_BATCH < q ? a + KDE_BATCH : q;
    for (size_t i = a; i < b; i++) qids[i - a] = k->nq + i;
    uint64_t ev = 0;
    e = subq_kde_query_multi_(k->comm, b - a, ok, Y + a * k->d, k->d, qids, est + a, &ev);
    total += ev;
  }
  k->nq += q;
  subq_free(&ok);
  subq_free(&qids);
  if (e) return subq_error_trace(e, __FILE__, __LINE__, __func__);
  if (evals) *evals = total;
  return SUBQ_OK;
}
