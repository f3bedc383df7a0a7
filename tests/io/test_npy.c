/* .npy reader and writer (NEP 1).  Fixtures are hand-assembled here: header dict text and
 * little-endian data bytes written directly, values known by construction. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "common/test_util.h"
#include "io_fixture.h"

#define D34 "{'descr': '<f8', 'fortran_order': False, 'shape': (4, 3), }"

static void le_f64(double v, unsigned char *b) {
  uint64_t u;
  memcpy(&u, &v, 8);
  for (int i = 0; i < 8; i++) b[i] = (unsigned char)(u >> (8 * i));
}
static void le_f32(float v, unsigned char *b) {
  uint32_t u;
  memcpy(&u, &v, 4);
  for (int i = 0; i < 4; i++) b[i] = (unsigned char)(u >> (8 * i));
}

static void test_read_dtypes(void) {
  unsigned char d[12 * 8];
  double out[12];
  float outf[12];
  subq_npy_info_t info;
  /* f8, (4, 3), value of (i, j) = 10 i + j + 0.5 */
  for (int k = 0; k < 12; k++) le_f64(10 * (k / 3) + (k % 3) + 0.5, d + 8 * k);
  const char *p = fx_path("f8.npy");
  fx_npy(p, 1, D34, d, sizeof d);
  CHECK_OK(subq_npy_info(p, &info));
  CHECK(info.dtype == SUBQ_F64 && info.ndim == 2 && info.shape[0] == 4 && info.shape[1] == 3);
  CHECK(info.fortran_order == 0 && info.data_offset == 128);
  memset(out, 0, sizeof out);
  CHECK_OK(subq_npy_read_rows(p, &info, 1, 3, out));
  CHECK(out[0] == 10.5 && out[1] == 11.5 && out[2] == 12.5 && out[3] == 20.5 && out[5] == 22.5);
  CHECK_OK(subq_npy_read_rows_f32(p, &info, 3, 4, outf));
  CHECK(outf[0] == 30.5f && outf[2] == 32.5f);
  CHECK_OK(subq_npy_read_rows(p, &info, 2, 2, out)); /* empty range is fine */

  /* f4, 3-D (2, 2, 2): rows of 4 */
  for (int k = 0; k < 8; k++) le_f32(-1.25f * (float)k, d + 4 * k);
  p = fx_path("f4.npy");
  fx_npy(p, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2, 2), }", d, 32);
  CHECK_OK(subq_npy_info(p, &info));
  CHECK(info.dtype == SUBQ_F32 && info.ndim == 3);
  CHECK_OK(subq_npy_read_rows(p, &info, 1, 2, out));
  CHECK(out[0] == -5.0 && out[3] == -8.75);

  /* f2, 1-D, fortran_order True is fine for 1-D; v2.0 header */
  const unsigned char h[] = {0x00, 0x3C, 0x00, 0xC0, 0xFF, 0x7B, 0x01, 0x00}; /* 1,-2,65504,2^-24 */
  p = fx_path("f2.npy");
  fx_npy(p, 2, "{'descr': '<f2', 'fortran_order': True, 'shape': (4,), }", h, sizeof h);
  CHECK_OK(subq_npy_info(p, &info));
  CHECK(info.dtype == SUBQ_F16 && info.ndim == 1 && info.fortran_order == 1);
  CHECK(info.data_offset == 128); /* 12 + 57 + 1 rounded up to 64 */
  CHECK_OK(subq_npy_read_rows(p, &info, 0, 4, out));
  CHECK(out[0] == 1.0 && out[1] == -2.0 && out[2] == 65504.0 && out[3] == 0x1p-24);

  /* |u1, v3.0 header with double quotes and no trailing comma, extra spaces */
  const unsigned char u[6] = {0, 1, 2, 253, 254, 255};
  p = fx_path("u1.npy");
  fx_npy(p, 3, "{\"shape\": ( 3 , 2 ), \"descr\": \"|u1\",  \"fortran_order\": False}", u, 6);
  CHECK_OK(subq_npy_info(p, &info));
  CHECK(info.dtype == SUBQ_U8 && info.shape[0] == 3 && info.shape[1] == 2);
  CHECK_OK(subq_npy_read_rows(p, &info, 1, 3, out));
  CHECK(out[0] == 2 && out[1] == 253 && out[3] == 255);
}

static void test_errors(void) {
  unsigned char d[12 * 8];
  double out[12];
  float outf[12];
  subq_npy_info_t info;
  for (int k = 0; k < 12; k++) le_f64(k, d + 8 * k);
  const char *p;

  p = fx_path("missing.npy");
  CHECK_ERR(subq_npy_info(p, &info), SUBQ_ERR_IO, p);

  p = fx_path("magic.npy");
  fx_npy(p, 1, D34, d, sizeof d);
  FILE *f = fopen(p, "r+b");
  fputc('X', f); /* clobber the \x93 */
  fclose(f);
  CHECK_ERR(subq_npy_info(p, &info), SUBQ_ERR_FORMAT, p);
  CHECK_ERR(subq_npy_info(p, &info), SUBQ_ERR_FORMAT, "bad magic");

  p = fx_path("short.npy");
  fx_write(p, "\x93NUM", 4, NULL, 0);
  CHECK_ERR(subq_npy_info(p, &info), SUBQ_ERR_FORMAT, p);

  p = fx_path("version.npy");
  fx_npy(p, 4, D34, d, sizeof d);
  CHECK_ERR(subq_npy_info(p, &info), SUBQ_ERR_FORMAT, "version 4.0");

  p = fx_path("trunc.npy"); /* header says 12 doubles, file has 10 */
  fx_npy(p, 1, D34, d, 80);
  CHECK_ERR(subq_npy_info(p, &info), SUBQ_ERR_FORMAT, p);
  CHECK_ERR(subq_npy_info(p, &info), SUBQ_ERR_FORMAT, "truncated");

  p = fx_path("lies.npy"); /* header says (4, 3), file has 5 x 3 doubles */
  unsigned char d15[15 * 8] = {0};
  fx_npy(p, 1, D34, d15, sizeof d15);
  CHECK_ERR(subq_npy_info(p, &info), SUBQ_ERR_FORMAT, p);
  CHECK_ERR(subq_npy_info(p, &info), SUBQ_ERR_FORMAT, "does not match");

  p = fx_path("hdrtrunc.npy"); /* header length field larger than the file */
  fx_write(p, "\x93NUMPY\x01\x00\x00\x02{'descr'", 18, NULL, 0);
  CHECK_ERR(subq_npy_info(p, &info), SUBQ_ERR_FORMAT, "truncated .npy header");

  p = fx_path("i8.npy");
  fx_npy(p, 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (4, 3), }", d, sizeof d);
  CHECK_ERR(subq_npy_info(p, &info), SUBQ_ERR_UNSUPPORTED, p);
  CHECK_ERR(subq_npy_info(p, &info), SUBQ_ERR_UNSUPPORTED, "'<i8'");

  p = fx_path("be.npy");
  fx_npy(p, 1, "{'descr': '>f8', 'fortran_order': False, 'shape': (4, 3), }", d, sizeof d);
  CHECK_ERR(subq_npy_info(p, &info), SUBQ_ERR_UNSUPPORTED, p);
  CHECK_ERR(subq_npy_info(p, &info), SUBQ_ERR_UNSUPPORTED, "big-endian");

  static const struct { const char *dict, *needle; } bad[] = {
      {"{'descr': '<f8', 'shape': (4, 3), }", "lacks key 'fortran_order'"},
      {"{'descr': '<f8', 'fortran_order': False, 'shape': (4, 3), 'x': 1}", "unexpected key"},
      {"{'descr': '<f8', 'fortran_order': 0, 'shape': (4, 3), }", "True or False"},
      {"{'descr': '<f8', 'fortran_order': False, 'shape': (12), }", "not a tuple"},
      {"{'descr': '<f8', 'fortran_order': False, 'shape': (4, -3), }", "non-negative"},
      {"{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (4, 3)}", "repeats"},
      {"{'descr': '<f8', 'fortran_order': False, 'shape': (4, 3), } x", "after the dict"},
      {"'descr': '<f8', 'fortran_order': False, 'shape': (4, 3)", "expected '{'"},
      {"{'descr': '<f8' 'fortran_order': False, 'shape': (4, 3)}", "expected ',' or '}'"},
      {"{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (4, 3)}", "structured"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    p = fx_path("syntax.npy");
    fx_npy(p, 1, bad[i].dict, d, sizeof d);
    int rc = subq_npy_info(p, &info);
    CHECK(rc == SUBQ_ERR_FORMAT || rc == SUBQ_ERR_UNSUPPORTED);
    CHECK(strstr(subq_error_message(), p) && strstr(subq_error_message(), bad[i].needle));
    if (!strstr(subq_error_message(), bad[i].needle))
      fprintf(stderr, "  case %zu: %s\n", i, subq_error_message());
  }

  p = fx_path("fortran.npy");
  fx_npy(p, 1, "{'descr': '<f8', 'fortran_order': True, 'shape': (4, 3), }", d, sizeof d);
  CHECK_OK(subq_npy_info(p, &info));
  CHECK(info.fortran_order == 1);
  CHECK_ERR(subq_npy_read_rows(p, &info, 0, 1, out), SUBQ_ERR_UNSUPPORTED, p);
  CHECK_ERR(subq_npy_read_rows(p, &info, 0, 1, out), SUBQ_ERR_UNSUPPORTED, "Fortran");

  p = fx_path("empty.npy");
  fx_npy(p, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (0, 3), }", NULL, 0);
  CHECK_OK(subq_npy_info(p, &info));
  CHECK_ERR(subq_npy_read_rows(p, &info, 0, 0, out), SUBQ_ERR_FORMAT, "has 0 rows");
  CHECK_ERR(subq_npy_read_rows(p, &info, 0, 0, out), SUBQ_ERR_FORMAT, p);

  /* NaN at element 7 = (row 2, column 1); Inf in f2; rows before it read fine. */
  le_f64(NAN, d + 8 * 7);
  p = fx_path("nan.npy");
  fx_npy(p, 1, D34, d, sizeof d);
  CHECK_OK(subq_npy_info(p, &info));
  CHECK_OK(subq_npy_read_rows(p, &info, 0, 2, out));
  CHECK_OK(subq_npy_read_rows(p, &info, 3, 4, out));
  CHECK_ERR(subq_npy_read_rows(p, &info, 1, 4, out), SUBQ_ERR_NUMERIC, p);
  CHECK_ERR(subq_npy_read_rows(p, &info, 1, 4, out), SUBQ_ERR_NUMERIC,
            "nan at element 7 (row 2, column 1)");
  CHECK_ERR(subq_npy_read_rows_f32(p, &info, 2, 3, outf), SUBQ_ERR_NUMERIC, "element 7");
  CHECK_ERR(subq_npy_read_rows(p, &info, 3, 5, out), SUBQ_ERR_ARG, "[3, 5)");

  const unsigned char hinf[4] = {0x00, 0x3C, 0x00, 0xFC}; /* 1, -inf */
  p = fx_path("inf16.npy");
  fx_npy(p, 1, "{'descr': '<f2', 'fortran_order': False, 'shape': (2,), }", hinf, 4);
  CHECK_OK(subq_npy_info(p, &info));
  CHECK_ERR(subq_npy_read_rows(p, &info, 0, 2, out), SUBQ_ERR_NUMERIC, "-inf at element 1");

  le_f64(1e300, d + 8 * 7);
  p = fx_path("big.npy");
  fx_npy(p, 1, D34, d, sizeof d);
  CHECK_OK(subq_npy_info(p, &info));
  CHECK_OK(subq_npy_read_rows(p, &info, 2, 3, out));
  CHECK(out[1] == 1e300);
  CHECK_ERR(subq_npy_read_rows_f32(p, &info, 2, 3, outf), SUBQ_ERR_NUMERIC, "overflows float32");
}

static void test_write(void) {
  /* Writer output checked byte by byte against NEP 1: v1.0, header padded to 64. */
  double a[6] = {1, -2, 0.5, 3.25, 1e-300, 7};
  size_t shape[2] = {2, 3};
  const char *p = fx_path("w.npy");
  CHECK_OK(subq_npy_write(p, SUBQ_F64, 2, shape, a));
  unsigned char buf[512];
  size_t n = fx_read(p, buf, sizeof buf);
  const char *dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }";
  CHECK(n == 128 + 48); /* 10 + 60 + 1 = 71 bytes rounded up to 128 */
  CHECK(!memcmp(buf, "\x93NUMPY\x01\x00", 8) && buf[8] == 118 && buf[9] == 0);
  CHECK(!memcmp(buf + 10, dict, strlen(dict)) && buf[127] == '\n' && buf[126] == ' ');
  unsigned char e[8];
  le_f64(1e-300, e);
  CHECK(!memcmp(buf + 128 + 32, e, 8));
  subq_npy_info_t info;
  double out[6];
  CHECK_OK(subq_npy_info(p, &info));
  CHECK_OK(subq_npy_read_rows(p, &info, 0, 2, out));
  CHECK(!memcmp(out, a, sizeof a));
  CHECK(fx_count_tmp(fx_dir_) == 0);

  /* 1-D float16 and 0-d */
  uint16_t h[3] = {0x3C00, 0x7BFF, 0x0001};
  size_t s1 = 3;
  p = fx_path("w16.npy");
  CHECK_OK(subq_npy_write(p, SUBQ_F16, 1, &s1, h));
  n = fx_read(p, buf, sizeof buf);
  const char *d1 = "{'descr': '<f2', 'fortran_order': False, 'shape': (3,), }";
  CHECK(n == 134 && !memcmp(buf + 10, d1, strlen(d1)));
  CHECK(buf[128] == 0x00 && buf[129] == 0x3C && buf[130] == 0xFF && buf[131] == 0x7B);
  CHECK_OK(subq_npy_info(p, &info));
  CHECK_OK(subq_npy_read_rows(p, &info, 1, 3, out));
  CHECK(out[0] == 65504.0 && out[1] == 0x1p-24);
  p = fx_path("w0.npy");
  CHECK_OK(subq_npy_write(p, SUBQ_F64, 0, NULL, a));
  n = fx_read(p, buf, sizeof buf);
  CHECK(n == 136 && strstr((char *)buf + 10, "'shape': (), }"));

  p = fx_path("nodir/w.npy");
  CHECK_ERR(subq_npy_write(p, SUBQ_F64, 2, shape, a), SUBQ_ERR_IO, p);
  CHECK_ERR(subq_npy_write(fx_path("x.npy"), SUBQ_F64, 9, shape, a), SUBQ_ERR_ARG, "ndim");
}

/* A real file written by NumPy: the committed KV dump k_L10.npy (float16, shape
 * (3, 2048, 64), header padded by NumPy with spare spaces).  Reference values computed
 * outside the project with Python's struct module ('<e' half floats, no NumPy): first
 * values 0.379638671875, 1.671875, 0.61083984375, 1.5419921875; element (2, 2047, 63) =
 * 0.7333984375; sum of head 1, tokens 100..199 = 693.0320620536804; sum of all =
 * 7743.589578568935. */
static void test_numpy_file(void) {
  char dir[900], p[1024];
  snprintf(p, sizeof p, "%s/k_L10.npy", subq_test_kv_dump_dir(dir, sizeof dir, "."));
  if (access(p, R_OK) != 0) {
    printf("SKIP %s: not found\n", p);
    return;
  }
  subq_npy_info_t info;
  CHECK_OK(subq_npy_info(p, &info));
  CHECK(info.dtype == SUBQ_F16 && info.ndim == 3 && info.shape[0] == 3 &&
        info.shape[1] == 2048 && info.shape[2] == 64 && info.data_offset == 128);
  double *a = malloc(3 * 2048 * 64 * sizeof *a);
  CHECK_OK(subq_npy_read_rows(p, &info, 0, 3, a));
  CHECK(a[0] == 0.379638671875 && a[1] == 1.671875 && a[2] == 0.61083984375 &&
        a[3] == 1.5419921875);
  CHECK(a[(2 * 2048 + 2047) * 64 + 63] == 0.7333984375);
  double all = 0, h1 = 0;
  for (size_t i = 0; i < 3 * 2048 * 64; i++) all += a[i];
  CHECK_CLOSE(all, 7743.589578568935, 1e-12);
  /* Token range [100, 200) of head 1 through a (heads*tokens, head_dim) view. */
  subq_npy_info_t v = info;
  v.ndim = 2;
  v.shape[0] = 3 * 2048;
  v.shape[1] = 64;
  float *f = malloc(100 * 64 * sizeof *f);
  CHECK_OK(subq_npy_read_rows_f32(p, &v, 2048 + 100, 2048 + 200, f));
  for (size_t i = 0; i < 100 * 64; i++) h1 += f[i];
  CHECK_CLOSE(h1, 693.0320620536804, 1e-12);
  CHECK(f[0] == (float)a[(2048 + 100) * 64]);
  free(a);
  free(f);
}

int main(int argc, char **argv) {
  subq_init(&argc, &argv);
  fx_tmpdir();
  test_read_dtypes();
  test_errors();
  test_write();
  test_numpy_file();
  fx_rm_rf(fx_dir_);
  CHECK_FINISH();
}
