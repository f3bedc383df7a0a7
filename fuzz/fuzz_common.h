/* Shared helpers of the libFuzzer harnesses (fuzz/README.md).  The readers take file
 * paths (they seek, stat and gunzip), so each input is written to a file in a private
 * directory (under /dev/shm when it exists) and read back through the public API. */
#ifndef SUBQ_FUZZ_COMMON_H
#define SUBQ_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fuzz_dir_[256];

/* A private directory, removed at exit (files written into it are removed too). */
static void fuzz_rm_dir_(void) {
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", fuzz_dir_);
  if (fuzz_dir_[0] && system(cmd) != 0) fprintf(stderr, "fuzz: cannot remove %s\n", fuzz_dir_);
}

static const char *fuzz_dir(void) {
  if (!fuzz_dir_[0]) {
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(fuzz_dir_, sizeof fuzz_dir_, "%s/subq-fuzz-XXXXXX", base);
    if (!mkdtemp(fuzz_dir_)) {
      perror("fuzz: mkdtemp");
      abort();
    }
    atexit(fuzz_rm_dir_);
  }
  return fuzz_dir_;
}

/* Write data[0..size) to <dir>/name; returns the path (static buffer per name slot). */
static const char *fuzz_write(const char *name, const uint8_t *data, size_t size, char *path,
                              size_t cap) {
  snprintf(path, cap, "%s/%s", fuzz_dir(), name);
  FILE *f = fopen(path, "wb");
  if (!f) {
    perror("fuzz: fopen");
    abort();
  }
  if (size && fwrite(data, 1, size, f) != size) abort();
  fclose(f);
  return path;
}

#endif
