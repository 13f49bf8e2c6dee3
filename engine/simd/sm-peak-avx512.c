/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <immintrin.h>

#include "sm-simd-private.h"

/* The FMA peak with 512-bit vectors: as sm_fma_peak_loop__avx2, 16 lanes. */
uint64_t
sm_fma_peak_loop__avx512 (uint64_t  iterations,
                          float    *sink)
{
  __m512 acc[12];
  const __m512 a = _mm512_set1_ps (0.999999f), b = _mm512_set1_ps (1e-7f);
  __m512 total = _mm512_setzero_ps ();

  for (int i = 0; i < 12; i++)
    acc[i] = _mm512_set1_ps ((float) i);

  for (uint64_t it = 0; it < iterations; it++)
    {
#pragma GCC unroll 12
      for (int i = 0; i < 12; i++)
        acc[i] = _mm512_fmadd_ps (acc[i], a, b);
    }

  for (int i = 0; i < 12; i++)
    total = _mm512_add_ps (total, acc[i]);
  _mm512_storeu_ps (sink, total);

  return iterations * 12 * 16 * 2;
}
