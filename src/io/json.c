/* subq io: a small JSON (RFC 8259) object builder for summary.json.
 *
 * Output is indented two spaces per level, keys in insertion order.  Strings are
 * escaped per RFC 8259 section 7: '"' and '\\' with a backslash, \b \f \n \r \t by name,
 * other control characters below 0x20 as \u00XX; other bytes (UTF-8) pass through.
 * Numbers are written with the fewest significant digits (15, 16 or 17, "%.*g") that
 * read back to the same double, so every value round-trips exactly; NaN and +-Inf,
 * which JSON cannot express, become null. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "io/io_internal.h"

#define JSON_MAXDEPTH 32

struct subq_json {
  char *buf; /* the open text: "{" ... without the closing braces */
  size_t len, cap;
  int depth;                          /* open nested objects (0 = only the top level) */
  unsigned char has[JSON_MAXDEPTH + 1]; /* level already has a field */
  unsigned char arr[JSON_MAXDEPTH + 1]; /* level is an array (elements have no keys) */
  char *closed;                       /* text() result */
};

static int reserve(subq_json_t *j, size_t extra) {
  if (j->len + extra + 1 <= j->cap) return 0;
  size_t nc = j->cap ? j->cap : 256;
  while (nc < j->len + extra + 1) {
    SUBQ_CHECK(nc <= SIZE_MAX / 2, SUBQ_ERR_MEM, "JSON text too large");
    nc *= 2;
  }
  char *p = realloc(j->buf, nc);
  SUBQ_CHECK(p, SUBQ_ERR_MEM, "cannot allocate %zu bytes for JSON text", nc);
  j->buf = p;
  j->cap = nc;
  return 0;
}

static int put(subq_json_t *j, const char *s, size_t n) {
  SUBQ_CALL(reserve(j, n));
  memcpy(j->buf + j->len, s, n);
  j->len += n;
  j->buf[j->len] = '\0';
  return 0;
}

static int puts_(subq_json_t *j, const char *s) { return put(j, s, strlen(s)); }

static int put_string(subq_json_t *j, const char *s) {
  SUBQ_CALL(put(j, "\"", 1));
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    char esc[8];
    switch (*p) {
    case '"': SUBQ_CALL(put(j, "\\\"", 2)); break;
    case '\\': SUBQ_CALL(put(j, "\\\\", 2)); break;
    case '\b': SUBQ_CALL(put(j, "\\b", 2)); break;
    case '\f': SUBQ_CALL(put(j, "\\f", 2)); break;
    case '\n': SUBQ_CALL(put(j, "\\n", 2)); break;
    case '\r': SUBQ_CALL(put(j, "\\r", 2)); break;
    case '\t': SUBQ_CALL(put(j, "\\t", 2)); break;
    default:
      if (*p < 0x20) {
        snprintf(esc, sizeof esc, "\\u%04x", *p);
        SUBQ_CALL(put(j, esc, 6));
      } else {
        SUBQ_CALL(put(j, (const char *)p, 1));
      }
    }
  }
  SUBQ_CALL(put(j, "\"", 1));
  return 0;
}

static int put_number(subq_json_t *j, double v) {
  if (!isfinite(v)) return puts_(j, "null");
  char s[40];
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(s, sizeof s, "%.*g", prec, v);
    if (strtod(s, NULL) == v) break;
  }
  return puts_(j, s);
}

static int put_indent(subq_json_t *j, int level) {
  SUBQ_CALL(put(j, "\n", 1));
  for (int i = 0; i < level; i++) SUBQ_CALL(put(j, "  ", 2));
  return 0;
}

/* Separator, indentation and "key": for a new field at the current level (an array
 * element: separator and indentation only).  On failure the text is restored, so a failed
 * call leaves the builder as it was. */
static int put_key(subq_json_t *j, const char *key) {
  if (j->arr[j->depth])
    SUBQ_CHECK(!key, SUBQ_ERR_ARG, "JSON array elements have no key, got '%s'", key);
  else
    SUBQ_CHECK(key, SUBQ_ERR_ARG, "JSON key is NULL (only array elements have none)");
  if (j->has[j->depth]) SUBQ_CALL(put(j, ",", 1));
  SUBQ_CALL(put_indent(j, j->depth + 1));
  if (key) {
    SUBQ_CALL(put_string(j, key));
    SUBQ_CALL(put(j, ": ", 2));
  }
  return 0;
}

/* Run a field writer; on error roll the text back. */
#define FIELD(j, key, body)                                                               \
  do {                                                                                    \
    SUBQ_CHECK(j, SUBQ_ERR_ARG, "JSON builder is NULL");                                  \
    size_t len0_ = (j)->len;                                                              \
    int rc_ = put_key(j, key);                                                            \
    if (!rc_) rc_ = (body);                                                               \
    if (rc_) {                                                                            \
      (j)->len = len0_;                                                                   \
      if ((j)->buf) (j)->buf[len0_] = '\0';                                               \
      return subq_error_trace(rc_, __FILE__, __LINE__, __func__);                         \
    }                                                                                     \
    (j)->has[(j)->depth] = 1;                                                             \
  } while (0)

int subq_json_create(subq_json_t **out) {
  SUBQ_CHECK(out, SUBQ_ERR_ARG, "output pointer is NULL");
  subq_json_t *j = calloc(1, sizeof *j);
  SUBQ_CHECK(j, SUBQ_ERR_MEM, "cannot allocate a JSON builder");
  int rc = put(j, "{", 1);
  if (rc) {
    subq_json_destroy(&j);
    return subq_error_trace(rc, __FILE__, __LINE__, __func__);
  }
  *out = j;
  return 0;
}

void subq_json_destroy(subq_json_t **j) {
  if (!j || !*j) return;
  free((*j)->buf);
  free((*j)->closed);
  free(*j);
  *j = NULL;
}

int subq_json_num(subq_json_t *j, const char *key, double v) {
  FIELD(j, key, put_number(j, v));
  return 0;
}

int subq_json_int(subq_json_t *j, const char *key, long long v) {
  char s[32];
  snprintf(s, sizeof s, "%lld", v);
  FIELD(j, key, puts_(j, s));
  return 0;
}

int subq_json_str(subq_json_t *j, const char *key, const char *v) {
  FIELD(j, key, v ? put_string(j, v) : puts_(j, "null"));
  return 0;
}

int subq_json_bool(subq_json_t *j, const char *key, int v) {
  FIELD(j, key, puts_(j, v ? "true" : "false"));
  return 0;
}

static int put_array(subq_json_t *j, const double *v, size_t n) {
  SUBQ_CHECK(v || n == 0, SUBQ_ERR_ARG, "JSON array values are NULL for n = %zu", n);
  SUBQ_CALL(put(j, "[", 1));
  for (size_t i = 0; i < n; i++) {
    if (i) SUBQ_CALL(put(j, ", ", 2));
    SUBQ_CALL(put_number(j, v[i]));
  }
  SUBQ_CALL(put(j, "]", 1));
  return 0;
}

int subq_json_num_array(subq_json_t *j, const char *key, const double *v, size_t n) {
  FIELD(j, key, put_array(j, v, n));
  return 0;
}

static int open_(subq_json_t *j, const char *key, int array) {
  SUBQ_CHECK(j, SUBQ_ERR_ARG, "JSON builder is NULL");
  SUBQ_CHECK(j->depth < JSON_MAXDEPTH, SUBQ_ERR_ARG, "JSON objects nested deeper than %d "
             "(at key '%s')", JSON_MAXDEPTH, key ? key : "(null)");
  FIELD(j, key, put(j, array ? "[" : "{", 1));
  j->depth++;
  j->has[j->depth] = 0;
  j->arr[j->depth] = (unsigned char)array;
  return 0;
}

static int close_(subq_json_t *j, int array) {
  SUBQ_CHECK(j, SUBQ_ERR_ARG, "JSON builder is NULL");
  SUBQ_CHECK(j->depth > 0 && j->arr[j->depth] == array, SUBQ_ERR_ARG, "%s without a matching %s",
             array ? "subq_json_end_array" : "subq_json_end",
             array ? "subq_json_begin_array" : "subq_json_begin");
  size_t len0 = j->len;
  int rc = j->has[j->depth] ? put_indent(j, j->depth) : 0;
  if (!rc) rc = put(j, array ? "]" : "}", 1);
  if (rc) {
    j->len = len0;
    j->buf[len0] = '\0';
    return subq_error_trace(rc, __FILE__, __LINE__, __func__);
  }
  j->depth--;
  return 0;
}

int subq_json_begin(subq_json_t *j, const char *key) { return open_(j, key, 0); }
int subq_json_end(subq_json_t *j) { return close_(j, 0); }
int subq_json_begin_array(subq_json_t *j, const char *key) { return open_(j, key, 1); }
int subq_json_end_array(subq_json_t *j) { return close_(j, 1); }

const char *subq_json_text(subq_json_t *j) {
  if (!j) return NULL;
  size_t n = j->len + (size_t)(j->depth + 1) * (2 * (size_t)JSON_MAXDEPTH + 2) + 1;
  char *p = realloc(j->closed, n);
  if (!p) return NULL;
  j->closed = p;
  memcpy(p, j->buf, j->len);
  size_t k = j->len;
  for (int d = j->depth; d >= 0; d--) {
    if (j->has[d] || d < j->depth) {
      p[k++] = '\n';
      for (int i = 0; i < d; i++) p[k++] = ' ', p[k++] = ' ';
    }
    p[k++] = j->arr[d] ? ']' : '}';
  }
  p[k] = '\0';
  return p;
}

int subq_json_write(subq_json_t *j, const char *path) {
  SUBQ_CHECK(j && path, SUBQ_ERR_ARG, "JSON builder or path is NULL");
  const char *t = subq_json_text(j);
  SUBQ_CHECK(t, SUBQ_ERR_MEM, "cannot allocate the JSON text for '%s'", path);
  subq_io_atomic_t a;
  SUBQ_CALL(subq_io_atomic_open(path, &a));
  SUBQ_CALL(subq_io_atomic_write(&a, t, strlen(t)));
  SUBQ_CALL(subq_io_atomic_write(&a, "\n", 1));
  SUBQ_CALL(subq_io_atomic_commit(&a));
  return 0;
}
