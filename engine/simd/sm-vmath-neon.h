/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Vector elementary functions for AArch64 Advanced SIMD (NEON), shared by
 * the GEMM epilogue and the element-wise kernels.  The formulas are those of
 * the AVX2 versions (see sm-vmath-avx2.h).  NEON's min/max propagate NaN,
 * so the clamps keep it as on x86. */

#include <string.h>
#include <arm_neon.h>

#include "sm-kernels.h"
#include "sm-vmath-generic.h"

static inline float32x4_t
sm_exp_neon (float32x4_t x)
{
  float32x4_t n, r, p;
  int32x4_t ni, n1, n2;

  x = vminq_f32 (vdupq_n_f32 (SM_EXP_X_MAX), x);
  x = vmaxq_f32 (vdupq_n_f32 (SM_EXP_X_MIN), x);

  n = vrndnq_f32 (vmulq_n_f32 (x, SM_EXP_LOG2E));
  r = vfmsq_f32 (x, n, vdupq_n_f32 (SM_EXP_LN2_HI));
  r = vfmsq_f32 (r, n, vdupq_n_f32 (SM_EXP_LN2_LO));

  p = vdupq_n_f32 (1.0f / 5040.0f);
  p = vfmaq_f32 (vdupq_n_f32 (1.0f / 720.0f), p, r);
  p = vfmaq_f32 (vdupq_n_f32 (1.0f / 120.0f), p, r);
  p = vfmaq_f32 (vdupq_n_f32 (1.0f / 24.0f), p, r);
  p = vfmaq_f32 (vdupq_n_f32 (1.0f / 6.0f), p, r);
  p = vfmaq_f32 (vdupq_n_f32 (0.5f), p, r);
  p = vfmaq_f32 (vdupq_n_f32 (1.0f), p, r);
  p = vfmaq_f32 (vdupq_n_f32 (1.0f), p, r);

  ni = vcvtq_s32_f32 (n);
  n1 = vshrq_n_s32 (ni, 1);
  n2 = vsubq_s32 (ni, n1);
  n1 = vshlq_n_s32 (vaddq_s32 (n1, vdupq_n_s32 (127)), 23);
  n2 = vshlq_n_s32 (vaddq_s32 (n2, vdupq_n_s32 (127)), 23);

  return vmulq_f32 (vmulq_f32 (p, vreinterpretq_f32_s32 (n1)), vreinterpretq_f32_s32 (n2));
}

static inline float32x4_t
sm_sigmoid_neon (float32x4_t x)
{
  const float32x4_t one = vdupq_n_f32 (1.0f);

  return vdivq_f32 (one, vaddq_f32 (one, sm_exp_neon (vnegq_f32 (x))));
}

static inline float32x4_t
sm_tanh_neon (float32x4_t x)
{
  const float32x4_t one = vdupq_n_f32 (1.0f);
  float32x4_t ax = vabsq_f32 (x);
  float32x4_t e = sm_exp_neon (vaddq_f32 (ax, ax));
  float32x4_t t = vsubq_f32 (one, vdivq_f32 (vdupq_n_f32 (2.0f), vaddq_f32 (e, one)));
  uint32x4_t sign = vandq_u32 (vreinterpretq_u32_f32 (x), vdupq_n_u32 (0x80000000u));

  return vreinterpretq_f32_u32 (vorrq_u32 (vreinterpretq_u32_f32 (t), sign));
}

static inline float32x4_t
sm_gelu_neon (float32x4_t x)
{
  const float32x4_t one = vdupq_n_f32 (1.0f);
  float32x4_t x3, z2;

  x = vmaxq_f32 (vdupq_n_f32 (SM_GELU_LOW), x);
  x3 = vmulq_f32 (vmulq_f32 (x, x), x);
  z2 = vmulq_n_f32 (vfmaq_f32 (x, vdupq_n_f32 (SM_GELU_CUBIC), x3), SM_GELU_TWO_SQRT_2_OVER_PI);

  return vdivq_f32 (x, vaddq_f32 (one, sm_exp_neon (vnegq_f32 (z2))));
}

static inline float32x4_t
sm_act_neon (SmActivation act,
             float32x4_t  x)
{
  switch (act.kind)
    {
    case SM_ACT_RELU:
      return vmaxq_f32 (x, vdupq_n_f32 (0.0f));
    case SM_ACT_LEAKY_RELU:
      return vbslq_f32 (vcltq_f32 (x, vdupq_n_f32 (0.0f)), vmulq_n_f32 (x, act.alpha), x);
    case SM_ACT_SIGMOID:
      return sm_sigmoid_neon (x);
    case SM_ACT_TANH:
      return sm_tanh_neon (x);
    case SM_ACT_GELU:
      return sm_gelu_neon (x);
    case SM_ACT_IDENTITY:
    case SM_ACT_SOFTMAX:
    case SM_ACT_N_KINDS:
    default:
      return x;
    }
}

/* NEON has no masked loads or stores: a partial panel goes through a
 * 16-float buffer, so nothing past n is read or written. */
static inline void
sm_load_panel_row_neon (const float *src,
                        size_t       nr,
                        float32x4_t  v[4])
{
  float buf[SM_GEMM_NR] = { 0 };

  if (nr < SM_GEMM_NR)
    {
      memcpy (buf, src, nr * sizeof (float));
      src = buf;
    }
  for (int q = 0; q < 4; q++)
    v[q] = vld1q_f32 (src + 4 * q);
}

static inline void
sm_store_panel_row_neon (float             *dst,
                         size_t             nr,
                         const float32x4_t  v[4])
{
  float buf[SM_GEMM_NR];

  if (nr == SM_GEMM_NR)
    {
      for (int q = 0; q < 4; q++)
        vst1q_f32 (dst + 4 * q, v[q]);
      return;
    }
  for (int q = 0; q < 4; q++)
    vst1q_f32 (buf + 4 * q, v[q]);
  memcpy (dst, buf, nr * sizeof (float));
}
