/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <math.h>
#include <string.h>
#include <arm_neon.h>

#include "sm-simd-private.h"
#include "sm-vmath-neon.h"

/* Element-wise kernels for NEON: 4 floats a step; the tail goes through a
 * 4-float buffer, so it gives the body's results and never touches memory
 * past n.  Any alignment; y may equal x. */

static inline float32x4_t
load_tail (const float *x,
           size_t       count)
{
  float buf[4] = { 0 };

  memcpy (buf, x, count * sizeof (float));
  return vld1q_f32 (buf);
}

static inline void
store_tail (float       *y,
            float32x4_t  v,
            size_t       count)
{
  float buf[4];

  vst1q_f32 (buf, v);
  memcpy (y, buf, count * sizeof (float));
}

void
sm_f32_vact__neon (SmActivation  act,
                   const float  *x,
                   float        *y,
                   size_t        n)
{
  size_t i = 0;

  for (; i + 4 <= n; i += 4)
    vst1q_f32 (y + i, sm_act_neon (act, vld1q_f32 (x + i)));
  if (i < n)
    store_tail (y + i, sm_act_neon (act, load_tail (x + i, n - i)), n - i);
}

void
sm_f32_softmax__neon (const float *x,
                      float       *y,
                      size_t       n)
{
  float32x4_t vmax = vdupq_n_f32 (-INFINITY), vsum = vdupq_n_f32 (0.0f), vmaxb, inv;
  float max, sum;
  size_t i;

  if (n == 0)
    return;

  /* maxnm ignores NaN, as the generic version's comparison does. */
  for (i = 0; i + 4 <= n; i += 4)
    vmax = vmaxnmq_f32 (vmax, vld1q_f32 (x + i));
  max = vmaxnmvq_f32 (vmax);
  for (; i < n; i++)
    max = x[i] > max ? x[i] : max;

  vmaxb = vdupq_n_f32 (max);
  for (i = 0; i + 4 <= n; i += 4)
    {
      float32x4_t e = sm_exp_neon (vsubq_f32 (vld1q_f32 (x + i), vmaxb));

      vst1q_f32 (y + i, e);
      vsum = vaddq_f32 (vsum, e);
    }
  sum = vaddvq_f32 (vsum);
  if (i < n)
    {
      float32x4_t e = sm_exp_neon (vsubq_f32 (load_tail (x + i, n - i), vmaxb));
      float buf[4];

      vst1q_f32 (buf, e);
      for (size_t t = 0; t < n - i; t++)
        sum += buf[t];
      store_tail (y + i, e, n - i);
    }

  inv = vdupq_n_f32 (1.0f / sum);
  for (i = 0; i + 4 <= n; i += 4)
    vst1q_f32 (y + i, vmulq_f32 (vld1q_f32 (y + i), inv));
  for (; i < n; i++)
    y[i] *= 1.0f / sum;
}

float
sm_f32_dot__neon (const float *a,
                  const float *b,
                  size_t       n)
{
  float32x4_t s0 = vdupq_n_f32 (0.0f), s1 = s0, s2 = s0, s3 = s0;
  float sum;
  size_t i = 0;

  for (; i + 16 <= n; i += 16)
    {
      s0 = vfmaq_f32 (s0, vld1q_f32 (a + i), vld1q_f32 (b + i));
      s1 = vfmaq_f32 (s1, vld1q_f32 (a + i + 4), vld1q_f32 (b + i + 4));
      s2 = vfmaq_f32 (s2, vld1q_f32 (a + i + 8), vld1q_f32 (b + i + 8));
      s3 = vfmaq_f32 (s3, vld1q_f32 (a + i + 12), vld1q_f32 (b + i + 12));
    }
  for (; i + 4 <= n; i += 4)
    s0 = vfmaq_f32 (s0, vld1q_f32 (a + i), vld1q_f32 (b + i));
  sum = vaddvq_f32 (vaddq_f32 (vaddq_f32 (s0, s1), vaddq_f32 (s2, s3)));
  for (; i < n; i++)
    sum += a[i] * b[i];

  return sum;
}

void
sm_f32_axpy__neon (float        alpha,
                   const float *x,
                   float       *y,
                   size_t       n)
{
  size_t i = 0;

  for (; i + 4 <= n; i += 4)
    vst1q_f32 (y + i, vfmaq_n_f32 (vld1q_f32 (y + i), vld1q_f32 (x + i), alpha));
  for (; i < n; i++)
    y[i] = fmaf (alpha, x[i], y[i]);
}

void
sm_f32_add__neon (const float *a,
                  const float *b,
                  float       *y,
                  size_t       n)
{
  size_t i = 0;

  for (; i + 4 <= n; i += 4)
    vst1q_f32 (y + i, vaddq_f32 (vld1q_f32 (a + i), vld1q_f32 (b + i)));
  for (; i < n; i++)
    y[i] = a[i] + b[i];
}

void
sm_f32_scale__neon (float        alpha,
                    const float *x,
                    float       *y,
                    size_t       n)
{
  size_t i = 0;

  for (; i + 4 <= n; i += 4)
    vst1q_f32 (y + i, vmulq_n_f32 (vld1q_f32 (x + i), alpha));
  for (; i < n; i++)
    y[i] = alpha * x[i];
}

float
sm_f32_sum__neon (const float *x,
                  size_t       n)
{
  float32x4_t s0 = vdupq_n_f32 (0.0f), s1 = s0;
  float sum;
  size_t i = 0;

  for (; i + 8 <= n; i += 8)
    {
      s0 = vaddq_f32 (s0, vld1q_f32 (x + i));
      s1 = vaddq_f32 (s1, vld1q_f32 (x + i + 4));
    }
  for (; i + 4 <= n; i += 4)
    s0 = vaddq_f32 (s0, vld1q_f32 (x + i));
  sum = vaddvq_f32 (vaddq_f32 (s0, s1));
  for (; i < n; i++)
    sum += x[i];

  return sum;
}

size_t
sm_f32_argmax__neon (const float *x,
                     size_t       n,
                     float       *max)
{
  float32x4_t vmax = vdupq_n_f32 (-INFINITY);
  float best;
  size_t i;

  for (i = 0; i + 4 <= n; i += 4)
    vmax = vmaxnmq_f32 (vmax, vld1q_f32 (x + i));
  best = vmaxnmvq_f32 (vmax);
  for (; i < n; i++)
    best = x[i] > best ? x[i] : best;

  if (max != NULL)
    *max = best;

  for (i = 0; i < n; i++)
    if (x[i] == best)
      return i;

  return 0;
}

void
sm_f16_to_f32__neon (const uint16_t *src,
                     float          *dst,
                     size_t          n)
{
  size_t i = 0;

  for (; i + 4 <= n; i += 4)
    vst1q_f32 (dst + i, vcvt_f32_f16 (vreinterpret_f16_u16 (vld1_u16 (src + i))));
  if (i < n)
    sm_f16_to_f32__generic (src + i, dst + i, n - i);
}

void
sm_bf16_to_f32__neon (const uint16_t *src,
                      float          *dst,
                      size_t          n)
{
  size_t i = 0;

  for (; i + 4 <= n; i += 4)
    vst1q_f32 (dst + i, vreinterpretq_f32_u32 (vshll_n_u16 (vld1_u16 (src + i), 16)));
  if (i < n)
    sm_bf16_to_f32__generic (src + i, dst + i, n - i);
}
