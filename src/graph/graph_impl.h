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
#define SUBQ_GRAPH_STREAM_SOURCE 0x47534full   /* 'GSO' offset of the systematic sources */

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

/* ---- edge samples with exact draw probabilities (src/graph/edge_sample.c) ------------ */

/* Sources of T edge samples by systematic sampling (Madow 1949) from the defensive
 * mixture P(i) = (1 - a) deg_i / sum(deg) + a / n, a = 1/2 (Hesterberg 1995; a = 1 when
 * sum(deg) is not > 0): sample t has source F^-1((t + u) / T), F the cumulative of P and
 * u one uniform draw keyed by (seed, SUBQ_GRAPH_STREAM_SOURCE), so vertex i gets either
 * floor(T P(i)) or ceil(T P(i)) samples and exactly T P(i) in expectation.  P is exact
 * (it is what is sampled), whatever the errors of the degree estimates deg; they only
 * change the variance, by at most a factor 2 against uniform or degree-proportional
 * sources.  Replicated and independent of the rank count. */
typedef struct {
  size_t n, T;
  double *cum; /* n + 1: cum[i] = sum_{l < i} of the unnormalised P */
  double u;
} subq_graph_sources_t;

/* Not collective: set up S for T >= 1 samples from deg (n >= 1, replicated, >= 0).
 * Errors: SUBQ_ERR_MEM. */
int subq_graph_sources_init_(subq_graph_sources_t *S, const double *deg, size_t n, size_t T,
                             uint64_t seed);
void subq_graph_sources_free_(subq_graph_sources_t *S);

/* Collective over the tree's comm: samples [b0, b0 + bs) of S: src[t] (S's source of
 * sample b0 + t), a neighbour nbr[t] drawn by the KDE tree with its exact probability
 * q(nbr | src), the ordered pair's exact probability pi[t] = P(src) q(nbr | src) and
 * kval[t] = k(x_src, x_nbr) (0 for the tree's degenerate fallback).  All bs-long,
 * replicated.  *evals += the tree's kernel evaluations.  Errors: as
 * subq_kde_tree_sample_neighbors_prob. */
int subq_graph_sample_batch_(subq_kde_tree_t *tree, const subq_graph_sources_t *S, size_t b0,
                             size_t bs, uint64_t seed, size_t *src, size_t *nbr, double *pi,
                             double *kval, uint64_t *evals);

/* An undirected edge i < j with a weight. */
typedef struct {
  size_t i, j;
  double w;
} subq_graph_edge_t;

/* Not collective: sort E (T entries) by (i, j), drop entries of weight <= 0 and merge
 * repeated pairs by adding their weights, in place; returns the number m of distinct
 * edges left in E[0..m). */
size_t subq_graph_merge_edges_(subq_graph_edge_t *E, size_t T);

/* The SUBQ_ERR_NUMERIC of T edge samples that all have kernel value 0 (sample (i, j) one
 * of them): a near-disconnected kernel graph. */
int subq_graph_all_zero_(size_t T, size_t i, size_t j, const subq_kernel_t *kernel);

/* Count this rank's data-class MPI calls between begin (a snapshot into *s0) and end
 * into sp->petsc: bracket calls into PETSc/SLEPc whose communication is theirs. */
void subq_sparsifier_petsc_begin_(subq_comm_counters_t *s0);
void subq_sparsifier_petsc_end_(const subq_sparsifier_t *sp, const subq_comm_counters_t *s0);

/* Assemble sp->L from the edge list (collective). */
int subq_sparsifier_assemble_(subq_sparsifier_t *sp);

/* Vec over sp's comm wrapping local storage (nloc) of the points' distribution. */
PetscErrorCode subq_graph_vec_(const subq_sparsifier_t *sp, Vec *v);

#endif
