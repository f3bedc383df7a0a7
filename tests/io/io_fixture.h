/* Fixture helpers for the io tests: a private temporary directory per rank and
 * hand-assembled files (raw bytes; .npy headers written out by hand per NEP 1). */
#ifndef SUBQ_TEST_IO_FIXTURE_H
#define SUBQ_TEST_IO_FIXTURE_H
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fx_dir_[256];

/* mkdtemp under $TMPDIR or /tmp; returns the directory. */
static const char *fx_tmpdir(void) {
  const char *t = getenv("TMPDIR");
  snprintf(fx_dir_, sizeof fx_dir_, "%s/subq_io_XXXXXX", t && t[0] ? t : "/tmp");
  if (!mkdtemp(fx_dir_)) {
    perror("mkdtemp");
    exit(2);
  }
  return fx_dir_;
}

static inline void fx_rm_rf(const char *dir) {
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

/* path = dir/name (static buffer rotation of 8 so several can be live). */
static const char *fx_path(const char *name) {
  static char bufs[8][400];
  static int k = 0;
  char *b = bufs[k++ & 7];
  snprintf(b, 400, "%s/%s", fx_dir_, name);
  return b;
}

static inline void fx_write(const char *path, const void *a, size_t na, const void *b, size_t nb) {
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(a, 1, na, f) != na || (nb && fwrite(b, 1, nb, f) != nb)) {
    perror(path);
    exit(2);
  }
  fclose(f);
}

/* A .npy file: magic, version major.0, header length (2 bytes for v1, 4 for v2/v3),
 * the dict text padded with spaces + '\n' to a multiple of 64, then nbytes of data. */
static inline void fx_npy(const char *path, int major, const char *dict, const void *data,
                   size_t nbytes) {
  unsigned char h[1024];
  size_t pre = major == 1 ? 10 : 12, dl = strlen(dict);
  size_t total = (pre + dl + 1 + 63) / 64 * 64, hlen = total - pre;
  memcpy(h, "\x93NUMPY", 6);
  h[6] = (unsigned char)major;
  h[7] = 0;
  for (size_t i = 0; i < pre - 8; i++) h[8 + i] = (unsigned char)(hlen >> (8 * i));
  memcpy(h + pre, dict, dl);
  memset(h + pre + dl, ' ', hlen - dl - 1);
  h[total - 1] = '\n';
  fx_write(path, h, total, data, nbytes);
}

static inline size_t fx_read(const char *path, void *buf, size_t cap) {
  FILE *f = fopen(path, "rb");
  if (!f) return 0;
  size_t n = fread(buf, 1, cap, f);
  fclose(f);
  return n;
}

/* Number of entries in dir whose name contains ".tmp." (leftover temporaries). */
static inline int fx_count_tmp(const char *dir) {
  DIR *d = opendir(dir);
  int n = 0;
  struct dirent *e;
  if (!d) return -1;
  while ((e = readdir(d)))
    if (strstr(e->d_name, ".tmp.")) n++;
  closedir(d);
  return n;
}
#endif
