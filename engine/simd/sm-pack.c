/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <string.h>

#include "sm-simd-private.h"

/* The layout is described in sm-kernels.h.  The padding zeros of the last
 * panel let every kernel compute whole panels and only mask the store. */

size_t
sm_f32_packed_weights_size (size_t k,
                            size_t n)
{
  return sm_f32_packed_n_panels (n) * k * SM_GEMM_NR;
}

/* The packing loop, for elements of @size bytes (f32, or bf16 loaded as
 * it is). */
static void
pack_weights (const void *w,
              size_t      ldw,
              size_t      k,
              size_t      n,
              size_t      size,
              void       *packed)
{
  const char *src = w;
  char *dst = packed;

  for (size_t k0 = 0; k0 < k; k0 += SM_GEMM_KC)
    {
      size_t kc = k - k0 < SM_GEMM_KC ? k - k0 : SM_GEMM_KC;

      for (size_t j0 = 0; j0 < n; j0 += SM_GEMM_NR)
        {
          size_t nr = n - j0 < SM_GEMM_NR ? n - j0 : SM_GEMM_NR;

          for (size_t kk = k0; kk < k0 + kc; kk++)
            {
              memcpy (dst, src + (kk * ldw + j0) * size, nr * size);
              memset (dst + nr * size, 0, (SM_GEMM_NR - nr) * size);
              dst += SM_GEMM_NR * size;
            }
        }
    }
}

void
sm_f32_pack_weights (const float *w,
                     size_t       ldw,
                     size_t       k,
                     size_t       n,
                     float       *packed)
{
  pack_weights (w, ldw, k, n, sizeof (float), packed);
}

void
sm_bf16_pack_bf16 (const uint16_t *w,
                   size_t          ldw,
                   size_t          k,
                   size_t          n,
                   uint16_t       *packed)
{
  pack_weights (w, ldw, k, n, sizeof (uint16_t), packed);
}

size_t
sm_bf16_packed_weights_size (size_t k,
                             size_t n)
{
  return sm_f32_packed_weights_size (k, n);
}

static uint16_t
f32_to_bf16 (float value)
{
  uint32_t bits;

  memcpy (&bits, &value, sizeof bits);
  if ((bits & 0x7fffffffu) > 0x7f800000u)
    return (uint16_t) ((bits >> 16) | 0x40);   /* a quiet NaN, sign kept */
  /* Round to nearest, ties to even: add 0x7fff plus the kept part's lowest bit. */
  return (uint16_t) ((bits + 0x7fffu + ((bits >> 16) & 1)) >> 16);
}

void
sm_bf16_pack_weights (const float *packed_f32,
                      size_t       k,
                      size_t       n,
                      uint16_t    *packed)
{
  size_t size = sm_bf16_packed_weights_size (k, n);

  for (size_t i = 0; i < size; i++)
    packed[i] = f32_to_bf16 (packed_f32[i]);
}

size_t
sm_i8_packed_weights_size (size_t k,
                           size_t n)
{
  size_t rows = 0;

  for (size_t k0 = 0; k0 < k; k0 += SM_GEMM_KC)
    rows += sm_i8_block_rows (k, k0);
  return rows * sm_f32_packed_n_panels (n) * SM_GEMM_NR;
}

/* Round half away from zero, as the quantizers of ggml do. */
static int8_t
quantize (float value,
          float inverse)
{
  float q = value * inverse;

  if (q != q)
    return 0;   /* NaN: no integer stands for it */
  q = q > 127.0f ? 127.0f : q < -127.0f ? -127.0f : q;
  return (int8_t) (q < 0 ? q - 0.5f : q + 0.5f);
}

void
sm_i8_pack_weights (const float *packed_f32,
                    size_t       k,
                    size_t       n,
                    int8_t      *packed,
                    float       *scale)
{
  size_t panels = sm_f32_packed_n_panels (n);

  /* The scales: each column's largest magnitude maps to 127. */
  for (size_t j = 0; j < n; j++)
    {
      float top = 0;

      for (size_t kk = 0; kk < k; kk++)
        {
          const float *row = sm_f32_packed_block (packed_f32, k, n, kk - kk % SM_GEMM_KC, j / SM_GEMM_NR)
                             + (kk % SM_GEMM_KC) * SM_GEMM_NR;
          float magnitude = row[j % SM_GEMM_NR] < 0 ? -row[j % SM_GEMM_NR] : row[j % SM_GEMM_NR];

          top = magnitude > top ? magnitude : top;
        }
      scale[j] = top / 127.0f;
    }

  for (size_t k0 = 0; k0 < k; k0 += SM_GEMM_KC)
    {
      size_t kc = k - k0 < SM_GEMM_KC ? k - k0 : SM_GEMM_KC;
      size_t rows = sm_i8_block_rows (k, k0);

      for (size_t p = 0; p < panels; p++)
        {
          const float *src = sm_f32_packed_block (packed_f32, k, n, k0, p);
          /* sm_i8_packed_block(), writable */
          int8_t *dst = packed + k0 * panels * SM_GEMM_NR + p * rows * SM_GEMM_NR;

          for (size_t r = 0; r < rows; r++)
            for (size_t c = 0; c < SM_GEMM_NR; c++)
              {
                size_t j = p * SM_GEMM_NR + c;
                float inverse = j < n && scale[j] > 0 ? 1.0f / scale[j] : 0.0f;

                dst[(r / 4) * 4 * SM_GEMM_NR + c * 4 + r % 4] = r < kc ? quantize (src[r * SM_GEMM_NR + c], inverse) : 0;
              }
        }
    }
}

void
sm_q8_quantize_row (const float *x,
                    size_t       k,
                    int8_t      *q,
                    float       *d)
{
  for (size_t b = 0; b * SM_Q8_BLOCK < k; b++)
    {
      size_t start = b * SM_Q8_BLOCK, count = k - start < SM_Q8_BLOCK ? k - start : SM_Q8_BLOCK;
      float top = 0, inverse;

      for (size_t i = 0; i < count; i++)
        {
          float magnitude = x[start + i] < 0 ? -x[start + i] : x[start + i];

          top = magnitude > top ? magnitude : top;
        }
      d[b] = top / 127.0f;
      inverse = top > 0 ? 127.0f / top : 0.0f;
      for (size_t i = 0; i < SM_Q8_BLOCK; i++)
        q[start + i] = i < count ? quantize (x[start + i], inverse) : 0;
    }
}
