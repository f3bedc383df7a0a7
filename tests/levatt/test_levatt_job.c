/* The levattn job end to end on the committed KV dump (layer 20, KV head 0), on
 * synthetic keys and on a data spec with one pass (online scores): it runs at np = 1 and
 * 2, writes summary.json, levattn.csv and universal_set.npy, and reports the theorem's
 * recall of exactly 1 (and the causal recall of 1 of the online scores). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "common/test_util.h"
#include "jobs/job.h"

extern const subq_job_t subq_job_levattn;

static long file_size(const char *p) {
  FILE *f = fopen(p, "rb");
  if (!f) return -1;
  fseek(f, 0, SEEK_END);
  long s = ftell(f);
  fclose(f);
  return s;
}

int main(int argc, char **argv) {
  subq_init(&argc, &argv);
  int size;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  char dir[4000], kv[4096], out[256];
  snprintf(kv, sizeof kv, "--kv=%s", subq_test_kv_dump_dir(dir, sizeof dir, ".."));
  snprintf(out, sizeof out, "--out=levatt_job_np%d", size);
  char *args[] = {kv, out, "--scope=one", "--layer=0", "--head=0", "--p=2",
                  "--eps=0.01", "--topk=none", "--chunk=300", "--synthetic=1000,3000"};
  char *summary = NULL;
  CHECK_OK(subq_job_execute(MPI_COMM_WORLD, &subq_job_levattn, 10, args, &summary));
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank == 0) {
    CHECK(summary && strstr(summary, "\"theorem_heavy_recall_min\": 1,"));
    CHECK(summary && strstr(summary, "\"synthetic_universal_set_size\""));
    CHECK(summary && strstr(summary, "\"heavy_recall\": 1,"));
    if (summary) printf("%s\n", summary);
    char p[512];
    snprintf(p, sizeof p, "levatt_job_np%d/levattn.csv", size);
    CHECK(file_size(p) > 100);
    snprintf(p, sizeof p, "levatt_job_np%d/universal_set.npy", size);
    long s = file_size(p);
    CHECK(s >= 128 && (s - 128) % 8 == 0);
  }
  free(summary);
  /* --data with one pass (online scores): causal heavy recall 1, the two-pass U inside the
   * online U, on Gaussian keys; the two-pass U also from --passes=2 on the same keys */
  char out2[256];
  snprintf(out2, sizeof out2, "--out=levatt_job_data_np%d", size);
  char *dargs[] = {"--data=synthetic:gauss:600,8,3", out2, "--p=2", "--eps=0.02", "--topk=none",
                   "--chunk=50", "--passes=1"};
  summary = NULL;
  CHECK_OK(subq_job_execute(MPI_COMM_WORLD, &subq_job_levattn, 7, dargs, &summary));
  if (rank == 0) {
    CHECK(summary && strstr(summary, "\"causal_heavy_recall_min\": 1,"));
    CHECK(summary && strstr(summary, "\"two_pass_outside_U\": 0,"));
    CHECK(summary && strstr(summary, "\"passes\": 1"));
    const char *u = summary ? strstr(summary, "\"universal_set_size\": ") : NULL;
    const char *u2 = summary ? strstr(summary, "\"universal_set_size_two_pass\": ") : NULL;
    CHECK(u && u2 && atol(u + 22) >= atol(u2 + 30) && atol(u2 + 30) > 0);
    if (summary) printf("%s\n", summary);
  }
  free(summary);
  /* bad input: every rank gets the same error */
  char *bad[] = {kv, out, "--p=3"};
  CHECK_ERR(subq_job_execute(MPI_COMM_WORLD, &subq_job_levattn, 3, bad, NULL), SUBQ_ERR_ARG, "even p");
  char *bad2[] = {kv, out, "--eps=1.5"};
  CHECK_ERR(subq_job_execute(MPI_COMM_WORLD, &subq_job_levattn, 3, bad2, NULL), SUBQ_ERR_ARG, "not in (0, 1)");
  CHECK_FINISH();
}
