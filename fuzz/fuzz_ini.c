/* libFuzzer harness: options from an INI config file (inih + subq_opts_parse) for a job
 * with one option of every type, then every getter on success. */
#include "fuzz_common.h"
#include "subq.h"

static const subq_opt_spec_t specs_[] = {
    {"config", SUBQ_OPT_STRING, NULL, "", "config", NULL, 0, 0},
    {"n", SUBQ_OPT_INT, "10", "", "int", NULL, 1, 1000},
    {"k", SUBQ_OPT_INT, NULL, "", "int without range", NULL, 0, 0},
    {"eps", SUBQ_OPT_REAL, "0.5", "", "real", NULL, 0, 1},
    {"name", SUBQ_OPT_STRING, "x", "", "text", NULL, 0, 0},
    {"method", SUBQ_OPT_CHOICE, "qr", "", "choice", "qr|gram|sketch", 0, 0},
    {"verbose", SUBQ_OPT_FLAG, "0", "", "flag", NULL, 0, 0},
    {"bits", SUBQ_OPT_LIST, "4,2", "", "list", NULL, 1, 8},
    {NULL, 0, NULL, NULL, NULL, NULL, 0, 0}};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[512], arg[600];
  fuzz_write("x.ini", data, size, path, sizeof path);
  snprintf(arg, sizeof arg, "--config=%s", path);
  char *argv[] = {arg, "--name=cli"};
  subq_opts_t *o = NULL;
  if (subq_opts_parse(specs_, "job", 2, argv, &o)) {
    if (o || !subq_error_message()[0]) abort();
    return 0;
  }
  long l, vals[8];
  double r;
  const char *s;
  int f, n;
  (void)subq_opts_int(o, "n", &l);
  if (subq_opts_has(o, "k")) (void)subq_opts_int(o, "k", &l);
  (void)subq_opts_real(o, "eps", &r);
  (void)subq_opts_string(o, "name", &s);
  (void)subq_opts_string(o, "method", &s);
  (void)subq_opts_flag(o, "verbose", &f);
  (void)subq_opts_list(o, "bits", vals, 8, &n);
  for (int i = 0; i < subq_opts_count(o); i++) {
    const char *a, *b;
    subq_opts_item(o, i, &a, &b);
  }
  subq_opts_destroy(&o);
  return 0;
}
