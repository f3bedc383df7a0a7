/* The table of jobs known to the driver.  Each job issue adds one line. */
#include <string.h>

#include "jobs/job.h"

extern const subq_job_t subq_job_levscores;
extern const subq_job_t subq_job_info;
extern const subq_job_t subq_job_suite;
extern const subq_job_t subq_job_polysketch;
extern const subq_job_t subq_job_levattn;
extern const subq_job_t subq_job_polarquant;
extern const subq_job_t subq_job_kde;
extern const subq_job_t subq_job_kernel_lra;
extern const subq_job_t subq_job_kernel_eig;
extern const subq_job_t subq_job_kernel_lra_bench;
extern const subq_job_t subq_job_sparsify;
extern const subq_job_t subq_job_kernel_solve;
extern const subq_job_t subq_job_cluster;
extern const subq_job_t subq_job_polarquant_decode;
extern const subq_job_t subq_job_arboricity;
extern const subq_job_t subq_job_triangles;

static const subq_job_t *const jobs_[] = {
    &subq_job_info,
    &subq_job_suite,
    &subq_job_levscores,
    &subq_job_polysketch,
    &subq_job_levattn,
    &subq_job_polarquant,
    &subq_job_kde,
    &subq_job_kernel_lra,
    &subq_job_kernel_eig,
    &subq_job_kernel_lra_bench,
    &subq_job_sparsify,
    &subq_job_kernel_solve,
    &subq_job_cluster,
    &subq_job_polarquant_decode,
    &subq_job_arboricity,
    &subq_job_triangles,
};

int subq_job_count(void) { return (int)(sizeof jobs_ / sizeof jobs_[0]); }

const subq_job_t *subq_job_at(int i) { return i >= 0 && i < subq_job_count() ? jobs_[i] : NULL; }

const subq_job_t *subq_job_find(const char *name) {
  for (int i = 0; i < subq_job_count(); i++)
    if (strcmp(jobs_[i]->name, name) == 0) return jobs_[i];
  return NULL;
}
