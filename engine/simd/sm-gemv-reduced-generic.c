/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "sm-simd-private.h"
#include "sm-vmath-generic.h"

#define NR SM_GEMM_NR

/* The reduced-precision GEMVs in plain C: the reference the vector ones
 * are tested against.  A row at a time, K block by K block as the packed
 * weights lie; a block's partial sums wait in C (as in the f32 GEMV). */

static float
bf16_to_float (uint16_t h)
{
  union { uint32_t u; float f; } bits = { .u = (uint32_t) h << 16 };

  return bits.f;
}

/* Bias and activation once the last K block is in. */
static void
finish (const SmGemmArgs *g,
        float            *y,
        size_t            j0,
        size_t            nr)
{
  for (size_t j = 0; j < nr; j++)
    y[j] = sm_act_scalar (g->act, y[j] + (g->bias ? g->bias[j0 + j] : 0.0f));
}

void
sm_bf16_gemv_bias_act__generic (const SmGemmArgs *g,
                                size_t            m_start,
                                size_t            m_end,
                                size_t            panel_start,
                                size_t            panel_end)
{
  for (size_t i = m_start; i < m_end; i++)
    {
      const float *x = g->a + i * g->lda;
      float *y = g->c + i * g->ldc;

      for (size_t k0 = 0; k0 < g->k; k0 += SM_GEMM_KC)
        {
          size_t kc = g->k - k0 < SM_GEMM_KC ? g->k - k0 : SM_GEMM_KC;

          for (size_t p = panel_start; p < panel_end; p++)
            {
              const uint16_t *w = sm_bf16_packed_block (g->w_bf16, g->k, g->n, k0, p);
              size_t j0 = p * NR, nr = g->n - j0 < NR ? g->n - j0 : NR;
              float acc[NR] = { 0 };

              for (size_t kk = 0; kk < kc; kk++)
                for (size_t j = 0; j < NR; j++)
                  acc[j] += x[k0 + kk] * bf16_to_float (w[kk * NR + j]);
              for (size_t j = 0; j < nr; j++)
                y[j0 + j] = k0 == 0 ? acc[j] : y[j0 + j] + acc[j];
              if (k0 + kc >= g->k)
                finish (g, y + j0, j0, nr);
            }
        }
    }
}

void
sm_i8_gemv_bias_act__generic (const SmGemmArgs *g,
                              size_t            m_start,
                              size_t            m_end,
                              size_t            panel_start,
                              size_t            panel_end)
{
  int8_t q[SM_GEMM_KC];
  float d[SM_GEMM_KC / SM_Q8_BLOCK];

  for (size_t i = m_start; i < m_end; i++)
    {
      const float *x = g->a + i * g->lda;
      float *y = g->c + i * g->ldc;

      for (size_t k0 = 0; k0 < g->k; k0 += SM_GEMM_KC)
        {
          size_t kc = g->k - k0 < SM_GEMM_KC ? g->k - k0 : SM_GEMM_KC;
          size_t groups = sm_i8_block_rows (g->k, k0) / 4;

          sm_q8_quantize_row (x + k0, kc, q, d);
          for (size_t p = panel_start; p < panel_end; p++)
            {
              const int8_t *w = sm_i8_packed_block (g->w_i8, g->k, g->n, k0, p);
              size_t j0 = p * NR, nr = g->n - j0 < NR ? g->n - j0 : NR;
              float acc[NR] = { 0 };

              /* Exact integer sums per block of activations, then scaled. */
              for (size_t b = 0; b * SM_Q8_BLOCK / 4 < groups; b++)
                {
                  int32_t sum[NR] = { 0 };
                  size_t end = (b + 1) * SM_Q8_BLOCK / 4 < groups ? (b + 1) * SM_Q8_BLOCK / 4 : groups;

                  for (size_t gr = b * SM_Q8_BLOCK / 4; gr < end; gr++)
                    for (size_t j = 0; j < NR; j++)
                      for (size_t t = 0; t < 4; t++)
                        sum[j] += (int32_t) q[gr * 4 + t] * w[gr * 4 * NR + j * 4 + t];
                  for (size_t j = 0; j < NR; j++)
                    acc[j] += d[b] * (float) sum[j];
                }
              for (size_t j = 0; j < nr; j++)
                y[j0 + j] = k0 == 0 ? acc[j] : y[j0 + j] + acc[j];
              if (k0 + kc >= g->k)
                {
                  for (size_t j = 0; j < nr; j++)
                    y[j0 + j] *= g->w_scale[j0 + j];
                  finish (g, y + j0, j0, nr);
                }
            }
        }
    }
}
