/* Internal interface of src/graph (not installed): the sparsifier object, PETSc error
 * conversion at the library boundary. */
#ifndef SUBQ_GRAPH_IMPL_H
#define SUBQ_GRAPH_IMPL_H

#include <petscmat.h>

#include "subq/comm.h"
#include "subq/core.h"
#include "subq/graph.h"

#define SUBQ_GRAPH_STREAM_SPARSIFY 0x475350ull /* 'GSP' uniform vertex of each sample */
#define SUBQ_GRAPH_STREAM_RHS 0x475248ull      /* 'GRH' random right-hand sides/vectors */
#define SUBQ_GRAPH_STREAM_TRIANGLE 0x475452ull /* 'GTR' third vertex of a triangle sample */

struct subq_sparsifier {
  MPI_Comm comm;
  double eps, oversample;
  size_t samples_fixed;
  subq_kde_type_t kde_type;
  size_t per_group, groups, leaf;
  uint64_t seed;
  /* after setup */
  const subq_dmat_t *X;
  subq_kernel_t kernel;
  size_t m;      /* distinct edges */
  size_t *edges; /* 2 m, i < j, sorted */
  double *w;     /* m */
  subq_sparsifier_stats_t st;
  Mat L;         /* MPIAIJ; NULL before setup */
  int ready;
  subq_comm_count_t *petsc; /* this rank's MPI calls inside PETSc/SLEPc (const methods add) */
};

/* Convert a PETSc error code to a subq error (message with PETSc's text and the failing
 * expression); 0 stays 0. */
int subq_petsc_error_(PetscErrorCode ierr, const char *file, int line, const char *func,
                      const char *what);
#define SUBQ_PETSC(expr)                                                                  \
  do {                                                                                    \
    PetscErrorCode subq_p_ = (expr);                                                      \
    if (subq_p_) return subq_petsc_error_(subq_p_, __FILE__, __LINE__, __func__, #expr);  \
  } while (0)

/* A degree estimate at most this is numerically 0: KDE(x) - k(x, x) carries an absolute
 * rounding error of about n 1e-16. */
#define SUBQ_GRAPH_EDGELESS 1e-10

/* Sum of the degree estimates deg (n) in *D; SUBQ_ERR_NUMERIC naming the bandwidth when
 * the mean degree is <= SUBQ_GRAPH_EDGELESS (a numerically edgeless kernel graph).  Not
 * collective (deg is replicated). */
int subq_graph_total_degree_(const double *deg, size_t n, const subq_kernel_t *kernel, double *D);

/* Collective: exact kernel values w[e] = k(x_i, x_j) of m sampled edges (E: 2m global
 * indices, replicated), rows gathered 1024 edges at a time; SUBQ_ERR_NUMERIC when a value
 * is 0 (underflow: the edge sampler drew an edge of weight 0, which happens only when the
 * degree estimates or the tree saw no neighbours -- a near-disconnected graph).  w
 * replicated; m kernel evaluations added to *evals. */
int subq_graph_edge_weights_(const subq_dmat_t *X, const subq_kernel_t *kernel, size_t m,
                             const size_t *E, double *w, uint64_t *evals);

/* The SUBQ_ERR_NUMERIC of a sampled edge (i, j) of kernel value 0. */
int subq_graph_zero_edge_(size_t i, size_t j, const subq_kernel_t *kernel);

/* Count this rank's data-class MPI calls between begin (a snapshot into *s0) and end
 * into sp->petsc: bracket calls into PETSc/SLEPc whose communication is theirs. */
void subq_sparsifier_petsc_begin_(subq_comm_counters_t *s0);
void subq_sparsifier_petsc_end_(const subq_sparsifier_t *sp, const subq_comm_counters_t *s0);

/* Assemble sp->L from the edge list (collective). */
int subq_sparsifier_assemble_(subq_sparsifier_t *sp);

/* Vec over sp's comm wrapping local storage (nloc) of the points' distribution. */
PetscErrorCode subq_graph_vec_(const subq_sparsifier_t *sp, Vec *v);

#endif
