/* Data sources: spec parsing and errors, real data sets (values computed outside the
 * project, see test_idx_csv.c for how), synthetic matrices, and reading row blocks on
 * every rank (run at np 1 and np 2: each rank reads only its rows, totals must match).
 *
 * Known totals, from Python's gzip + struct on train-images-idx3-ubyte.gz: the pixel
 * sum (0..255 values) of images 0..999 is 56558003 (images 0..499: 28368245).
 * digits.csv.gz (gzip + csv): the 64 feature columns sum to 561718 over 1797 rows. */
#include <lapacke.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "io_fixture.h"

static int rank_, size_;

static void block(size_t n, size_t *r0, size_t *r1) {
  *r0 = n * (size_t)rank_ / (size_t)size_;
  *r1 = n * (size_t)(rank_ + 1) / (size_t)size_;
}

static double sum_all(MPI_Comm comm, const double *a, size_t n) {
  double s = 0, t = 0;
  for (size_t i = 0; i < n; i++) s += a[i];
  MPI_Allreduce(&s, &t, 1, MPI_DOUBLE, MPI_SUM, comm);
  return t;
}

static void test_bad_specs(void) {
  subq_source_t *s = NULL;
  static const char *bad[] = {
      "bogus:1", "fmnist", "fmnist:val", "fmnist:train:0", "fmnist:train:abc",
      "fmnist:train:-5", "fmnist:train:12x", "fmnist:train:", "fmnist:train:70000",
      "fmnist:test:10001", "digits:0", "digits:1798", "synthetic:gauss:10",
      "synthetic:gauss:0,5", "synthetic:gauss:10,0", "synthetic:gauss:10,5,x",
      "synthetic:gauss:10,5,1,2", "synthetic:gauss:10,5,", "synthetic:gauss:,5",
      "synthetic:uniform:10,5", "synthetic:illcond:1e3,5", "npy:", "csv:", "idx:",
      "synthetic:gauss:99999999999999999999,5", "synthetic:gauss:4294967296,4294967296",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    CHECK_ERR(subq_source_open(bad[i], &s), SUBQ_ERR_ARG, bad[i]);
    CHECK(s == NULL);
  }
  CHECK_ERR(subq_source_open("", &s), SUBQ_ERR_ARG, "empty");
  CHECK_ERR(subq_source_open(NULL, &s), SUBQ_ERR_ARG, "NULL");

  const char *p = fx_path("none.npy");
  char spec[512];
  snprintf(spec, sizeof spec, "npy:%s", p);
  CHECK_ERR(subq_source_open(spec, &s), SUBQ_ERR_IO, p);
  snprintf(spec, sizeof spec, "idx:%s", p);
  CHECK_ERR(subq_source_open(spec, &s), SUBQ_ERR_IO, p);
  snprintf(spec, sizeof spec, "csv:%s", p);
  CHECK_ERR(subq_source_open(spec, &s), SUBQ_ERR_IO, p);

  /* 0-row .npy and Fortran-order 2-D .npy are refused at open */
  p = fx_path("empty.npy");
  fx_npy(p, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (0, 3), }", NULL, 0);
  snprintf(spec, sizeof spec, "npy:%s", p);
  CHECK_ERR(subq_source_open(spec, &s), SUBQ_ERR_FORMAT, "has 0 rows");
  double z[6] = {0};
  p = fx_path("f.npy");
  fx_npy(p, 1, "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", z, sizeof z);
  snprintf(spec, sizeof spec, "npy:%s", p);
  CHECK_ERR(subq_source_open(spec, &s), SUBQ_ERR_UNSUPPORTED, p);

  /* Missing data sets name the Debian package */
  setenv("SUBQ_FMNIST_DIR", fx_path("no-fmnist"), 1);
  CHECK_ERR(subq_source_open("fmnist:train", &s), SUBQ_ERR_IO, "dataset-fashion-mnist");
  CHECK_ERR(subq_source_open("fmnist:test:5", &s), SUBQ_ERR_IO, "no-fmnist/t10k-images");
  unsetenv("SUBQ_FMNIST_DIR");
  setenv("SUBQ_DIGITS_PATH", fx_path("no-digits.csv.gz"), 1);
  CHECK_ERR(subq_source_open("digits", &s), SUBQ_ERR_IO, "python3-sklearn");
  unsetenv("SUBQ_DIGITS_PATH");
}

static void test_file_sources(void) {
  subq_source_t *s = NULL;
  char spec[512];
  double out[8];
  /* .npy, 3-D (3, 2, 2): refused with the file and shape named, not flattened */
  float v[12];
  for (int i = 0; i < 12; i++) v[i] = (float)i * 0.25f;
  v[9] = NAN;
  const char *p = fx_path("s3.npy");
  fx_npy(p, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2, 2), }", v, sizeof v);
  snprintf(spec, sizeof spec, "npy:%s", p);
  CHECK_ERR(subq_source_open(spec, &s), SUBQ_ERR_FORMAT, "s3.npy': shape (3, 2, 2) is a 3-d");
  CHECK(s == NULL);
  /* .npy, 2-D (3, 4) f4; NaN in row 2 only seen when row 2 is read */
  p = fx_path("s.npy");
  fx_npy(p, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", v, sizeof v);
  snprintf(spec, sizeof spec, "npy:%s", p);
  CHECK_OK(subq_source_open(spec, &s));
  CHECK(subq_source_rows(s) == 3 && subq_source_cols(s) == 4);
  CHECK(strstr(subq_source_describe(s), "(3x4)") != NULL);
  CHECK_OK(subq_source_read(s, 1, 2, out));
  CHECK(out[0] == 1.0 && out[3] == 1.75);
  CHECK_ERR(subq_source_read(s, 1, 3, out), SUBQ_ERR_NUMERIC, p);
  CHECK_ERR(subq_source_read(s, 2, 4, out), SUBQ_ERR_ARG, "[2, 4)");
  subq_source_close(&s);
  CHECK(s == NULL);
  subq_source_close(&s);
  subq_source_close(NULL);

  p = fx_path("s.csv");
  fx_write(p, "1,2\n3,4\n5,6\n", 12, NULL, 0);
  snprintf(spec, sizeof spec, "csv:%s", p);
  CHECK_OK(subq_source_open(spec, &s));
  CHECK(subq_source_rows(s) == 3 && subq_source_cols(s) == 2);
  CHECK_OK(subq_source_read(s, 2, 3, out));
  CHECK(out[0] == 5 && out[1] == 6);
  subq_source_close(&s);
  p = fx_path("r.csv");
  fx_write(p, "1,2\n3\n", 6, NULL, 0);
  snprintf(spec, sizeof spec, "csv:%s", p);
  CHECK_ERR(subq_source_open(spec, &s), SUBQ_ERR_FORMAT, "line 2");
  CHECK_ERR(subq_source_open(spec, &s), SUBQ_ERR_FORMAT, p);
}

static void test_real(void) {
  subq_source_t *s = NULL;
  if (access("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", R_OK) == 0) {
    CHECK_OK(subq_source_open("fmnist:train", &s));
    CHECK(subq_source_rows(s) == 60000 && subq_source_cols(s) == 784);
    CHECK(!strcmp(subq_source_describe(s), "fmnist:train (60000x784)"));
    subq_source_close(&s);
    CHECK_OK(subq_source_open("fmnist:test:10000", &s));
    CHECK(subq_source_rows(s) == 10000);
    subq_source_close(&s);

    /* Each rank reads its own block of fmnist:train:1000; the total is known. */
    CHECK_OK(subq_source_open("fmnist:train:1000", &s));
    CHECK(subq_source_rows(s) == 1000 && subq_source_cols(s) == 784);
    CHECK(!strcmp(subq_source_describe(s), "fmnist:train:1000 (1000x784)"));
    size_t r0, r1;
    block(1000, &r0, &r1);
    double *a = malloc((r1 - r0 + 1) * 784 * sizeof *a);
    CHECK_OK(subq_source_read(s, r0, r1, a));
    double mn = 1, mx = 0;
    for (size_t i = 0; i < (r1 - r0) * 784; i++) mn = fmin(mn, a[i]), mx = fmax(mx, a[i]);
    CHECK(mn >= 0 && mx <= 1);
    CHECK_CLOSE(sum_all(MPI_COMM_WORLD, a, (r1 - r0) * 784) * 255.0, 56558003.0, 1e-12);
    if (rank_ == 0 && r1 >= 500) {
      double h = 0;
      for (size_t i = 0; i < 500 * 784; i++) h += a[i];
      CHECK_CLOSE(h * 255.0, 28368245.0, 1e-12);
    }
    CHECK_ERR(subq_source_read(s, 999, 1001, a), SUBQ_ERR_ARG, "fmnist:train:1000");
    free(a);
    subq_source_close(&s);
  } else {
    printf("SKIP Fashion-MNIST: dataset-fashion-mnist not installed\n");
  }

  if (access("/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz", R_OK) == 0) {
    CHECK_OK(subq_source_open("digits", &s));
    CHECK(subq_source_rows(s) == 1797 && subq_source_cols(s) == 64);
    size_t r0, r1;
    block(1797, &r0, &r1);
    double *a = malloc((r1 - r0 + 1) * 64 * sizeof *a);
    CHECK_OK(subq_source_read(s, r0, r1, a));
    CHECK_CLOSE(sum_all(MPI_COMM_WORLD, a, (r1 - r0) * 64), 561718.0, 1e-14);
    if (r0 <= 1 && r1 > 1) {
      double t = 0;
      for (int j = 0; j < 64; j++) t += a[(1 - r0) * 64 + (size_t)j];
      CHECK(t == 313.0);
    }
    free(a);
    subq_source_close(&s);
    CHECK_OK(subq_source_open("digits:10", &s));
    CHECK(subq_source_rows(s) == 10 && subq_source_cols(s) == 64);
    subq_source_close(&s);
  } else {
    printf("SKIP digits: python3-sklearn not installed\n");
  }
}

static void test_synthetic(void) {
  subq_source_t *s = NULL, *t = NULL;
  /* gauss: entry (i, j) is subq_rng_gauss(seed, SUBQ_STREAM_SYNTHETIC, i*D + j) on any
   * rank; sample mean and variance of 20000 x 5 draws within 5 standard errors. */
  CHECK_OK(subq_source_open("synthetic:gauss:20000,5,7", &s));
  CHECK(subq_source_rows(s) == 20000 && subq_source_cols(s) == 5);
  size_t r0, r1;
  block(20000, &r0, &r1);
  double *a = malloc((r1 - r0 + 1) * 5 * sizeof *a);
  CHECK_OK(subq_source_read(s, r0, r1, a));
  int bad = 0;
  for (size_t i = r0; i < r1; i++)
    for (size_t j = 0; j < 5; j++)
      if (a[(i - r0) * 5 + j] != subq_rng_gauss(7, SUBQ_STREAM_SYNTHETIC, i * 5 + j)) bad++;
  CHECK(bad == 0);
  size_t n = (r1 - r0) * 5;
  double m = sum_all(MPI_COMM_WORLD, a, n) / 1e5;
  for (size_t i = 0; i < n; i++) a[i] = a[i] * a[i];
  double var = sum_all(MPI_COMM_WORLD, a, n) / 1e5 - m * m;
  CHECK(fabs(m) < 5 / sqrt(1e5));
  CHECK(fabs(var - 1) < 5 * sqrt(2.0 / 1e5));
  free(a);
  subq_source_close(&s);

  /* seed defaults to 0; a different seed gives different numbers */
  double x0[3], x1[3];
  CHECK_OK(subq_source_open("synthetic:gauss:4,3", &s));
  CHECK_OK(subq_source_open("synthetic:gauss:4,3,0", &t));
  CHECK_OK(subq_source_read(s, 2, 3, x0));
  CHECK_OK(subq_source_read(t, 2, 3, x1));
  CHECK(!memcmp(x0, x1, sizeof x0));
  subq_source_close(&t);
  CHECK_OK(subq_source_open("synthetic:gauss:4,3,1", &t));
  CHECK_OK(subq_source_read(t, 2, 3, x1));
  CHECK(x0[0] != x1[0]);
  subq_source_close(&s);
  subq_source_close(&t);

  /* illcond with D = 11: column j is the gauss column times 10^-j exactly as written. */
  static const double sj[11] = {1, 1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10};
  const size_t N = 2000, D = 11;
  CHECK_OK(subq_source_open("synthetic:illcond:2000,11,3", &s));
  CHECK_OK(subq_source_open("synthetic:gauss:2000,11,3", &t));
  double *A = malloc(N * D * sizeof *A), *G = malloc(N * D * sizeof *G);
  CHECK_OK(subq_source_read(s, 0, N, A));
  CHECK_OK(subq_source_read(t, 0, N, G));
  double worst = 0;
  for (size_t i = 0; i < N; i++)
    for (size_t j = 0; j < D; j++)
      worst = fmax(worst, fabs(A[i * D + j] - G[i * D + j] * sj[j]) / fabs(G[i * D + j] * sj[j]));
  CHECK(worst < 4e-16);
  /* Singular values: sigma_j(A) in [sigma_min(G) s_j, sigma_max(G) s_j] (LAPACK dgesvd,
   * an independent computation); cond(A) about 1e10. */
  double sa[11], sg[11], superb[10];
  CHECK(LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'N', 'N', (int)N, (int)D, A, (int)D, sa, NULL, 1,
                       NULL, 1, superb) == 0);
  CHECK(LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'N', 'N', (int)N, (int)D, G, (int)D, sg, NULL, 1,
                       NULL, 1, superb) == 0);
  for (size_t j = 0; j < D; j++) {
    CHECK(sa[j] >= sg[D - 1] * sj[j] * (1 - 1e-4));
    CHECK(sa[j] <= sg[0] * sj[j] * (1 + 1e-4));
  }
  CHECK(sa[0] / sa[D - 1] > 0.5e10 && sa[0] / sa[D - 1] < 2e10);
  free(A);
  free(G);
  subq_source_close(&s);
  subq_source_close(&t);
  CHECK(fabs(subq_source_illcond_scale(0, 11) - 1) == 0);
  CHECK(subq_source_illcond_scale(10, 11) == 1e-10);
  CHECK(subq_source_illcond_scale(0, 1) == 1);
}

int main(int argc, char **argv) {
  subq_init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  fx_tmpdir();
  test_bad_specs();
  test_file_sources();
  test_real();
  test_synthetic();
  fx_rm_rf(fx_dir_);
  CHECK_FINISH();
}
