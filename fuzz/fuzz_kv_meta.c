/* libFuzzer harness: KV dump meta.json (cJSON + subq_kv_open's checks) in a directory
 * holding a valid tiny dump's arrays (2 query heads, 1 KV head, 8 tokens, head_dim 4,
 * float32, layer 0: q_L0.npy, k_L0.npy, v_L0.npy).  On success, loads every head. */
#include "fuzz_common.h"
#include "subq.h"

static void write_npy_(const char *name, int heads) {
  char path[512];
  size_t shape[3] = {(size_t)heads, 8, 4};
  float v[2 * 8 * 4];
  for (int i = 0; i < heads * 32; i++) v[i] = (float)((i * 37) % 17 - 8) / 8.0f;
  snprintf(path, sizeof path, "%s/%s", fuzz_dir(), name);
  if (subq_npy_write(path, SUBQ_F32, 3, shape, v)) abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  write_npy_("q_L0.npy", 2);
  write_npy_("k_L0.npy", 1);
  write_npy_("v_L0.npy", 1);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[512];
  fuzz_write("meta.json", data, size, path, sizeof path);
  for (int verify = 0; verify < 2; verify++) {
    subq_kv_t *kv = NULL;
    if (subq_kv_open(fuzz_dir(), verify, &kv)) {
      if (kv || !subq_error_message()[0]) abort();
      return 0;
    }
    const subq_kv_meta_t *m = subq_kv_meta(kv);
    double buf[8 * 4];
    for (int l = 0; l < m->n_layers; l++)
      for (int h = 0; h < m->n_q_heads; h++) {
        size_t t1 = m->tokens < 8 ? m->tokens : 8;
        if ((size_t)m->head_dim * t1 <= 32) {
          (void)subq_kv_load(kv, 'q', m->layers[l], h, 0, t1, buf);
          (void)subq_kv_load(kv, 'k', m->layers[l], m->gqa[h], 0, t1, buf);
        }
      }
    subq_kv_close(&kv);
  }
  return 0;
}
