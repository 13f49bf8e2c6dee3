/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <math.h>
#include <string.h>

#include "sm-simd-private.h"
#include "sm-vmath-generic.h"

void
sm_f32_vact__generic (SmActivation  act,
                      const float  *x,
                      float        *y,
                      size_t        n)
{
  for (size_t i = 0; i < n; i++)
    y[i] = sm_act_scalar (act, x[i]);
}

/* Subtracting the maximum first keeps exp() from overflowing; the sum is
 * then at least 1, so the division is safe. */
void
sm_f32_softmax__generic (const float *x,
                         float       *y,
                         size_t       n)
{
  float max = -INFINITY, sum = 0.0f;

  if (n == 0)
    return;

  for (size_t i = 0; i < n; i++)
    max = x[i] > max ? x[i] : max;
  for (size_t i = 0; i < n; i++)
    {
      y[i] = expf (x[i] - max);
      sum += y[i];
    }
  for (size_t i = 0; i < n; i++)
    y[i] /= sum;
}

float
sm_f32_dot__generic (const float *a,
                     const float *b,
                     size_t       n)
{
  float sum = 0.0f;

  for (size_t i = 0; i < n; i++)
    sum += a[i] * b[i];

  return sum;
}

void
sm_f32_axpy__generic (float        alpha,
                      const float *x,
                      float       *y,
                      size_t       n)
{
  for (size_t i = 0; i < n; i++)
    y[i] += alpha * x[i];
}

void
sm_f32_add__generic (const float *a,
                     const float *b,
                     float       *y,
                     size_t       n)
{
  for (size_t i = 0; i < n; i++)
    y[i] = a[i] + b[i];
}

void
sm_f32_scale__generic (float        alpha,
                       const float *x,
                       float       *y,
                       size_t       n)
{
  for (size_t i = 0; i < n; i++)
    y[i] = alpha * x[i];
}

float
sm_f32_sum__generic (const float *x,
                     size_t       n)
{
  float sum = 0.0f;

  for (size_t i = 0; i < n; i++)
    sum += x[i];

  return sum;
}

size_t
sm_f32_argmax__generic (const float *x,
                        size_t       n,
                        float       *max)
{
  float best = -INFINITY;
  size_t index = 0;

  /* Two passes, as the vector kernels do, so that every version picks the
   * same index: the largest value first, then where it first occurs. */
  for (size_t i = 0; i < n; i++)
    best = x[i] > best ? x[i] : best;
  for (size_t i = 0; i < n; i++)
    if (x[i] == best)
      {
        index = i;
        break;
      }

  if (max != NULL)
    *max = best;

  return index;
}

static inline float
f16_to_f32 (uint16_t h)
{
  uint32_t sign = (uint32_t) (h & 0x8000) << 16;
  uint32_t exponent = (h >> 10) & 0x1f;
  uint32_t mantissa = h & 0x3ff;
  uint32_t bits;
  float f;

  if (exponent == 0)
    {
      /* Zero or subnormal: mantissa · 2^-24, exact in single precision. */
      f = (float) mantissa * 0x1p-24f;
      return sign ? -f : f;
    }

  /* Infinity, or NaN made quiet as the F16C and NEON conversions do. */
  if (exponent == 0x1f)
    bits = sign | 0x7f800000u | (mantissa << 13) | (mantissa ? 0x00400000u : 0);
  else
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);

  memcpy (&f, &bits, sizeof f);
  return f;
}

void
sm_f16_to_f32__generic (const uint16_t *src,
                        float          *dst,
                        size_t          n)
{
  for (size_t i = 0; i < n; i++)
    dst[i] = f16_to_f32 (src[i]);
}

void
sm_bf16_to_f32__generic (const uint16_t *src,
                         float          *dst,
                         size_t          n)
{
  for (size_t i = 0; i < n; i++)
    {
      uint32_t bits = (uint32_t) src[i] << 16;

      memcpy (&dst[i], &bits, sizeof bits);
    }
}
