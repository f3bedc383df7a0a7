/* subq core (internal): loops compiled for several x86-64 instruction sets. */
#ifndef SUBQ_CORE_SIMD_H
#define SUBQ_CORE_SIMD_H

/* The library is built for baseline x86-64 (SSE2: 2 doubles or 4 floats a vector).  A
 * function marked SUBQ_SIMD_CLONES is compiled for AVX-512F, AVX2 and the baseline and the
 * best one the CPU supports is chosen when the library is loaded (GCC function
 * multiversioning through ifunc).  For the loops that BLAS does not do (softmax rows,
 * NaN/Inf checks of keys).  Elsewhere (clang, other systems) a plain function. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define SUBQ_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define SUBQ_SIMD_CLONES
#endif

#endif
