/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <immintrin.h>

#include "sm-simd-private.h"

/* The machine's FMA peak, measured: twelve independent accumulator chains
 * (enough to cover 2 FMA ports × 4-6 cycles of latency on current x86
 * cores), 8 lanes each.  Returns the FLOPs executed; the result goes
 * through @sink so that the loop cannot be optimised away. */
uint64_t
sm_fma_peak_loop__avx2 (uint64_t  iterations,
                        float    *sink)
{
  __m256 acc[12];
  const __m256 a = _mm256_set1_ps (0.999999f), b = _mm256_set1_ps (1e-7f);
  __m256 total = _mm256_setzero_ps ();

  for (int i = 0; i < 12; i++)
    acc[i] = _mm256_set1_ps ((float) i);

  for (uint64_t it = 0; it < iterations; it++)
    {
#pragma GCC unroll 12
      for (int i = 0; i < 12; i++)
        acc[i] = _mm256_fmadd_ps (acc[i], a, b);
    }

  for (int i = 0; i < 12; i++)
    total = _mm256_add_ps (total, acc[i]);
  _mm256_storeu_ps (sink, total);

  return iterations * 12 * 8 * 2;
}
