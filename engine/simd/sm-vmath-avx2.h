/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Vector elementary functions for AVX2+FMA, shared by the GEMM epilogue and
 * the element-wise kernels.  Only for files built with -mavx2 -mfma. */

#include <immintrin.h>

#include "sm-kernels.h"
#include "sm-vmath-generic.h"

/* exp(x), about 1 ulp over the whole float range: x = n·ln2 + r with a
 * two-part ln2 (Cody–Waite), exp(r) by its degree-7 Taylor polynomial
 * (|r| ≤ ln2/2, truncation < 2^-27), then 2^n applied in two halves so
 * that results down to the subnormals and up to overflow are right.  The
 * clamp keeps NaN (min/max return their second operand on NaN). */
static inline __m256
sm_exp_avx2 (__m256 x)
{
  const __m256 log2e = _mm256_set1_ps (SM_EXP_LOG2E);
  const __m256 ln2_hi = _mm256_set1_ps (SM_EXP_LN2_HI);
  const __m256 ln2_lo = _mm256_set1_ps (SM_EXP_LN2_LO);
  __m256 n, r, p;
  __m256i ni, n1, n2;

  x = _mm256_min_ps (_mm256_set1_ps (SM_EXP_X_MAX), x);
  x = _mm256_max_ps (_mm256_set1_ps (SM_EXP_X_MIN), x);

  n = _mm256_round_ps (_mm256_mul_ps (x, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  r = _mm256_fnmadd_ps (n, ln2_hi, x);
  r = _mm256_fnmadd_ps (n, ln2_lo, r);

  p = _mm256_set1_ps (1.0f / 5040.0f);
  p = _mm256_fmadd_ps (p, r, _mm256_set1_ps (1.0f / 720.0f));
  p = _mm256_fmadd_ps (p, r, _mm256_set1_ps (1.0f / 120.0f));
  p = _mm256_fmadd_ps (p, r, _mm256_set1_ps (1.0f / 24.0f));
  p = _mm256_fmadd_ps (p, r, _mm256_set1_ps (1.0f / 6.0f));
  p = _mm256_fmadd_ps (p, r, _mm256_set1_ps (0.5f));
  p = _mm256_fmadd_ps (p, r, _mm256_set1_ps (1.0f));
  p = _mm256_fmadd_ps (p, r, _mm256_set1_ps (1.0f));

  ni = _mm256_cvtps_epi32 (n);
  n1 = _mm256_srai_epi32 (ni, 1);
  n2 = _mm256_sub_epi32 (ni, n1);
  n1 = _mm256_slli_epi32 (_mm256_add_epi32 (n1, _mm256_set1_epi32 (127)), 23);
  n2 = _mm256_slli_epi32 (_mm256_add_epi32 (n2, _mm256_set1_epi32 (127)), 23);

  return _mm256_mul_ps (_mm256_mul_ps (p, _mm256_castsi256_ps (n1)), _mm256_castsi256_ps (n2));
}

/* 1 / (1 + exp(-x)), with a true division: no reciprocal estimate. */
static inline __m256
sm_sigmoid_avx2 (__m256 x)
{
  const __m256 one = _mm256_set1_ps (1.0f);
  __m256 e = sm_exp_avx2 (_mm256_xor_ps (x, _mm256_set1_ps (-0.0f)));

  return _mm256_div_ps (one, _mm256_add_ps (one, e));
}

/* sign(x) · (1 − 2 / (exp(2|x|) + 1)): absolute error near 1e-7 everywhere,
 * exactly ±1 once exp overflows, and -0 stays -0. */
static inline __m256
sm_tanh_avx2 (__m256 x)
{
  const __m256 sign_mask = _mm256_set1_ps (-0.0f);
  const __m256 one = _mm256_set1_ps (1.0f);
  __m256 ax = _mm256_andnot_ps (sign_mask, x);
  __m256 e = sm_exp_avx2 (_mm256_add_ps (ax, ax));
  __m256 t = _mm256_sub_ps (one, _mm256_div_ps (_mm256_set1_ps (2.0f), _mm256_add_ps (e, one)));

  return _mm256_or_ps (t, _mm256_and_ps (x, sign_mask));
}

/* x · sigmoid(2z), z = √(2/π)(x + 0.044715 x³): the tanh form of GELU without
 * the cancellation of 1 + tanh for negative x; clamped below as the scalar
 * version is (SM_GELU_LOW), keeping NaN. */
static inline __m256
sm_gelu_avx2 (__m256 x)
{
  const __m256 one = _mm256_set1_ps (1.0f);
  __m256 x3, z2, e;

  x = _mm256_max_ps (_mm256_set1_ps (SM_GELU_LOW), x);
  x3 = _mm256_mul_ps (_mm256_mul_ps (x, x), x);
  z2 = _mm256_mul_ps (_mm256_set1_ps (SM_GELU_TWO_SQRT_2_OVER_PI),
                      _mm256_fmadd_ps (_mm256_set1_ps (SM_GELU_CUBIC), x3, x));
  e = sm_exp_avx2 (_mm256_xor_ps (z2, _mm256_set1_ps (-0.0f)));

  return _mm256_div_ps (x, _mm256_add_ps (one, e));
}

static inline __m256
sm_act_avx2 (SmActivation act,
             __m256       x)
{
  switch (act.kind)
    {
    case SM_ACT_RELU:
      return _mm256_max_ps (x, _mm256_setzero_ps ());
    case SM_ACT_LEAKY_RELU:
      return _mm256_blendv_ps (x, _mm256_mul_ps (x, _mm256_set1_ps (act.alpha)),
                               _mm256_cmp_ps (x, _mm256_setzero_ps (), _CMP_LT_OQ));
    case SM_ACT_SIGMOID:
      return sm_sigmoid_avx2 (x);
    case SM_ACT_TANH:
      return sm_tanh_avx2 (x);
    case SM_ACT_GELU:
      return sm_gelu_avx2 (x);
    case SM_ACT_IDENTITY:
    case SM_ACT_SOFTMAX:
    case SM_ACT_N_KINDS:
    default:
      return x;
    }
}

/* Lanes [0, count) set, for masked loads and stores of a tail. */
static inline __m256i
sm_tail_mask_avx2 (size_t count)
{
  return _mm256_cmpgt_epi32 (_mm256_set1_epi32 ((int) count),
                             _mm256_setr_epi32 (0, 1, 2, 3, 4, 5, 6, 7));
}

static inline float
sm_hsum_avx2 (__m256 v)
{
  __m128 s = _mm_add_ps (_mm256_castps256_ps128 (v), _mm256_extractf128_ps (v, 1));

  s = _mm_add_ps (s, _mm_movehl_ps (s, s));
  s = _mm_add_ss (s, _mm_movehdup_ps (s));

  return _mm_cvtss_f32 (s);
}

static inline float
sm_hmax_avx2 (__m256 v)
{
  __m128 s = _mm_max_ps (_mm256_castps256_ps128 (v), _mm256_extractf128_ps (v, 1));

  s = _mm_max_ps (s, _mm_movehl_ps (s, s));
  s = _mm_max_ss (s, _mm_movehdup_ps (s));

  return _mm_cvtss_f32 (s);
}
