/* Checked, aligned allocation and peak memory. */
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "subq/core.h"

int subq_size_mul(size_t a, size_t b, size_t *out) {
  if (a != 0 && b > SIZE_MAX / a) {
    return SUBQ_FAIL(SUBQ_ERR_MEM, "size overflow: %zu x %zu elements", a, b);
  }
  *out = a * b;
  return SUBQ_OK;
}

int subq_malloc(size_t n, size_t size, void *out_ptr) {
  void **out = (void **)out_ptr;
  size_t bytes = 0;
  *out = NULL;
  SUBQ_CALL(subq_size_mul(n, size, &bytes));
  if (bytes == 0) bytes = 64;
  size_t rounded = (bytes + 63) / 64 * 64;
  if (rounded < bytes) return SUBQ_FAIL(SUBQ_ERR_MEM, "size overflow: %zu bytes", bytes);
  void *p = aligned_alloc(64, rounded);
  if (!p) return SUBQ_FAIL(SUBQ_ERR_MEM, "cannot allocate %zu bytes", bytes);
  *out = p;
  return SUBQ_OK;
}

int subq_calloc(size_t n, size_t size, void *out_ptr) {
  SUBQ_CALL(subq_malloc(n, size, out_ptr));
  memset(*(void **)out_ptr, 0, n * size);
  return SUBQ_OK;
}

void subq_free(void *pp) {
  void **p = (void **)pp;
  if (!p) return;
  free(*p);
  *p = NULL;
}

size_t subq_peak_rss_bytes(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
  return (size_t)ru.ru_maxrss * 1024u; /* Linux reports KiB */
}
