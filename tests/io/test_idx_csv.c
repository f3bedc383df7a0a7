/* IDX (LeCun's format, plain and gzip) and numeric CSV readers, on hand-made fixtures
 * and on the real files of Debian's dataset-fashion-mnist and python3-sklearn.
 *
 * Reference values for the real files were computed outside the project with Python's
 * standard library only:
 *   f = gzip.open(".../train-images-idx3-ubyte.gz"); struct.unpack(">IIII", f.read(16))
 *   -> (0x803, 60000, 28, 28); rows = f.read(784 * 1000); sum(row 0) = 76247,
 *   row 0 pixel 99 = 13, pixel 100 = 73, pixel 400 = 0; sum(row 1) = 84598;
 *   sum(row 999) = 69838, row 999 pixels 400..404 = 184, 210, 226, 224, 196;
 *   last image (59999): sum 16684, pixel 400 = 129.
 *   t10k: 10000 images, sum(row 0) = 33456, row 0 pixel 400 = 1, sum(row 1) = 100994.
 *   digits.csv.gz via gzip + csv.reader: 1797 rows x 65 fields, first row below, sum of
 *   the 64 feature columns over all rows = 561718, sum of row 1's features = 313. */
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "io/io_internal.h"
#include "io_fixture.h"

#define FM "/usr/share/datasets/fashion-mnist/"

static double row_sum255(const double *r, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; i++) s += r[i] * 255.0;
  return s;
}

static void test_fmnist_files(void) {
  static double rows[3 * 784];
  subq_idx_info_t info;
  if (access(FM "train-images-idx3-ubyte.gz", R_OK) != 0) {
    printf("SKIP Fashion-MNIST checks: dataset-fashion-mnist not installed\n");
    return;
  }
  CHECK_OK(subq_io_idx_info(FM "train-images-idx3-ubyte.gz", &info));
  CHECK(info.ndim == 3 && info.rows == 60000 && info.cols == 784 && info.gzip == 1);
  CHECK(info.dims[1] == 28 && info.dims[2] == 28 && info.data_offset == 16);
  CHECK_OK(subq_io_idx_read_rows(FM "train-images-idx3-ubyte.gz", &info, 0, 2, rows));
  CHECK_CLOSE(row_sum255(rows, 784), 76247, 1e-12);
  CHECK_CLOSE(row_sum255(rows + 784, 784), 84598, 1e-12);
  CHECK(rows[400] == 0 && rows[99] == 13 / 255.0 && rows[100] == 73 / 255.0);
  CHECK_OK(subq_io_idx_read_rows(FM "train-images-idx3-ubyte.gz", &info, 999, 1000, rows));
  CHECK_CLOSE(row_sum255(rows, 784), 69838, 1e-12);
  CHECK(rows[400] == 184 / 255.0 && rows[401] == 210 / 255.0 && rows[404] == 196 / 255.0);
  CHECK_OK(subq_io_idx_read_rows(FM "train-images-idx3-ubyte.gz", &info, 59999, 60000, rows));
  CHECK_CLOSE(row_sum255(rows, 784), 16684, 1e-12);
  CHECK(rows[400] == 129 / 255.0);
  CHECK_ERR(subq_io_idx_read_rows(FM "train-images-idx3-ubyte.gz", &info, 59999, 60001, rows),
            SUBQ_ERR_ARG, "train-images");

  CHECK_OK(subq_io_idx_info(FM "t10k-images-idx3-ubyte.gz", &info));
  CHECK(info.rows == 10000 && info.cols == 784);
  CHECK_OK(subq_io_idx_read_rows(FM "t10k-images-idx3-ubyte.gz", &info, 0, 2, rows));
  CHECK_CLOSE(row_sum255(rows, 784), 33456, 1e-12);
  CHECK_CLOSE(row_sum255(rows + 784, 784), 100994, 1e-12);
  CHECK(rows[400] == 1 / 255.0);
}

static void put_be32(unsigned char *b, uint32_t v) {
  b[0] = (unsigned char)(v >> 24), b[1] = (unsigned char)(v >> 16);
  b[2] = (unsigned char)(v >> 8), b[3] = (unsigned char)v;
}

static void write_gz(const char *path, const void *a, size_t n) {
  gzFile g = gzopen(path, "wb");
  gzwrite(g, a, (unsigned)n);
  gzclose(g);
}

static void test_idx_fixtures(void) {
  /* 3 images of 2 x 2: header 0x00000803, 3, 2, 2, then bytes 0..11 (row i = 4i..4i+3). */
  unsigned char f[16 + 12];
  put_be32(f, 0x00000803);
  put_be32(f + 4, 3), put_be32(f + 8, 2), put_be32(f + 12, 2);
  for (int i = 0; i < 12; i++) f[16 + i] = (unsigned char)(20 * i);
  subq_idx_info_t info;
  double out[12];
  const char *p = fx_path("a.idx"), *pg = fx_path("a.idx.gz");
  fx_write(p, f, sizeof f, NULL, 0);
  write_gz(pg, f, sizeof f);
  for (int k = 0; k < 2; k++) {
    const char *q = k ? pg : p;
    CHECK_OK(subq_io_idx_info(q, &info));
    CHECK(info.rows == 3 && info.cols == 4 && info.gzip == k);
    CHECK_OK(subq_io_idx_read_rows(q, &info, 1, 3, out));
    CHECK(out[0] == 80 / 255.0 && out[7] == 220 / 255.0);
  }

  /* 1-D labels file: cols = 1 */
  unsigned char l[8 + 3] = {0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9};
  p = fx_path("l.idx");
  fx_write(p, l, sizeof l, NULL, 0);
  CHECK_OK(subq_io_idx_info(p, &info));
  CHECK(info.rows == 3 && info.cols == 1);
  CHECK_OK(subq_io_idx_read_rows(p, &info, 2, 3, out));
  CHECK(out[0] == 9 / 255.0);

  p = fx_path("missing.idx");
  CHECK_ERR(subq_io_idx_info(p, &info), SUBQ_ERR_IO, p);
  /* Wrong magic (byte-swapped 0x03080000), plain and gz */
  unsigned char g[sizeof f];
  memcpy(g, f, sizeof f);
  put_be32(g, 0x03080000);
  p = fx_path("magic.idx"), pg = fx_path("magic.idx.gz");
  fx_write(p, g, sizeof g, NULL, 0);
  write_gz(pg, g, sizeof g);
  CHECK_ERR(subq_io_idx_info(p, &info), SUBQ_ERR_FORMAT, p);
  CHECK_ERR(subq_io_idx_info(pg, &info), SUBQ_ERR_FORMAT, "not an IDX file");
  /* Float data type 0x0D: unsupported */
  put_be32(g, 0x00000D03);
  p = fx_path("float.idx");
  fx_write(p, g, sizeof g, NULL, 0);
  CHECK_ERR(subq_io_idx_info(p, &info), SUBQ_ERR_UNSUPPORTED, p);
  /* Truncated: 11 of 12 data bytes, plain and gz */
  p = fx_path("trunc.idx"), pg = fx_path("trunc.idx.gz");
  fx_write(p, f, sizeof f - 1, NULL, 0);
  write_gz(pg, f, sizeof f - 1);
  CHECK_ERR(subq_io_idx_info(p, &info), SUBQ_ERR_FORMAT, p);
  CHECK_ERR(subq_io_idx_info(pg, &info), SUBQ_ERR_FORMAT, pg);
  /* Header lies: says 4 images */
  memcpy(g, f, sizeof f);
  put_be32(g + 4, 4);
  pg = fx_path("lies.idx.gz");
  write_gz(pg, g, sizeof g);
  CHECK_ERR(subq_io_idx_info(pg, &info), SUBQ_ERR_FORMAT, "does not match");
  /* A gzip stream cut short: the trailer is missing, and reading the data fails too */
  unsigned char big[16 + 3000];
  memcpy(big, f, 16);
  put_be32(big + 4, 3000), put_be32(big + 8, 1), put_be32(big + 12, 1);
  for (int i = 0; i < 3000; i++) big[16 + i] = (unsigned char)((i * 7919) >> 3);
  pg = fx_path("cut.idx.gz");
  write_gz(pg, big, sizeof big);
  unsigned char raw[8192];
  size_t nraw = fx_read(pg, raw, sizeof raw);
  fx_write(pg, raw, nraw / 2, NULL, 0);
  CHECK_ERR(subq_io_idx_info(pg, &info), SUBQ_ERR_FORMAT, pg);
  info = (subq_idx_info_t){.ndim = 3, .dims = {3000, 1, 1}, .rows = 3000, .cols = 1,
                           .data_offset = 16, .gzip = 1};
  static double o3[3000];
  CHECK_ERR(subq_io_idx_read_rows(pg, &info, 0, 3000, o3), SUBQ_ERR_FORMAT, pg);
  /* 0 images */
  put_be32(g + 4, 0);
  p = fx_path("zero.idx");
  fx_write(p, g, 16, NULL, 0);
  CHECK_ERR(subq_io_idx_info(p, &info), SUBQ_ERR_FORMAT, "has 0 rows");
}

static void test_csv(void) {
  subq_csv_info_t ci;
  double out[65];
  const char *p = fx_path("a.csv"), *pg = fx_path("a.csv.gz");
  const char *text = "1,2,3\r\n\n 4.5 ,-6e-1,\t7\n8,9,10";
  fx_write(p, text, strlen(text), NULL, 0);
  write_gz(pg, text, strlen(text));
  for (int k = 0; k < 2; k++) {
    const char *q = k ? pg : p;
    CHECK_OK(subq_io_csv_scan(q, &ci));
    CHECK(ci.rows == 3 && ci.cols == 3);
    CHECK_OK(subq_io_csv_read_rows(q, 3, 2, 1, 3, out)); /* first 2 columns of rows 1..2 */
    CHECK(out[0] == 4.5 && out[1] == -0.6 && out[2] == 8 && out[3] == 9);
  }
  static const struct { const char *text, *needle; int code; } bad[] = {
      {"1,2,3\n4,5\n", "line 2 has 2 fields, expected 3", SUBQ_ERR_FORMAT},
      {"1,2\n4,5,6\n", "line 2 has more than 2 fields", SUBQ_ERR_FORMAT},
      {"1,2,3\n4,x5,6\n", "line 2, column 2: 'x5' is not a number", SUBQ_ERR_FORMAT},
      {"a,b\n1,2\n", "line 1, column 1: 'a' is not a number (CSV header", SUBQ_ERR_FORMAT},
      {"1,,3\n", "line 1, column 2: empty field", SUBQ_ERR_FORMAT},
      {"1,2\n\n3,nan\n", "line 3, column 2: non-finite", SUBQ_ERR_NUMERIC},
      {"1,2\n3,1e999\n", "line 2, column 2: non-finite", SUBQ_ERR_NUMERIC},
      {"\n\n", "has 0 rows", SUBQ_ERR_FORMAT},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    p = fx_path("bad.csv");
    fx_write(p, bad[i].text, strlen(bad[i].text), NULL, 0);
    CHECK_ERR(subq_io_csv_scan(p, &ci), bad[i].code, p);
    CHECK_ERR(subq_io_csv_scan(p, &ci), bad[i].code, bad[i].needle);
  }
  p = fx_path("missing.csv");
  CHECK_ERR(subq_io_csv_scan(p, &ci), SUBQ_ERR_IO, p);

  const char *dg = "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz";
  if (access(dg, R_OK) != 0) {
    printf("SKIP digits checks: python3-sklearn not installed\n");
    return;
  }
  static const double row0[65] = {0, 0, 5, 13, 9, 1, 0, 0, 0, 0, 13, 15, 10, 15, 5, 0, 0,
                                  3, 15, 2, 0, 11, 8, 0, 0, 4, 12, 0, 0, 8, 8, 0, 0, 5, 8,
                                  0, 0, 9, 8, 0, 0, 4, 11, 0, 1, 12, 7, 0, 0, 2, 14, 5, 10,
                                  12, 0, 0, 0, 0, 6, 13, 10, 0, 0, 0, 0};
  CHECK_OK(subq_io_csv_scan(dg, &ci));
  CHECK(ci.rows == 1797 && ci.cols == 65);
  CHECK_OK(subq_io_csv_read_rows(dg, 65, 65, 0, 1, out));
  CHECK(!memcmp(out, row0, sizeof row0));
}

int main(int argc, char **argv) {
  subq_init(&argc, &argv);
  fx_tmpdir();
  test_fmnist_files();
  test_idx_fixtures();
  test_csv();
  fx_rm_rf(fx_dir_);
  CHECK_FINISH();
}
