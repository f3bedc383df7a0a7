/* The body of the IDX and CSV harnesses: open a data source on the fuzzed file and read
 * its first and last rows (bounded).  KIND is "idx" or "csv". */
#include "fuzz_common.h"
#include "subq.h"

static int fuzz_source_(const char *kind, const char *file, const uint8_t *data, size_t size) {
  char path[512], spec[600];
  fuzz_write(file, data, size, path, sizeof path);
  snprintf(spec, sizeof spec, "%s:%s", kind, path);
  subq_source_t *s = NULL;
  if (subq_source_open(spec, &s)) {
    if (s || !subq_error_message()[0]) abort();
    return 0;
  }
  size_t rows = subq_source_rows(s), cols = subq_source_cols(s);
  if (rows == 0 || cols == 0) abort(); /* documented: sources have rows and columns */
  size_t m = rows < 16 ? rows : 16;
  if (cols <= 4096) {
    double *buf = malloc(m * cols * sizeof *buf);
    if (buf) {
      (void)subq_source_read(s, 0, m, buf);
      (void)subq_source_read(s, rows - m, rows, buf);
    }
    free(buf);
  }
  (void)subq_source_describe(s);
  subq_source_close(&s);
  return 0;
}
