/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <string.h>
#include <arm_neon.h>

#include "sm-simd-private.h"
#include "sm-vmath-neon.h"

#define NR SM_GEMM_NR

/* Reduced-precision GEMVs, AArch64 Advanced SIMD: as the AVX2 ones (see
 * there), four q registers a panel.  The int8 one multiplies with
 * widening byte products (every AArch64 CPU has them); the dot-product
 * extension (sdot) would do four products an instruction, and is not
 * used yet. */

static void
store_panel (const SmGemmArgs *g,
             float            *y,
             size_t            j0,
             size_t            nr,
             float32x4_t       sum[4],
             int               first,
             int               last)
{
  if (!first)
    {
      float32x4_t prev[4];

      sm_load_panel_row_neon (y + j0, nr, prev);
      for (int q = 0; q < 4; q++)
        sum[q] = vaddq_f32 (sum[q], prev[q]);
    }
  if (last)
    {
      float32x4_t bv[4] = { vdupq_n_f32 (0.0f), vdupq_n_f32 (0.0f), vdupq_n_f32 (0.0f), vdupq_n_f32 (0.0f) };

      if (g->precision == SM_PRECISION_INT8)
        {
          float32x4_t sv[4];

          sm_load_panel_row_neon (g->w_scale + j0, nr, sv);
          for (int q = 0; q < 4; q++)
            sum[q] = vmulq_f32 (sum[q], sv[q]);
        }
      if (g->bias != NULL)
        sm_load_panel_row_neon (g->bias + j0, nr, bv);
      for (int q = 0; q < 4; q++)
        sum[q] = sm_act_neon (g->act, vaddq_f32 (sum[q], bv[q]));
    }
  sm_store_panel_row_neon (y + j0, nr, sum);
}

void
sm_bf16_gemv_bias_act__neon (const SmGemmArgs *g,
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
              size_t j0 = p * NR;
              float32x4_t sum[4];

              for (int q = 0; q < 4; q++)
                sum[q] = vdupq_n_f32 (0.0f);
              for (size_t kk = 0; kk < kc; kk++, w += NR)
                {
                  uint16x8_t lo = vld1q_u16 (w), hi = vld1q_u16 (w + 8);
                  float xv = x[k0 + kk];

                  /* bfloat16 is a float's top half: shift it there. */
                  sum[0] = vfmaq_n_f32 (sum[0], vreinterpretq_f32_u32 (vshll_n_u16 (vget_low_u16 (lo), 16)), xv);
                  sum[1] = vfmaq_n_f32 (sum[1], vreinterpretq_f32_u32 (vshll_high_n_u16 (lo, 16)), xv);
                  sum[2] = vfmaq_n_f32 (sum[2], vreinterpretq_f32_u32 (vshll_n_u16 (vget_low_u16 (hi), 16)), xv);
                  sum[3] = vfmaq_n_f32 (sum[3], vreinterpretq_f32_u32 (vshll_high_n_u16 (hi, 16)), xv);
                }
              store_panel (g, y, j0, g->n - j0 < NR ? g->n - j0 : NR, sum, k0 == 0, k0 + kc >= g->k);
            }
        }
    }
}

void
sm_i8_gemv_bias_act__neon (const SmGemmArgs *g,
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
              size_t j0 = p * NR;
              float32x4_t sum[4];

              for (int c = 0; c < 4; c++)
                sum[c] = vdupq_n_f32 (0.0f);
              for (size_t gr = 0; gr < groups; )
                {
                  size_t end = gr + SM_Q8_BLOCK / 4 < groups ? gr + SM_Q8_BLOCK / 4 : groups;
                  float scale = d[gr / (SM_Q8_BLOCK / 4)];
                  int32x4_t s[4] = { vdupq_n_s32 (0), vdupq_n_s32 (0), vdupq_n_s32 (0), vdupq_n_s32 (0) };

                  for (; gr < end; gr++)
                    {
                      int32_t quad;
                      int8x8_t xv;

                      memcpy (&quad, q + 4 * gr, sizeof quad);
                      xv = vreinterpret_s8_s32 (vdup_n_s32 (quad));
                      /* 16 bytes are four columns' four rows; a product
                       * pair sums within int16, pairs of pairs into a
                       * column's int32. */
                      for (int c = 0; c < 4; c++)
                        {
                          int8x16_t wv = vld1q_s8 (w + gr * 4 * NR + 16 * c);
                          int16x8_t pairs = vpaddq_s16 (vmull_s8 (vget_low_s8 (wv), xv),
                                                        vmull_s8 (vget_high_s8 (wv), xv));

                          s[c] = vpadalq_s16 (s[c], pairs);
                        }
                    }
                  for (int c = 0; c < 4; c++)
                    sum[c] = vfmaq_n_f32 (sum[c], vcvtq_f32_s32 (s[c]), scale);
                }
              store_panel (g, y, j0, g->n - j0 < NR ? g->n - j0 : NR, sum, k0 == 0, k0 + kc >= g->k);
            }
        }
    }
}
