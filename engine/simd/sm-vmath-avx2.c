/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <math.h>
#include <immintrin.h>

#include "sm-simd-private.h"
#include "sm-vmath-avx2.h"

/* Element-wise kernels for AVX2+FMA: 8 floats a step, the tail through
 * masked loads and stores so that it gives the same results as the body
 * and never touches memory past n.  Any alignment; y may equal x. */

void
sm_f32_vact__avx2 (SmActivation  act,
                   const float  *x,
                   float        *y,
                   size_t        n)
{
  size_t i = 0;

  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps (y + i, sm_act_avx2 (act, _mm256_loadu_ps (x + i)));
  if (i < n)
    {
      __m256i mask = sm_tail_mask_avx2 (n - i);

      _mm256_maskstore_ps (y + i, mask, sm_act_avx2 (act, _mm256_maskload_ps (x + i, mask)));
    }
}

void
sm_f32_softmax__avx2 (const float *x,
                      float       *y,
                      size_t       n)
{
  __m256 vmax = _mm256_set1_ps (-INFINITY), vsum = _mm256_setzero_ps (), vmaxb, inv;
  size_t i;
  float max, sum;

  if (n == 0)
    return;

  for (i = 0; i + 8 <= n; i += 8)
    vmax = _mm256_max_ps (_mm256_loadu_ps (x + i), vmax);
  max = sm_hmax_avx2 (vmax);
  for (; i < n; i++)
    max = x[i] > max ? x[i] : max;

  vmaxb = _mm256_set1_ps (max);
  for (i = 0; i + 8 <= n; i += 8)
    {
      __m256 e = sm_exp_avx2 (_mm256_sub_ps (_mm256_loadu_ps (x + i), vmaxb));

      _mm256_storeu_ps (y + i, e);
      vsum = _mm256_add_ps (vsum, e);
    }
  if (i < n)
    {
      __m256i mask = sm_tail_mask_avx2 (n - i);
      __m256 e = sm_exp_avx2 (_mm256_sub_ps (_mm256_maskload_ps (x + i, mask), vmaxb));

      e = _mm256_and_ps (e, _mm256_castsi256_ps (mask));
      _mm256_maskstore_ps (y + i, mask, e);
      vsum = _mm256_add_ps (vsum, e);
    }
  sum = sm_hsum_avx2 (vsum);

  /* The maximum contributes exp(0) = 1, so sum ≥ 1. */
  inv = _mm256_set1_ps (1.0f / sum);
  for (i = 0; i + 8 <= n; i += 8)
    _mm256_storeu_ps (y + i, _mm256_mul_ps (_mm256_loadu_ps (y + i), inv));
  for (; i < n; i++)
    y[i] *= 1.0f / sum;
}

float
sm_f32_dot__avx2 (const float *a,
                  const float *b,
                  size_t       n)
{
  __m256 s0 = _mm256_setzero_ps (), s1 = _mm256_setzero_ps ();
  __m256 s2 = _mm256_setzero_ps (), s3 = _mm256_setzero_ps ();
  size_t i = 0;

  /* Four accumulators: the FMA latency, not the loads, bounds one. */
  for (; i + 32 <= n; i += 32)
    {
      s0 = _mm256_fmadd_ps (_mm256_loadu_ps (a + i), _mm256_loadu_ps (b + i), s0);
      s1 = _mm256_fmadd_ps (_mm256_loadu_ps (a + i + 8), _mm256_loadu_ps (b + i + 8), s1);
      s2 = _mm256_fmadd_ps (_mm256_loadu_ps (a + i + 16), _mm256_loadu_ps (b + i + 16), s2);
      s3 = _mm256_fmadd_ps (_mm256_loadu_ps (a + i + 24), _mm256_loadu_ps (b + i + 24), s3);
    }
  for (; i + 8 <= n; i += 8)
    s0 = _mm256_fmadd_ps (_mm256_loadu_ps (a + i), _mm256_loadu_ps (b + i), s0);
  if (i < n)
    {
      __m256i mask = sm_tail_mask_avx2 (n - i);

      s1 = _mm256_fmadd_ps (_mm256_maskload_ps (a + i, mask), _mm256_maskload_ps (b + i, mask), s1);
    }

  return sm_hsum_avx2 (_mm256_add_ps (_mm256_add_ps (s0, s1), _mm256_add_ps (s2, s3)));
}

void
sm_f32_axpy__avx2 (float        alpha,
                   const float *x,
                   float       *y,
                   size_t       n)
{
  __m256 va = _mm256_set1_ps (alpha);
  size_t i = 0;

  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps (y + i, _mm256_fmadd_ps (va, _mm256_loadu_ps (x + i), _mm256_loadu_ps (y + i)));
  if (i < n)
    {
      __m256i mask = sm_tail_mask_avx2 (n - i);

      _mm256_maskstore_ps (y + i, mask, _mm256_fmadd_ps (va, _mm256_maskload_ps (x + i, mask),
                                                         _mm256_maskload_ps (y + i, mask)));
    }
}

void
sm_f32_add__avx2 (const float *a,
                  const float *b,
                  float       *y,
                  size_t       n)
{
  size_t i = 0;

  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps (y + i, _mm256_add_ps (_mm256_loadu_ps (a + i), _mm256_loadu_ps (b + i)));
  if (i < n)
    {
      __m256i mask = sm_tail_mask_avx2 (n - i);

      _mm256_maskstore_ps (y + i, mask, _mm256_add_ps (_mm256_maskload_ps (a + i, mask),
                                                       _mm256_maskload_ps (b + i, mask)));
    }
}

void
sm_f32_scale__avx2 (float        alpha,
                    const float *x,
                    float       *y,
                    size_t       n)
{
  __m256 va = _mm256_set1_ps (alpha);
  size_t i = 0;

  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps (y + i, _mm256_mul_ps (va, _mm256_loadu_ps (x + i)));
  if (i < n)
    {
      __m256i mask = sm_tail_mask_avx2 (n - i);

      _mm256_maskstore_ps (y + i, mask, _mm256_mul_ps (va, _mm256_maskload_ps (x + i, mask)));
    }
}

float
sm_f32_sum__avx2 (const float *x,
                  size_t       n)
{
  __m256 s0 = _mm256_setzero_ps (), s1 = _mm256_setzero_ps ();
  size_t i = 0;

  for (; i + 16 <= n; i += 16)
    {
      s0 = _mm256_add_ps (s0, _mm256_loadu_ps (x + i));
      s1 = _mm256_add_ps (s1, _mm256_loadu_ps (x + i + 8));
    }
  for (; i + 8 <= n; i += 8)
    s0 = _mm256_add_ps (s0, _mm256_loadu_ps (x + i));
  if (i < n)
    s1 = _mm256_add_ps (s1, _mm256_maskload_ps (x + i, sm_tail_mask_avx2 (n - i)));

  return sm_hsum_avx2 (_mm256_add_ps (s0, s1));
}

size_t
sm_f32_argmax__avx2 (const float *x,
                     size_t       n,
                     float       *max)
{
  __m256 vmax = _mm256_set1_ps (-INFINITY), vbest;
  float best;
  size_t i;

  /* max_ps returns its second operand when either is NaN: NaNs in x are
   * skipped, as the contract says. */
  for (i = 0; i + 8 <= n; i += 8)
    vmax = _mm256_max_ps (_mm256_loadu_ps (x + i), vmax);
  best = sm_hmax_avx2 (vmax);
  for (; i < n; i++)
    best = x[i] > best ? x[i] : best;

  if (max != NULL)
    *max = best;

  vbest = _mm256_set1_ps (best);
  for (i = 0; i + 8 <= n; i += 8)
    {
      int hits = _mm256_movemask_ps (_mm256_cmp_ps (_mm256_loadu_ps (x + i), vbest, _CMP_EQ_OQ));

      if (hits != 0)
        return i + (size_t) __builtin_ctz ((unsigned) hits);
    }
  for (; i < n; i++)
    if (x[i] == best)
      return i;

  return 0;
}

/* F16C converts exactly, subnormals, infinities and NaNs included. */
void
sm_f16_to_f32__avx2 (const uint16_t *src,
                     float          *dst,
                     size_t          n)
{
  size_t i = 0;

  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps (dst + i, _mm256_cvtph_ps (_mm_loadu_si128 ((const void *) (src + i))));
  if (i < n)
    sm_f16_to_f32__generic (src + i, dst + i, n - i);
}

void
sm_bf16_to_f32__avx2 (const uint16_t *src,
                      float          *dst,
                      size_t          n)
{
  size_t i = 0;

  for (; i + 8 <= n; i += 8)
    {
      __m256i wide = _mm256_cvtepu16_epi32 (_mm_loadu_si128 ((const void *) (src + i)));

      _mm256_storeu_ps (dst + i, _mm256_castsi256_ps (_mm256_slli_epi32 (wide, 16)));
    }
  if (i < n)
    sm_bf16_to_f32__generic (src + i, dst + i, n - i);
}
