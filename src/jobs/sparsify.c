/* subq sparsify: spectral sparsifier of the kernel graph by KDE-based edge sampling
 * (BIKSZ arXiv 2212.00642, Section 4; include/subq/graph.h), assembled as a PETSc MPIAIJ
 * Laplacian; quality against the exact graph: quadratic-form ratios x^T L~ x / x^T L x
 * (exact, blocked, matrix-free) over random vectors and over the sparsifier's extreme
 * normalised-Laplacian eigenvectors, and the k smallest non-zero eigenvalues of the
 * normalised Laplacian (SLEPc on L~ vs dense ScaLAPACK pdsyevr/pdsyevx on L, or LAPACK dsyevr on
 * rank 0 with --dense=lapack, for n <= --dense-max). */
#include <math.h>
#include <string.h>

#include "jobs/graph_jobs.h"

static const subq_opt_spec_t opts_[] = {
    SUBQ_KDE_JOB_KERNEL_OPTS,
    SUBQ_GRAPH_JOB_SPARSIFIER_OPTS,
    {"k", SUBQ_OPT_INT, "10", "", "smallest non-zero normalised-Laplacian eigenvalues compared", NULL, 1, 1000},
    {"vectors", SUBQ_OPT_INT, "20", "", "random test vectors for x^T L~ x / x^T L x", NULL, 1, 1000},
    {"check-max", SUBQ_OPT_INT, "20000", "points", "largest n for the exact quadratic forms (n^2 kernel evaluations per product)", NULL, 0, 1e7},
    {"dense-max", SUBQ_OPT_INT, "5000", "points", "largest n for the dense eigenvalues (ScaLAPACK: 8 n^2 / ranks bytes per rank; LAPACK: 8 n^2 on rank 0)", NULL, 0, 46340},
    {"dense", SUBQ_OPT_CHOICE, "scalapack", "", "dense reference: scalapack (block-cyclic N, pdsyevr/pdsyevx) | lapack (dsyevr on rank 0)", "scalapack|lapack", 0, 0},
    {"save", SUBQ_OPT_FLAG, "0", "", "save L~ in PETSc binary format as laplacian.petsc", NULL, 0, 0},
    {NULL, 0, NULL, NULL, NULL, NULL, 0, 0}};

/* Collective: the counts that fix the job's communication (docs/comm-model.md,
 * tools/comm_model.py sparsify_job_counts) into the summary on rank 0.  The tree's pairs per
 * level are replicated; the sampling's, PETSc/SLEPc's and the ScaLAPACK dense reference's
 * (BLACS inside pdsyevr/pdsyevx; zero with --dense=lapack or n > --dense-max) MPI calls and bytes
 * sent are per rank (gathered in a control section: the bookkeeping is not the algorithm's
 * traffic). */
static int report_comm_(subq_job_ctx_t *ctx, const subq_sparsifier_t *sp,
                        const subq_comm_count_t *dense) {
  subq_sparsifier_stats_t st;
  SUBQ_CALL(subq_sparsifier_stats(sp, &st));
  uint64_t mine[6] = {st.sample_messages, st.sample_bytes_sent, st.petsc_messages,
                      st.petsc_bytes_sent, dense->calls, dense->bytes_sent};
  uint64_t *all = NULL;
  double *col = NULL;
  const size_t p = (size_t)ctx->size;
  int e = 0;
  if (ctx->rank == 0) e = SUBQ_ALLOC(all, 6 * p);
  if (!e && ctx->rank == 0) e = SUBQ_ALLOC(col, p + SUBQ_KDE_TREE_MAX_LEVELS);
  e = subq_error_agree(ctx->comm, e);
  if (!e) {
    subq_comm_control_begin();
    if (MPI_Gather(mine, 6, MPI_UINT64_T, all, 6, MPI_UINT64_T, 0, ctx->comm) != MPI_SUCCESS)
      e = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Gather of the communication counts failed");
    subq_comm_control_end();
  }
  if (!e && ctx->rank == 0) {
    subq_json_t *j = ctx->summary;
    const subq_kde_tree_stats_t *t = &st.tree;
    uint64_t lc = 0, lp = 0, mx[4] = {0, 0, 0, 0};
    for (size_t l = 0; l < t->levels; l++) lc += t->level_calls[l], lp += t->level_pairs[l];
    for (size_t r = 0; r < p; r++)
      for (int k = 0; k < 4; k++) mx[k] = all[6 * r + k] > mx[k] ? all[6 * r + k] : mx[k];
    e = subq_json_int(j, "tree_calls", (long long)t->calls);
    if (!e) e = subq_json_int(j, "tree_draws", (long long)t->draws);
    if (!e) e = subq_json_int(j, "tree_rows", (long long)t->rows);
    if (!e) e = subq_json_int(j, "tree_levels", (long long)t->levels);
    if (!e) e = subq_json_int(j, "tree_level_calls", (long long)lc);
    if (!e) e = subq_json_int(j, "tree_pairs", (long long)lp);
    if (!e) e = subq_json_int(j, "tree_leaf_pairs", (long long)t->leaf_pairs);
    const uint64_t *arr[3] = {t->level_calls, t->level_draws, t->level_pairs};
    const char *names[3] = {"tree_calls_per_level", "tree_draws_per_level", "tree_pairs_per_level"};
    for (int a = 0; !e && a < 3; a++) {
      for (size_t l = 0; l < t->levels; l++) col[l] = (double)arr[a][l];
      e = subq_json_num_array(j, names[a], col, t->levels);
    }
    if (!e) e = subq_json_int(j, "sample_comm_messages_max", (long long)mx[0]);
    if (!e) e = subq_json_int(j, "sample_comm_bytes_sent_max", (long long)mx[1]);
    if (!e) e = subq_json_int(j, "petsc_comm_messages_max", (long long)mx[2]);
    if (!e) e = subq_json_int(j, "petsc_comm_bytes_sent_max", (long long)mx[3]);
    const char *pn[4] = {"petsc_comm_messages", "petsc_comm_bytes_sent", "dense_comm_messages",
                         "dense_comm_bytes_sent"};
    for (int k = 0; !e && k < 4; k++) {
      for (size_t r = 0; r < p; r++) col[r] = (double)all[6 * r + 2 + (size_t)k];
      e = subq_json_num_array(j, pn[k], col, p);
    }
  }
  subq_free(&all);
  subq_free(&col);
  return e ? subq_error_trace(e, __FILE__, __LINE__, __func__) : SUBQ_OK;
}

static int run_(subq_job_ctx_t *ctx) {
  subq_kde_job_data_t a;
  subq_dmat_t *X = NULL;
  SUBQ_CALL(subq_kde_job_load(ctx, &a, &X));
  long k, nv, cmax, dmax;
  int save = 0;
  const char *dense_name = NULL;
  int e = subq_opts_int(ctx->opts, "k", &k);
  if (!e) e = subq_opts_int(ctx->opts, "vectors", &nv);
  if (!e) e = subq_opts_int(ctx->opts, "check-max", &cmax);
  if (!e) e = subq_opts_int(ctx->opts, "dense-max", &dmax);
  if (!e) e = subq_opts_flag(ctx->opts, "save", &save);
  if (!e) e = subq_opts_string(ctx->opts, "dense", &dense_name);
  if (!e && X->n < 3)
    e = SUBQ_FAIL(SUBQ_ERR_ARG, "--data=%s: sparsify needs n >= 3 points, got %zu", a.data, X->n);
  else if (!e && (size_t)k + 2 > X->n)
    e = SUBQ_FAIL(SUBQ_ERR_ARG, "--k=%ld must be <= n - 2 = %zu", k, X->n - 2);
  e = subq_error_agree(ctx->comm, e);
  subq_sparsifier_t *sp = NULL;
  if (!e) e = subq_graph_job_sparsifier(ctx, X, &a.kernel, &sp);
  subq_sparsifier_stats_t st;
  if (!e) e = subq_sparsifier_stats(sp, &st);
  if (!e) e = subq_job_phase(ctx, "sparsify", st.time_s);
  if (!e) e = subq_job_phase(ctx, "assemble", st.assemble_s);
  if (!e) subq_job_progress(ctx, "steps (sparsify, slepc, exact-check, dense)", 1, 4, ctx->t_start);
  /* eigenpairs of the sparsifier's normalised Laplacian (SLEPc) */
  const size_t nl = X->nloc, K = (size_t)k, R = (size_t)nv + K + 1;
  double *lam = NULL, *lamx = NULL, *lmax = NULL, *V = NULL, *Vk = NULL, *vmax = NULL, *ratio = NULL;
  if (!e) e = SUBQ_ZALLOC(lam, K);
  if (!e) e = SUBQ_ZALLOC(lamx, K);
  if (!e) e = SUBQ_ZALLOC(lmax, 1);
  if (!e) e = subq_calloc(nl + 1, R * sizeof(double), &V);
  if (!e) e = subq_calloc(nl + 1, K * sizeof(double), &Vk);
  if (!e) e = SUBQ_ZALLOC(vmax, nl + 1);
  if (!e) e = SUBQ_ZALLOC(ratio, R);
  e = subq_error_agree(ctx->comm, e);
  int its = 0;
  double t0 = subq_wtime(), t_eig = 0, t_chk = 0, t_dense = 0;
  if (!e) e = subq_sparsifier_normalized_eigs(sp, K, 0, lam, Vk, &its);
  if (!e) e = subq_sparsifier_normalized_eigs(sp, 1, 1, lmax, vmax, NULL);
  e = subq_error_agree(ctx->comm, e);
  if (!e) e = subq_time_max(ctx->comm, subq_wtime() - t0, &t_eig);
  if (!e) e = subq_job_phase(ctx, "slepc", t_eig);
  if (!e) subq_job_progress(ctx, "steps (sparsify, slepc, exact-check, dense)", 2, 4, ctx->t_start);
  /* quadratic-form ratios: random vectors, then the eigenvectors */
  const int do_chk = X->n <= (size_t)cmax, do_dense = X->n <= (size_t)dmax;
  double rmin = NAN, rmax = NAN, emin = NAN, emax = NAN;
  if (!e && do_chk) {
    for (size_t i = 0; i < nl; i++) {
      for (size_t c = 0; c < (size_t)nv; c++)
        V[i * R + c] = subq_rng_gauss(ctx->seed, 0x475652ull, (X->r0 + i) * (size_t)nv + c);
      for (size_t c = 0; c < K; c++) V[i * R + nv + c] = Vk[i * K + c];
      V[i * R + R - 1] = vmax[i];
    }
    t0 = subq_wtime();
    e = subq_sparsifier_quadratic_ratios(sp, X, &a.kernel, R, V, ratio);
    if (!e) e = subq_time_max(ctx->comm, subq_wtime() - t0, &t_chk);
    if (!e) e = subq_job_phase(ctx, "exact-check", t_chk);
    rmin = rmax = ratio[0];
    for (size_t c = 0; !e && c < (size_t)nv; c++) rmin = fmin(rmin, ratio[c]), rmax = fmax(rmax, ratio[c]);
    emin = emax = ratio[nv];
    for (size_t c = (size_t)nv; !e && c < R; c++) emin = fmin(emin, ratio[c]), emax = fmax(emax, ratio[c]);
  }
  if (!e) subq_job_progress(ctx, "steps (sparsify, slepc, exact-check, dense)", 3, 4, ctx->t_start);
  double eig_err = NAN;
  subq_comm_count_t dense_comm = {0, 0, 0};
  if (!e && do_dense) {
    t0 = subq_wtime();
    if (strcmp(dense_name, "scalapack") == 0) {
      subq_comm_counters_t c0, c1, cd;
      subq_comm_snapshot(&c0);
      e = subq_laplacian_dense_eigs_scalapack(X, &a.kernel, K, 0, 0, 64, lamx);
      subq_comm_snapshot(&c1);
      subq_comm_diff(&c0, &c1, &cd);
      dense_comm = subq_comm_total(&cd, SUBQ_COMM_DATA);
    } else
      e = subq_laplacian_dense_eigs(X, &a.kernel, K, lamx);
    if (!e) e = subq_time_max(ctx->comm, subq_wtime() - t0, &t_dense);
    if (!e) e = subq_job_phase(ctx, "dense", t_dense);
    eig_err = 0;
    for (size_t i = 0; !e && i < K; i++) eig_err = fmax(eig_err, fabs(lam[i] - lamx[i]) / lamx[i]);
  }
  if (!e) subq_job_progress(ctx, "steps (sparsify, slepc, exact-check, dense)", 4, 4, ctx->t_start);
  if (!e && save) {
    char path[4096];
    e = subq_sparsifier_save(sp, subq_job_path(ctx, "laplacian.petsc", path, sizeof path));
  }
  e = subq_error_agree(ctx->comm, e);
  double mem = subq_kde_job_peak_mem(ctx->comm);
  if (!e) e = subq_error_agree(ctx->comm, report_comm_(ctx, sp, &dense_comm));
  if (!e && ctx->rank == 0) {
    subq_json_t *j = ctx->summary;
    e = subq_kde_job_report_common(ctx, &a, X, "sparsify");
    if (!e) e = subq_graph_job_report_sparsifier(ctx, &st);
    if (!e) e = subq_json_num(j, "spectral_min", fmin(rmin, emin));
    if (!e) e = subq_json_num(j, "spectral_max", fmax(rmax, emax));
    if (!e) e = subq_json_num(j, "spectral_rand_min", rmin);
    if (!e) e = subq_json_num(j, "spectral_rand_max", rmax);
    if (!e) e = subq_json_num(j, "spectral_eigvec_min", emin);
    if (!e) e = subq_json_num(j, "spectral_eigvec_max", emax);
    if (!e) e = subq_json_int(j, "k", k);
    if (!e) e = subq_json_num_array(j, "eig_sparsifier", lam, K);
    if (!e) e = subq_json_num_array(j, "eig_exact", lamx, do_dense ? K : 0);
    if (!e) e = subq_json_num(j, "eig_rel_err", eig_err);
    if (!e) e = subq_json_num(j, "eig_max_sparsifier", lmax[0]);
    if (!e) e = subq_json_int(j, "slepc_iterations", its);
    if (!e) e = subq_json_num(j, "dense_kernel_evals", (double)X->n * (double)X->n);
    if (!e) e = subq_json_num(j, "time_s", st.time_s + st.assemble_s);
    if (!e) e = subq_json_num(j, "slepc_time_s", t_eig);
    if (!e) e = subq_json_num(j, "check_time_s", do_chk ? t_chk : NAN);
    if (!e) e = subq_json_num(j, "dense_time_s", do_dense ? t_dense : NAN);
    if (!e) e = subq_json_str(j, "dense_method", !do_dense ? "none" : strcmp(dense_name, "scalapack") == 0 ? subq_scalapack_eig_last_routine() : "lapack-dsyevr");
    if (!e) e = subq_json_num(j, "peak_mem_bytes", mem);
    if (!e) e = subq_json_bool(j, "saved", save);
    subq_job_table(ctx, "x^T L~x / x^T Lx", "random [%.4f, %.4f], eigenvectors [%.4f, %.4f]%s", rmin,
                   rmax, emin, emax, do_chk ? "" : " (n > --check-max)");
    if (do_dense)
      subq_job_table(ctx, "normalised eigs", "lambda_2 %.5g (exact %.5g), max rel. error of %ld: %.4g",
                     lam[0], lamx[0], k, eig_err);
    else
      subq_job_table(ctx, "normalised eigs", "lambda_2 %.5g (exact not computed: n > --dense-max)", lam[0]);
    subq_job_table(ctx, "time", "%.3f s sparsify + %.3f s assemble, SLEPc %.3f s, exact check %.3f s, dense %.3f s",
                   st.time_s, st.assemble_s, t_eig, t_chk, t_dense);
    subq_job_table(ctx, "peak memory", "%.1f MiB per rank (max)", mem / 1048576.0);
  }
  e = subq_error_agree(ctx->comm, e);
  subq_sparsifier_destroy(&sp);
  subq_free(&lam), subq_free(&lamx), subq_free(&lmax), subq_free(&V), subq_free(&Vk);
  subq_free(&vmax), subq_free(&ratio);
  subq_dmat_destroy(&X);
  return e ? subq_error_trace(e, __FILE__, __LINE__, __func__) : 0;
}

const subq_job_t subq_job_sparsify = {
    "sparsify", "Spectral sparsifier of a kernel graph by KDE edge sampling (PETSc), vs the exact graph.",
    opts_, run_, 0};
