/* libFuzzer harness: the .npy reader (subq_npy_info, subq_npy_read_rows[_f32]).  Any
 * input must give 0 or an error code with a message, never a crash, leak or UB.  Reads
 * are bounded to the first and last 64 rows (at most 2^16 elements each). */
#include "fuzz_common.h"
#include "subq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[512];
  fuzz_write("x.npy", data, size, path, sizeof path);
  subq_npy_info_t info;
  if (subq_npy_info(path, &info)) {
    if (!subq_error_message()[0]) abort(); /* every error has a message */
    return 0;
  }
  if (info.ndim < 1 || info.shape[0] == 0) {
    double dummy;
    (void)subq_npy_read_rows(path, &info, 0, 0, &dummy);
    return 0;
  }
  size_t rowlen = 1;
  for (int i = 1; i < info.ndim; i++) rowlen *= info.shape[i];
  if (rowlen == 0 || rowlen > 1024) return 0;
  size_t rows = info.shape[0], m = rows < 64 ? rows : 64;
  double *d = malloc(m * rowlen * sizeof *d);
  float *f = malloc(m * rowlen * sizeof *f);
  if (d && f) {
    (void)subq_npy_read_rows(path, &info, 0, m, d);
    (void)subq_npy_read_rows_f32(path, &info, rows - m, rows, f);
    (void)subq_npy_read_rows(path, &info, rows, rows + 1, d); /* out of range: an error */
  }
  free(d);
  free(f);
  return 0;
}
