/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <string.h>
#include <arm_neon.h>

#include "sm-simd-private.h"
#include "sm-vmath-neon.h"

#define MR 6
#define NR SM_GEMM_NR
#define KC SM_GEMM_KC
#define MC 144

#define ALWAYS_INLINE inline __attribute__ ((always_inline))

/* One tile of mr (constant) rows × one panel (four q registers a row, up to
 * 24 accumulators of the 32 registers) over one K block. */
static ALWAYS_INLINE void
tile_6x16 (const int     mr,
           size_t        nr,
           size_t        kc,
           const float  *a,
           size_t        lda,
           const float  *b,
           float        *c,
           size_t        ldc,
           int           first,
           int           last,
           const float  *bias,
           SmActivation  act)
{
  float32x4_t acc[MR][4];

#pragma GCC unroll 6
  for (int r = 0; r < mr; r++)
    {
      if (first)
        for (int q = 0; q < 4; q++)
          acc[r][q] = vdupq_n_f32 (0.0f);
      else
        sm_load_panel_row_neon (c + r * ldc, nr, acc[r]);
    }

  for (size_t kk = 0; kk < kc; kk++, b += NR)
    {
      float32x4_t b0 = vld1q_f32 (b), b1 = vld1q_f32 (b + 4);
      float32x4_t b2 = vld1q_f32 (b + 8), b3 = vld1q_f32 (b + 12);

#pragma GCC unroll 6
      for (int r = 0; r < mr; r++)
        {
          float av = a[r * lda + kk];

          acc[r][0] = vfmaq_n_f32 (acc[r][0], b0, av);
          acc[r][1] = vfmaq_n_f32 (acc[r][1], b1, av);
          acc[r][2] = vfmaq_n_f32 (acc[r][2], b2, av);
          acc[r][3] = vfmaq_n_f32 (acc[r][3], b3, av);
        }
    }

  if (last)
    {
      float32x4_t bv[4] = { vdupq_n_f32 (0.0f), vdupq_n_f32 (0.0f), vdupq_n_f32 (0.0f), vdupq_n_f32 (0.0f) };

      if (bias != NULL)
        sm_load_panel_row_neon (bias, nr, bv);
#pragma GCC unroll 6
      for (int r = 0; r < mr; r++)
        for (int q = 0; q < 4; q++)
          acc[r][q] = sm_act_neon (act, vaddq_f32 (acc[r][q], bv[q]));
    }

#pragma GCC unroll 6
  for (int r = 0; r < mr; r++)
    sm_store_panel_row_neon (c + r * ldc, nr, acc[r]);
}

/* sm_f32_gemm_bias_act__neon_6x16: 6-row × 16-column FMA tiles over the
 * packed weights, K blocked by 256, rows spread evenly over tiles; any m,
 * n, k and alignment. */
void
sm_f32_gemm_bias_act__neon_6x16 (const SmGemmArgs *g,
                                 size_t            m_start,
                                 size_t            m_end,
                                 size_t            panel_start,
                                 size_t            panel_end)
{
  size_t k0 = 0;

  do
    {
      size_t kc = g->k - k0 < KC ? g->k - k0 : KC;
      int first = k0 == 0, last = k0 + kc >= g->k;

      for (size_t m0 = m_start; m0 < m_end; m0 += MC)
        {
          size_t m1 = m_end - m0 < MC ? m_end : m0 + MC;

          for (size_t p = panel_start; p < panel_end; p++)
            {
              size_t j0 = p * NR;
              size_t nr = g->n - j0 < NR ? g->n - j0 : NR;
              const float *b = sm_f32_packed_block (g->w, g->k, g->n, k0, p);
              const float *bias = g->bias != NULL ? g->bias + j0 : NULL;

              for (size_t i = m0; i < m1; )
                {
                  const float *a = g->a + i * g->lda + k0;
                  float *c = g->c + i * g->ldc + j0;
                  size_t tiles = (m1 - i + MR - 1) / MR;
                  size_t mr = (m1 - i + tiles - 1) / tiles;

                  switch (mr)
                    {
                    case 6: tile_6x16 (6, nr, kc, a, g->lda, b, c, g->ldc, first, last, bias, g->act); break;
                    case 5: tile_6x16 (5, nr, kc, a, g->lda, b, c, g->ldc, first, last, bias, g->act); break;
                    case 4: tile_6x16 (4, nr, kc, a, g->lda, b, c, g->ldc, first, last, bias, g->act); break;
                    case 3: tile_6x16 (3, nr, kc, a, g->lda, b, c, g->ldc, first, last, bias, g->act); break;
                    case 2: tile_6x16 (2, nr, kc, a, g->lda, b, c, g->ldc, first, last, bias, g->act); break;
                    default: tile_6x16 (1, nr, kc, a, g->lda, b, c, g->ldc, first, last, bias, g->act); break;
                    }
                  i += mr;
                }
            }
        }

      k0 += kc;
    }
  while (k0 < g->k);
}

/* sm_f32_gemv_bias_act__neon: single rows, the weights read in memory
 * order, each panel with k split over two chains (eight accumulators). */
void
sm_f32_gemv_bias_act__neon (const SmGemmArgs *g,
                            size_t            m_start,
                            size_t            m_end,
                            size_t            panel_start,
                            size_t            panel_end)
{
  const size_t k = g->k;

  for (size_t i = m_start; i < m_end; i++)
    {
      const float *x = g->a + i * g->lda;
      float *y = g->c + i * g->ldc;
      size_t k0 = 0;

      do
        {
          size_t kc = k - k0 < KC ? k - k0 : KC;
          int first = k0 == 0, last = k0 + kc >= k;

          for (size_t p = panel_start; p < panel_end; p++)
            {
              const float *w = sm_f32_packed_block (g->w, k, g->n, k0, p);
              size_t j0 = p * NR, nr = g->n - j0 < NR ? g->n - j0 : NR;
              float32x4_t e[4], o[4], sum[4];
              size_t kk = 0;

              for (int q = 0; q < 4; q++)
                e[q] = o[q] = vdupq_n_f32 (0.0f);
              for (; kk + 2 <= kc; kk += 2, w += 2 * NR)
                for (int q = 0; q < 4; q++)
                  {
                    e[q] = vfmaq_n_f32 (e[q], vld1q_f32 (w + 4 * q), x[k0 + kk]);
                    o[q] = vfmaq_n_f32 (o[q], vld1q_f32 (w + NR + 4 * q), x[k0 + kk + 1]);
                  }
              if (kk < kc)
                for (int q = 0; q < 4; q++)
                  e[q] = vfmaq_n_f32 (e[q], vld1q_f32 (w + 4 * q), x[k0 + kk]);

              for (int q = 0; q < 4; q++)
                sum[q] = vaddq_f32 (e[q], o[q]);
              if (!first)
                {
                  float32x4_t prev[4];

                  sm_load_panel_row_neon (y + j0, nr, prev);
                  for (int q = 0; q < 4; q++)
                    sum[q] = vaddq_f32 (sum[q], prev[q]);
                }
              if (last)
                {
                  float32x4_t bv[4] = { vdupq_n_f32 (0.0f), vdupq_n_f32 (0.0f),
                                        vdupq_n_f32 (0.0f), vdupq_n_f32 (0.0f) };

                  if (g->bias != NULL)
                    sm_load_panel_row_neon (g->bias + j0, nr, bv);
                  for (int q = 0; q < 4; q++)
                    sum[q] = sm_act_neon (g->act, vaddq_f32 (sum[q], bv[q]));
                }
              sm_store_panel_row_neon (y + j0, nr, sum);
            }

          k0 += kc;
        }
      while (k0 < k);
    }
}
