/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <math.h>
#include <immintrin.h>

#include "sm-simd-private.h"
#include "sm-vmath-avx512.h"

/* Element-wise kernels for AVX-512F: 16 floats a step, the tail under a
 * mask (same results as the body, nothing touched past n).  Any alignment;
 * y may equal x. */

void
sm_f32_vact__avx512 (SmActivation  act,
                     const float  *x,
                     float        *y,
                     size_t        n)
{
  size_t i = 0;

  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps (y + i, sm_act_avx512 (act, _mm512_loadu_ps (x + i)));
  if (i < n)
    {
      __mmask16 mask = sm_tail_mask_avx512 (n - i);

      _mm512_mask_storeu_ps (y + i, mask, sm_act_avx512 (act, _mm512_maskz_loadu_ps (mask, x + i)));
    }
}

void
sm_f32_softmax__avx512 (const float *x,
                        float       *y,
                        size_t       n)
{
  __m512 vmax = _mm512_set1_ps (-INFINITY), vsum = _mm512_setzero_ps (), vmaxb, inv;
  size_t i;
  float max;

  if (n == 0)
    return;

  for (i = 0; i + 16 <= n; i += 16)
    vmax = _mm512_max_ps (_mm512_loadu_ps (x + i), vmax);
  if (i < n)
    vmax = _mm512_mask_max_ps (vmax, sm_tail_mask_avx512 (n - i), _mm512_maskz_loadu_ps (sm_tail_mask_avx512 (n - i), x + i), vmax);
  max = _mm512_reduce_max_ps (vmax);

  vmaxb = _mm512_set1_ps (max);
  for (i = 0; i + 16 <= n; i += 16)
    {
      __m512 e = sm_exp_avx512 (_mm512_sub_ps (_mm512_loadu_ps (x + i), vmaxb));

      _mm512_storeu_ps (y + i, e);
      vsum = _mm512_add_ps (vsum, e);
    }
  if (i < n)
    {
      __mmask16 mask = sm_tail_mask_avx512 (n - i);
      __m512 e = _mm512_maskz_mov_ps (mask, sm_exp_avx512 (_mm512_sub_ps (_mm512_maskz_loadu_ps (mask, x + i), vmaxb)));

      _mm512_mask_storeu_ps (y + i, mask, e);
      vsum = _mm512_add_ps (vsum, e);
    }

  /* The maximum contributes exp(0) = 1, so the sum is at least 1. */
  inv = _mm512_set1_ps (1.0f / _mm512_reduce_add_ps (vsum));
  for (i = 0; i + 16 <= n; i += 16)
    _mm512_storeu_ps (y + i, _mm512_mul_ps (_mm512_loadu_ps (y + i), inv));
  if (i < n)
    {
      __mmask16 mask = sm_tail_mask_avx512 (n - i);

      _mm512_mask_storeu_ps (y + i, mask, _mm512_mul_ps (_mm512_maskz_loadu_ps (mask, y + i), inv));
    }
}

float
sm_f32_dot__avx512 (const float *a,
                    const float *b,
                    size_t       n)
{
  __m512 s0 = _mm512_setzero_ps (), s1 = _mm512_setzero_ps ();
  __m512 s2 = _mm512_setzero_ps (), s3 = _mm512_setzero_ps ();
  size_t i = 0;

  for (; i + 64 <= n; i += 64)
    {
      s0 = _mm512_fmadd_ps (_mm512_loadu_ps (a + i), _mm512_loadu_ps (b + i), s0);
      s1 = _mm512_fmadd_ps (_mm512_loadu_ps (a + i + 16), _mm512_loadu_ps (b + i + 16), s1);
      s2 = _mm512_fmadd_ps (_mm512_loadu_ps (a + i + 32), _mm512_loadu_ps (b + i + 32), s2);
      s3 = _mm512_fmadd_ps (_mm512_loadu_ps (a + i + 48), _mm512_loadu_ps (b + i + 48), s3);
    }
  for (; i + 16 <= n; i += 16)
    s0 = _mm512_fmadd_ps (_mm512_loadu_ps (a + i), _mm512_loadu_ps (b + i), s0);
  if (i < n)
    {
      __mmask16 mask = sm_tail_mask_avx512 (n - i);

      s1 = _mm512_fmadd_ps (_mm512_maskz_loadu_ps (mask, a + i), _mm512_maskz_loadu_ps (mask, b + i), s1);
    }

  return _mm512_reduce_add_ps (_mm512_add_ps (_mm512_add_ps (s0, s1), _mm512_add_ps (s2, s3)));
}

void
sm_f32_axpy__avx512 (float        alpha,
                     const float *x,
                     float       *y,
                     size_t       n)
{
  __m512 va = _mm512_set1_ps (alpha);
  size_t i = 0;

  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps (y + i, _mm512_fmadd_ps (va, _mm512_loadu_ps (x + i), _mm512_loadu_ps (y + i)));
  if (i < n)
    {
      __mmask16 mask = sm_tail_mask_avx512 (n - i);

      _mm512_mask_storeu_ps (y + i, mask, _mm512_fmadd_ps (va, _mm512_maskz_loadu_ps (mask, x + i),
                                                           _mm512_maskz_loadu_ps (mask, y + i)));
    }
}

void
sm_f32_add__avx512 (const float *a,
                    const float *b,
                    float       *y,
                    size_t       n)
{
  size_t i = 0;

  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps (y + i, _mm512_add_ps (_mm512_loadu_ps (a + i), _mm512_loadu_ps (b + i)));
  if (i < n)
    {
      __mmask16 mask = sm_tail_mask_avx512 (n - i);

      _mm512_mask_storeu_ps (y + i, mask, _mm512_add_ps (_mm512_maskz_loadu_ps (mask, a + i),
                                                         _mm512_maskz_loadu_ps (mask, b + i)));
    }
}

void
sm_f32_scale__avx512 (float        alpha,
                      const float *x,
                      float       *y,
                      size_t       n)
{
  __m512 va = _mm512_set1_ps (alpha);
  size_t i = 0;

  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps (y + i, _mm512_mul_ps (va, _mm512_loadu_ps (x + i)));
  if (i < n)
    {
      __mmask16 mask = sm_tail_mask_avx512 (n - i);

      _mm512_mask_storeu_ps (y + i, mask, _mm512_mul_ps (va, _mm512_maskz_loadu_ps (mask, x + i)));
    }
}

float
sm_f32_sum__avx512 (const float *x,
                    size_t       n)
{
  __m512 s0 = _mm512_setzero_ps (), s1 = _mm512_setzero_ps ();
  size_t i = 0;

  for (; i + 32 <= n; i += 32)
    {
      s0 = _mm512_add_ps (s0, _mm512_loadu_ps (x + i));
      s1 = _mm512_add_ps (s1, _mm512_loadu_ps (x + i + 16));
    }
  for (; i + 16 <= n; i += 16)
    s0 = _mm512_add_ps (s0, _mm512_loadu_ps (x + i));
  if (i < n)
    s1 = _mm512_add_ps (s1, _mm512_maskz_loadu_ps (sm_tail_mask_avx512 (n - i), x + i));

  return _mm512_reduce_add_ps (_mm512_add_ps (s0, s1));
}

size_t
sm_f32_argmax__avx512 (const float *x,
                       size_t       n,
                       float       *max)
{
  __m512 vmax = _mm512_set1_ps (-INFINITY), vbest;
  float best;
  size_t i;

  /* max_ps returns its second operand when either is NaN: NaNs are skipped. */
  for (i = 0; i + 16 <= n; i += 16)
    vmax = _mm512_max_ps (_mm512_loadu_ps (x + i), vmax);
  best = _mm512_reduce_max_ps (vmax);
  for (; i < n; i++)
    best = x[i] > best ? x[i] : best;

  if (max != NULL)
    *max = best;

  vbest = _mm512_set1_ps (best);
  for (i = 0; i + 16 <= n; i += 16)
    {
      __mmask16 hits = _mm512_cmp_ps_mask (_mm512_loadu_ps (x + i), vbest, _CMP_EQ_OQ);

      if (hits != 0)
        return i + (size_t) __builtin_ctz (hits);
    }
  for (; i < n; i++)
    if (x[i] == best)
      return i;

  return 0;
}

void
sm_f16_to_f32__avx512 (const uint16_t *src,
                       float          *dst,
                       size_t          n)
{
  size_t i = 0;

  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps (dst + i, _mm512_cvtph_ps (_mm256_loadu_si256 ((const void *) (src + i))));
  if (i < n)
    sm_f16_to_f32__generic (src + i, dst + i, n - i);
}

void
sm_bf16_to_f32__avx512 (const uint16_t *src,
                        float          *dst,
                        size_t          n)
{
  size_t i = 0;

  for (; i + 16 <= n; i += 16)
    {
      __m512i wide = _mm512_cvtepu16_epi32 (_mm256_loadu_si256 ((const void *) (src + i)));

      _mm512_storeu_ps (dst + i, _mm512_castsi512_ps (_mm512_slli_epi32 (wide, 16)));
    }
  if (i < n)
    sm_bf16_to_f32__generic (src + i, dst + i, n - i);
}
