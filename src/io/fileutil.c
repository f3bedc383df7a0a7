/* subq io: atomic file writes (temporary name + fsync + rename) and mkdir -p.
 *
 * rename(2) within one directory is atomic on POSIX file systems, so a reader sees
 * either the old file or the complete new one; a killed run leaves at most a
 * "path.tmp.<pid>" file behind, never a half-written result. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "io/io_internal.h"

int subq_io_check_not_dir(const char *path) {
  struct stat st;
  if (path && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
    return SUBQ_FAIL(SUBQ_ERR_IO, "'%s' is a directory (expected a file)", path);
  return SUBQ_OK;
}

int subq_io_fopen_read(const char *path, FILE **f) {
  *f = NULL;
  SUBQ_CALL(subq_io_check_not_dir(path));
  *f = fopen(path, "rb");
  SUBQ_CHECK(*f, SUBQ_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
  return SUBQ_OK;
}

int subq_io_atomic_open(const char *path, subq_io_atomic_t *a) {
  a->f = NULL;
  a->tmp = NULL;
  a->path = path;
  SUBQ_CHECK(path && path[0], SUBQ_ERR_ARG, "output path is NULL or empty");
  size_t n = strlen(path) + 32;
  a->tmp = malloc(n);
  SUBQ_CHECK(a->tmp, SUBQ_ERR_MEM, "cannot allocate %zu bytes for a file name", n);
  snprintf(a->tmp, n, "%s.tmp.%ld", path, (long)getpid());
  a->f = fopen(a->tmp, "wb");
  if (!a->f) {
    int e = errno;
    free(a->tmp);
    a->tmp = NULL;
    return SUBQ_FAIL(SUBQ_ERR_IO, "cannot write '%s' (temporary file '%s.tmp.%ld'): %s", path,
                     path, (long)getpid(), strerror(e));
  }
  return 0;
}

void subq_io_atomic_abort(subq_io_atomic_t *a) {
  if (a->f) fclose(a->f);
  if (a->tmp) unlink(a->tmp);
  free(a->tmp);
  a->f = NULL;
  a->tmp = NULL;
}

int subq_io_atomic_write(subq_io_atomic_t *a, const void *buf, size_t n) {
  if (n == 0) return 0;
  if (fwrite(buf, 1, n, a->f) != n) {
    int e = errno;
    subq_io_atomic_abort(a);
    return SUBQ_FAIL(SUBQ_ERR_IO, "cannot write '%s': %s", a->path, strerror(e));
  }
  return 0;
}

/* fsync the directory holding path so the rename itself is durable; best effort. */
static void sync_parent_dir(const char *path) {
  const char *slash = strrchr(path, '/');
  char *dir = NULL;
  if (!slash) {
    dir = strdup(".");
  } else {
    size_t n = (size_t)(slash - path);
    dir = malloc(n + 2);
    if (dir) {
      memcpy(dir, path, n ? n : 1); /* "/file" -> "/" */
      dir[n ? n : 1] = '\0';
    }
  }
  if (!dir) return;
  int fd = open(dir, O_RDONLY);
  if (fd >= 0) {
    (void)fsync(fd);
    close(fd);
  }
  free(dir);
}

int subq_io_atomic_commit(subq_io_atomic_t *a) {
  int e = 0;
  if (fflush(a->f) != 0 || fsync(fileno(a->f)) != 0) e = errno;
  if (fclose(a->f) != 0 && !e) e = errno;
  a->f = NULL;
  if (!e && rename(a->tmp, a->path) != 0) e = errno;
  if (e) {
    subq_io_atomic_abort(a);
    return SUBQ_FAIL(SUBQ_ERR_IO, "cannot write '%s': %s", a->path, strerror(e));
  }
  free(a->tmp);
  a->tmp = NULL;
  sync_parent_dir(a->path);
  return 0;
}

int subq_file_write_atomic(const char *path, const void *buf, size_t n) {
  subq_io_atomic_t a;
  SUBQ_CHECK(buf || n == 0, SUBQ_ERR_ARG, "buffer is NULL for %zu bytes to '%s'", n,
             path ? path : "(null)");
  SUBQ_CALL(subq_io_atomic_open(path, &a));
  SUBQ_CALL(subq_io_atomic_write(&a, buf, n));
  SUBQ_CALL(subq_io_atomic_commit(&a));
  return 0;
}

int subq_mkdir_p(const char *path) {
  SUBQ_CHECK(path && path[0], SUBQ_ERR_ARG, "directory path is NULL or empty");
  size_t n = strlen(path);
  char *p = malloc(n + 1);
  SUBQ_CHECK(p, SUBQ_ERR_MEM, "cannot allocate %zu bytes for a path", n + 1);
  memcpy(p, path, n + 1);
  /* Create each prefix ending before a '/', then the whole path. */
  for (size_t i = 1; i <= n; i++) {
    if (i < n && p[i] != '/') continue;
    if (i < n && p[i - 1] == '/') continue; /* "a//b" */
    char c = p[i];
    p[i] = '\0';
    if (mkdir(p, 0777) != 0) {
      int e = errno;
      struct stat st;
      if (e != EEXIST || stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) {
        int rc = SUBQ_FAIL(SUBQ_ERR_IO, "cannot create directory '%s' (at '%s'): %s", path, p,
                           e == EEXIST ? "exists and is not a directory" : strerror(e));
        free(p);
        return rc;
      }
    }
    p[i] = c;
  }
  free(p);
  return 0;
}
