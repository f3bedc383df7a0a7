/* JSON builder (RFC 8259 escaping, nesting, NaN/Inf -> null, exact numbers), atomic
 * file writes and mkdir -p.  Expected texts are written out by hand. */
#include <float.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "io_fixture.h"

static void test_json(void) {
  subq_json_t *j = NULL;
  CHECK_OK(subq_json_create(&j));
  CHECK(!strcmp(subq_json_text(j), "{}"));
  CHECK_OK(subq_json_str(j, "s", "a\"b\\c\nd\te\x01" "f/\xc3\xa9"));
  CHECK_OK(subq_json_num(j, "pi", 3.141592653589793));
  CHECK_OK(subq_json_num(j, "tenth", 0.1));
  CHECK_OK(subq_json_num(j, "third", 1.0 / 3.0));
  CHECK_OK(subq_json_num(j, "tiny", 5e-324)); /* 15 digits already read back exactly */
  CHECK_OK(subq_json_num(j, "nan", NAN));
  CHECK_OK(subq_json_num(j, "inf", -INFINITY));
  CHECK_OK(subq_json_int(j, "big", -9007199254740993LL));
  CHECK_OK(subq_json_bool(j, "yes", 1));
  CHECK_OK(subq_json_str(j, "nul", NULL));
  CHECK_OK(subq_json_begin(j, "opts"));
  CHECK_OK(subq_json_int(j, "ranks", 2));
  CHECK_OK(subq_json_begin(j, "empty"));
  CHECK_OK(subq_json_end(j));
  double arr[4] = {1.5, NAN, -2, INFINITY};
  CHECK_OK(subq_json_num_array(j, "a", arr, 4));
  CHECK_OK(subq_json_num_array(j, "e", NULL, 0));
  /* text() closes the open object without ending it */
  const char *open_text = "{\n"
                          "  \"s\": \"a\\\"b\\\\c\\nd\\te\\u0001f/\xc3\xa9\",\n"
                          "  \"pi\": 3.141592653589793,\n"
                          "  \"tenth\": 0.1,\n"
                          "  \"third\": 0.3333333333333333,\n"
                          "  \"tiny\": 4.94065645841247e-324,\n"
                          "  \"nan\": null,\n"
                          "  \"inf\": null,\n"
                          "  \"big\": -9007199254740993,\n"
                          "  \"yes\": true,\n"
                          "  \"nul\": null,\n"
                          "  \"opts\": {\n"
                          "    \"ranks\": 2,\n"
                          "    \"empty\": {},\n"
                          "    \"a\": [1.5, null, -2, null],\n"
                          "    \"e\": []\n"
                          "  }\n"
                          "}";
  CHECK(!strcmp(subq_json_text(j), open_text));
  if (strcmp(subq_json_text(j), open_text)) fprintf(stderr, "%s\n", subq_json_text(j));
  CHECK_OK(subq_json_end(j));
  CHECK(!strcmp(subq_json_text(j), open_text));
  CHECK_OK(subq_json_bool(j, "last", 0));
  CHECK(strstr(subq_json_text(j), "  },\n  \"last\": false\n}") != NULL);
  CHECK_ERR(subq_json_end(j), SUBQ_ERR_ARG, "without a matching");
  CHECK_ERR(subq_json_num(j, NULL, 1), SUBQ_ERR_ARG, "key is NULL");
  CHECK(strstr(subq_json_text(j), "\"last\": false\n}") != NULL); /* unchanged by the error */
  CHECK_ERR(subq_json_num(NULL, "x", 1), SUBQ_ERR_ARG, "NULL");

  const char *p = fx_path("summary.json");
  CHECK_OK(subq_json_write(j, p));
  char buf[4096];
  size_t n = fx_read(p, buf, sizeof buf - 1);
  buf[n] = '\0';
  CHECK(n == strlen(subq_json_text(j)) + 1 && buf[n - 1] == '\n');
  CHECK(!strncmp(buf, subq_json_text(j), n - 1));
  CHECK(fx_count_tmp(fx_dir_) == 0);
  p = fx_path("nodir/summary.json");
  CHECK_ERR(subq_json_write(j, p), SUBQ_ERR_IO, p);
  subq_json_destroy(&j);
  CHECK(j == NULL);
  subq_json_destroy(&j);
  subq_json_destroy(NULL);

  /* Deep nesting is bounded */
  CHECK_OK(subq_json_create(&j));
  int rc = 0;
  for (int i = 0; i < 40 && !rc; i++) rc = subq_json_begin(j, "d");
  CHECK(rc == SUBQ_ERR_ARG);
  subq_json_destroy(&j);
}

static void test_files(void) {
  const char *p = fx_path("a.txt");
  CHECK_OK(subq_file_write_atomic(p, "hello", 5));
  CHECK_OK(subq_file_write_atomic(p, "bye", 3)); /* replaces */
  char buf[16] = {0};
  CHECK(fx_read(p, buf, sizeof buf) == 3 && !memcmp(buf, "bye", 3));
  CHECK_OK(subq_file_write_atomic(fx_path("empty"), NULL, 0));
  CHECK(fx_count_tmp(fx_dir_) == 0);
  p = fx_path("no/such/dir/a.txt");
  CHECK_ERR(subq_file_write_atomic(p, "x", 1), SUBQ_ERR_IO, p);

  struct stat st;
  p = fx_path("x/y//z/");
  CHECK_OK(subq_mkdir_p(p));
  CHECK(stat(fx_path("x/y/z"), &st) == 0 && S_ISDIR(st.st_mode));
  CHECK_OK(subq_mkdir_p(p)); /* exists: fine */
  CHECK_OK(subq_mkdir_p(fx_dir_));
  CHECK_OK(subq_file_write_atomic(fx_path("x/y/z/out.npy.json"), "{}", 2));
  p = fx_path("a.txt/sub");
  CHECK_ERR(subq_mkdir_p(p), SUBQ_ERR_IO, p);
  CHECK_ERR(subq_mkdir_p(""), SUBQ_ERR_ARG, "empty");
}

/* Arrays of values and of anonymous objects (summary.json's per_layer lists), exact text. */
static void test_json_arrays(void) {
  subq_json_t *j = NULL;
  CHECK_OK(subq_json_create(&j));
  CHECK_OK(subq_json_begin_array(j, "per_layer"));
  CHECK(!strcmp(subq_json_text(j), "{\n  \"per_layer\": []\n}")); /* closed while open */
  for (int l = 0; l < 2; l++) {
    CHECK_OK(subq_json_begin(j, NULL));
    CHECK_OK(subq_json_int(j, "layer", 10 * l));
    CHECK_OK(subq_json_num(j, "err", 0.5 + l));
    CHECK_OK(subq_json_end(j));
  }
  CHECK_ERR(subq_json_int(j, "layer", 1), SUBQ_ERR_ARG, "have no key");
  CHECK_ERR(subq_json_end(j), SUBQ_ERR_ARG, "without a matching subq_json_begin");
  CHECK_OK(subq_json_begin_array(j, NULL)); /* nested array of numbers */
  CHECK_OK(subq_json_num(j, NULL, 1));
  CHECK_OK(subq_json_num(j, NULL, NAN));
  CHECK_OK(subq_json_end_array(j));
  CHECK_OK(subq_json_begin_array(j, NULL));
  CHECK_OK(subq_json_end_array(j));
  CHECK_OK(subq_json_end_array(j));
  CHECK_ERR(subq_json_end_array(j), SUBQ_ERR_ARG, "without a matching");
  CHECK_OK(subq_json_begin(j, "o"));
  CHECK_ERR(subq_json_end_array(j), SUBQ_ERR_ARG, "without a matching");
  CHECK_ERR(subq_json_num(j, NULL, 1), SUBQ_ERR_ARG, "key is NULL");
  CHECK_OK(subq_json_end(j));
  static const char want[] =
      "{\n"
      "  \"per_layer\": [\n"
      "    {\n"
      "      \"layer\": 0,\n"
      "      \"err\": 0.5\n"
      "    },\n"
      "    {\n"
      "      \"layer\": 10,\n"
      "      \"err\": 1.5\n"
      "    },\n"
      "    [\n"
      "      1,\n"
      "      null\n"
      "    ],\n"
      "    []\n"
      "  ],\n"
      "  \"o\": {}\n"
      "}";
  CHECK(!strcmp(subq_json_text(j), want));
  if (strcmp(subq_json_text(j), want)) fprintf(stderr, "%s\n", subq_json_text(j));
  subq_json_destroy(&j);
}

int main(int argc, char **argv) {
  subq_init(&argc, &argv);
  fx_tmpdir();
  test_json();
  test_json_arrays();
  test_files();
  fx_rm_rf(fx_dir_);
  CHECK_FINISH();
}
