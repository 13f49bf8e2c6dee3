/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Vector elementary functions for AVX-512F, shared by the GEMM epilogue and
 * the element-wise kernels.  Only for files built with -mavx512f.  The
 * formulas are those of the AVX2 versions (see sm-vmath-avx2.h); AVX-512
 * adds scalef, which applies 2^n with correct overflow and subnormals in
 * one instruction, and masks for tails. */

#include <immintrin.h>

#include "sm-kernels.h"
#include "sm-vmath-generic.h"

static inline __m512
sm_exp_avx512 (__m512 x)
{
  const __m512 log2e = _mm512_set1_ps (SM_EXP_LOG2E);
  const __m512 ln2_hi = _mm512_set1_ps (SM_EXP_LN2_HI);
  const __m512 ln2_lo = _mm512_set1_ps (SM_EXP_LN2_LO);
  __m512 n, r, p;

  x = _mm512_min_ps (_mm512_set1_ps (SM_EXP_X_MAX), x);
  x = _mm512_max_ps (_mm512_set1_ps (SM_EXP_X_MIN), x);

  n = _mm512_roundscale_ps (_mm512_mul_ps (x, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  r = _mm512_fnmadd_ps (n, ln2_hi, x);
  r = _mm512_fnmadd_ps (n, ln2_lo, r);

  p = _mm512_set1_ps (1.0f / 5040.0f);
  p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (1.0f / 720.0f));
  p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (1.0f / 120.0f));
  p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (1.0f / 24.0f));
  p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (1.0f / 6.0f));
  p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (0.5f));
  p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (1.0f));
  p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (1.0f));

  return _mm512_scalef_ps (p, n);
}

static inline __m512
sm_neg_avx512 (__m512 x)
{
  return _mm512_castsi512_ps (_mm512_xor_si512 (_mm512_castps_si512 (x), _mm512_set1_epi32 ((int) 0x80000000u)));
}

static inline __m512
sm_sigmoid_avx512 (__m512 x)
{
  const __m512 one = _mm512_set1_ps (1.0f);

  return _mm512_div_ps (one, _mm512_add_ps (one, sm_exp_avx512 (sm_neg_avx512 (x))));
}

static inline __m512
sm_tanh_avx512 (__m512 x)
{
  const __m512i sign_mask = _mm512_set1_epi32 ((int) 0x80000000u);
  const __m512 one = _mm512_set1_ps (1.0f);
  __m512 ax = _mm512_abs_ps (x);
  __m512 e = sm_exp_avx512 (_mm512_add_ps (ax, ax));
  __m512 t = _mm512_sub_ps (one, _mm512_div_ps (_mm512_set1_ps (2.0f), _mm512_add_ps (e, one)));

  return _mm512_castsi512_ps (_mm512_or_si512 (_mm512_castps_si512 (t),
                                               _mm512_and_si512 (_mm512_castps_si512 (x), sign_mask)));
}

static inline __m512
sm_gelu_avx512 (__m512 x)
{
  const __m512 one = _mm512_set1_ps (1.0f);
  __m512 x3, z2;

  x = _mm512_max_ps (_mm512_set1_ps (SM_GELU_LOW), x);
  x3 = _mm512_mul_ps (_mm512_mul_ps (x, x), x);
  z2 = _mm512_mul_ps (_mm512_set1_ps (SM_GELU_TWO_SQRT_2_OVER_PI),
                      _mm512_fmadd_ps (_mm512_set1_ps (SM_GELU_CUBIC), x3, x));

  return _mm512_div_ps (x, _mm512_add_ps (one, sm_exp_avx512 (sm_neg_avx512 (z2))));
}

static inline __m512
sm_act_avx512 (SmActivation act,
               __m512       x)
{
  switch (act.kind)
    {
    case SM_ACT_RELU:
      return _mm512_max_ps (x, _mm512_setzero_ps ());
    case SM_ACT_LEAKY_RELU:
      return _mm512_mask_mul_ps (x, _mm512_cmp_ps_mask (x, _mm512_setzero_ps (), _CMP_LT_OQ),
                                 x, _mm512_set1_ps (act.alpha));
    case SM_ACT_SIGMOID:
      return sm_sigmoid_avx512 (x);
    case SM_ACT_TANH:
      return sm_tanh_avx512 (x);
    case SM_ACT_GELU:
      return sm_gelu_avx512 (x);
    case SM_ACT_IDENTITY:
    case SM_ACT_SOFTMAX:
    case SM_ACT_N_KINDS:
    default:
      return x;
    }
}

/* Lanes [0, count) of 16. */
static inline __mmask16
sm_tail_mask_avx512 (size_t count)
{
  return count >= 16 ? (__mmask16) 0xffff : (__mmask16) ((1u << count) - 1);
}
