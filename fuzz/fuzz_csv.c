/* libFuzzer harness: the numeric CSV reader, plain or gzip, through the csv: source. */
#include "fuzz_source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  return fuzz_source_("csv", "x.csv", data, size);
}
