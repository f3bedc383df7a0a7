/* Shared piece of the dense attention references of the attn tests: one output row from
 * its scores, by the definitions (softmax: exp(s_j - max) / sum; polynomial attention of
 * PolySketchFormer, arXiv 2310.01655 sec. 2: w_j / (1 + sum w)). */
#ifndef SUBQ_TEST_ATTN_REF_H
#define SUBQ_TEST_ATTN_REF_H
#include <math.h>
#include <stddef.h>

/* Row O_i (dv) = sum_{j < last} a_j V_j (V: last x dv row-major, V_j its row j), with
 * a = softmax(w) when softmax (w are logits, mx their maximum; w is overwritten with
 * exp(w - mx)) or a_j = w_j / (1 + sum w) otherwise (w are the polynomial weights). */
static inline void ref_attn_row(double *w, size_t last, int softmax, double mx, const double *V,
                                int dv, double *Oi) {
  double den = softmax ? 0 : 1;
  for (size_t j = 0; j < last; j++) {
    if (softmax) w[j] = exp(w[j] - mx);
    den += w[j];
  }
  for (int c = 0; c < dv; c++) {
    double s = 0;
    for (size_t j = 0; j < last; j++) s += w[j] * V[j * dv + c];
    Oi[c] = s / den;
  }
}

#endif
