/* libFuzzer harness: the IDX reader, plain or gzip (zlib detects the format), through
 * the idx: data source. */
#include "fuzz_source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  return fuzz_source_("idx", "x.idx", data, size);
}
