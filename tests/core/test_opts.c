/* Options: defaults, INI sections, command-line overrides, and every error naming the
 * option. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

static const subq_opt_spec_t specs[] = {
    {"config", SUBQ_OPT_STRING, NULL, "", "config", NULL, 0, 0},
    {"n", SUBQ_OPT_INT, "10", "rows", "rows", NULL, 1, 1000},
    {"eps", SUBQ_OPT_REAL, "0.5", "", "eps", NULL, 0, 1},
    {"method", SUBQ_OPT_CHOICE, "qr", "", "method", "qr|gram|sketch", 0, 0},
    {"bits", SUBQ_OPT_LIST, "4,2,2,2", "bits", "bits per level", NULL, 1, 8},
    {"verbose", SUBQ_OPT_FLAG, "0", "", "flag", NULL, 0, 0},
    {"data", SUBQ_OPT_STRING, NULL, "", "data spec", NULL, 0, 0},
    {NULL, 0, NULL, NULL, NULL, NULL, 0, 0}};

static int parse_(int argc, char **argv, subq_opts_t **o) {
  return subq_opts_parse(specs, "job", argc, argv, o);
}

int main(int argc, char **argv) {
  subq_init(&argc, &argv);
  subq_opts_t *o = NULL;
  long n = 0, vals[8];
  double e = 0;
  int f = -1, k = 0;
  const char *s = NULL;
  /* defaults */
  CHECK_OK(parse_(0, NULL, &o));
  CHECK_OK(subq_opts_int(o, "n", &n));
  CHECK(n == 10);
  CHECK_OK(subq_opts_list(o, "bits", vals, 8, &k));
  CHECK(k == 4 && vals[0] == 4 && vals[3] == 2);
  CHECK(!subq_opts_has(o, "data"));
  CHECK_ERR(subq_opts_string(o, "data", &s), SUBQ_ERR_ARG, "--data is required");
  subq_opts_destroy(&o);
  CHECK(o == NULL);
  /* INI file: [job] section, [common], other sections ignored; CLI overrides. */
  const char *ini = "opts_test.ini";
  FILE *fp = fopen(ini, "w");
  fprintf(fp, "[common]\nunrelated = 3\neps = 0.25\n[other]\nzzz = 1\n[job]\nn = 20\nmethod = gram\n");
  fclose(fp);
  char *a1[] = {"--config=opts_test.ini", "--n=30", "--verbose"};
  CHECK_OK(parse_(3, a1, &o));
  CHECK_OK(subq_opts_int(o, "n", &n));
  CHECK(n == 30);
  CHECK_OK(subq_opts_real(o, "eps", &e));
  CHECK(e == 0.25);
  CHECK_OK(subq_opts_string(o, "method", &s));
  CHECK(!strcmp(s, "gram"));
  CHECK_OK(subq_opts_flag(o, "verbose", &f));
  CHECK(f == 1);
  subq_opts_destroy(&o);
  /* errors, each naming the option */
  char *b1[] = {"--nn=3"};
  CHECK_ERR(parse_(1, b1, &o), SUBQ_ERR_ARG, "unknown option --nn");
  char *b2[] = {"--n=abc"};
  CHECK_ERR(parse_(1, b2, &o), SUBQ_ERR_ARG, "--n");
  char *b3[] = {"--n=5000"};
  CHECK_ERR(parse_(1, b3, &o), SUBQ_ERR_ARG, "out of range");
  char *b4[] = {"--method=svd"};
  CHECK_ERR(parse_(1, b4, &o), SUBQ_ERR_ARG, "not one of qr|gram|sketch");
  char *b5[] = {"--bits=4,9"};
  CHECK_ERR(parse_(1, b5, &o), SUBQ_ERR_ARG, "--bits");
  char *b6[] = {"--bits=4,,2"};
  CHECK_ERR(parse_(1, b6, &o), SUBQ_ERR_ARG, "--bits");
  char *b7[] = {"positional"};
  CHECK_ERR(parse_(1, b7, &o), SUBQ_ERR_ARG, "unexpected argument 'positional'");
  char *b8[] = {"--config=/nonexistent/x.ini"};
  CHECK_ERR(parse_(1, b8, &o), SUBQ_ERR_IO, "/nonexistent/x.ini");
  char *b8d[] = {"--config=/"}; /* a directory opens but cannot be read */
  CHECK_ERR(parse_(1, b8d, &o), SUBQ_ERR_IO, "config file '/' is a directory");
  char *b9[] = {"--eps=nan"};
  CHECK_ERR(parse_(1, b9, &o), SUBQ_ERR_ARG, "--eps");
  /* a subnormal value is a finite number (strtod reports ERANGE for it); the smallest
   * subnormal is 2^-1074 = 4.94e-324 (IEEE 754 binary64), so 1e-400 underflows to 0 */
  char *c1[] = {"--eps=1e-320"};
  CHECK_OK(parse_(1, c1, &o));
  CHECK_OK(subq_opts_real(o, "eps", &e));
  CHECK(e > 0 && e < 2.2250738585072014e-308 && fabs(e - 1e-320) <= 4.95e-324);
  subq_opts_destroy(&o);
  char *c2[] = {"--eps=1e-400"};
  CHECK_ERR(parse_(1, c2, &o), SUBQ_ERR_ARG, "option --eps (command line): '1e-400' underflows to 0");
  char *c3[] = {"--eps=1e400"};
  CHECK_ERR(parse_(1, c3, &o), SUBQ_ERR_ARG, "'1e400' is not a finite number");
  char *b10[] = {"--n"};
  CHECK_ERR(parse_(1, b10, &o), SUBQ_ERR_ARG, "needs a value");
  fp = fopen(ini, "w");
  fprintf(fp, "[job]\nbogus = 1\n");
  fclose(fp);
  CHECK_ERR(parse_(1, a1, &o), SUBQ_ERR_ARG, "unknown option --bogus (from opts_test.ini [job])");
  fp = fopen(ini, "w");
  fprintf(fp, "[job]\nn = 2000\n");
  fclose(fp);
  CHECK_ERR(parse_(1, a1, &o), SUBQ_ERR_ARG, "opts_test.ini");
  fp = fopen(ini, "w");
  fprintf(fp, "[job\nn = 2\n");
  fclose(fp);
  CHECK_ERR(parse_(1, a1, &o), SUBQ_ERR_ARG, "syntax error at line 1");
  CHECK(o == NULL);
  remove(ini);
  /* --help is recorded, not an error */
  char *h[] = {"--help"};
  CHECK_OK(parse_(1, h, &o));
  CHECK(subq_opts_help_requested(o));
  subq_opts_destroy(&o);
  CHECK_FINISH();
}
