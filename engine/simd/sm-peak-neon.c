/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <arm_neon.h>

#include "sm-simd-private.h"

/* The FMA peak with 128-bit NEON vectors: as sm_fma_peak_loop__avx2, with
 * twelve chains of 4 lanes (enough for 4 FMA pipes on current cores). */
uint64_t
sm_fma_peak_loop__neon (uint64_t  iterations,
                        float    *sink)
{
  float32x4_t acc[12];
  const float32x4_t a = vdupq_n_f32 (0.999999f), b = vdupq_n_f32 (1e-7f);
  float32x4_t total = vdupq_n_f32 (0.0f);

  for (int i = 0; i < 12; i++)
    acc[i] = vdupq_n_f32 ((float) i);

  for (uint64_t it = 0; it < iterations; it++)
    {
#pragma GCC unroll 12
      for (int i = 0; i < 12; i++)
        acc[i] = vfmaq_f32 (b, acc[i], a);
    }

  for (int i = 0; i < 12; i++)
    total = vaddq_f32 (total, acc[i]);
  vst1q_f32 (sink, total);

  return iterations * 12 * 4 * 2;
}
