/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <immintrin.h>
#include <string.h>

#include "sm-simd-private.h"
#include "sm-vmath-avx2.h"

#define NR SM_GEMM_NR

/* Reduced-precision GEMVs, AVX2: a row at a time, in the weights' memory
 * order (K block by K block, panel after panel), partial sums of a block
 * waiting in C, as the f32 GEMV does.  What changes is the bytes per
 * weight: these kernels exist for batches of one, whose pace is set by
 * how fast the weights arrive. */

/* Adds a panel's sums to C (or starts it), and on the last K block scales
 * (int8), adds bias and activates; masked for a partial panel. */
static inline void
store_panel (const SmGemmArgs *g,
             float            *y,
             size_t            j0,
             size_t            nr,
             __m256            c0,
             __m256            c1,
             int               first,
             int               last)
{
  __m256i mask0 = sm_tail_mask_avx2 (nr), mask1 = sm_tail_mask_avx2 (nr > 8 ? nr - 8 : 0);

  if (!first)
    {
      c0 = _mm256_add_ps (c0, _mm256_maskload_ps (y + j0, mask0));
      c1 = _mm256_add_ps (c1, _mm256_maskload_ps (y + j0 + 8, mask1));
    }
  if (last)
    {
      if (g->precision == SM_PRECISION_INT8)
        {
          c0 = _mm256_mul_ps (c0, _mm256_maskload_ps (g->w_scale + j0, mask0));
          c1 = _mm256_mul_ps (c1, _mm256_maskload_ps (g->w_scale + j0 + 8, mask1));
        }
      if (g->bias != NULL)
        {
          c0 = _mm256_add_ps (c0, _mm256_maskload_ps (g->bias + j0, mask0));
          c1 = _mm256_add_ps (c1, _mm256_maskload_ps (g->bias + j0 + 8, mask1));
        }
      c0 = sm_act_avx2 (g->act, c0);
      c1 = sm_act_avx2 (g->act, c1);
    }
  _mm256_maskstore_ps (y + j0, mask0, c0);
  _mm256_maskstore_ps (y + j0 + 8, mask1, c1);
}

/* bfloat16 is the top half of a float: interleaving zeros below each
 * weight widens it.  Within each 128-bit lane, the low unpack yields
 * columns 0–3 (lane 0) and 8–11 (lane 1), the high one 4–7 and 12–15; the
 * sums stay in that order until the store. */
void
sm_bf16_gemv_bias_act__avx2_fma (const SmGemmArgs *g,
                                 size_t            m_start,
                                 size_t            m_end,
                                 size_t            panel_start,
                                 size_t            panel_end)
{
  const __m256i zero = _mm256_setzero_si256 ();

  for (size_t i = m_start; i < m_end; i++)
    {
      const float *x = g->a + i * g->lda;
      float *y = g->c + i * g->ldc;

      for (size_t k0 = 0; k0 < g->k; k0 += SM_GEMM_KC)
        {
          size_t kc = g->k - k0 < SM_GEMM_KC ? g->k - k0 : SM_GEMM_KC;
          const float *xb = x + k0;

          for (size_t p = panel_start; p < panel_end; p++)
            {
              const uint16_t *w = sm_bf16_packed_block (g->w_bf16, g->k, g->n, k0, p);
              __m256 lo0 = _mm256_setzero_ps (), hi0 = _mm256_setzero_ps ();
              __m256 lo1 = _mm256_setzero_ps (), hi1 = _mm256_setzero_ps ();
              size_t kk = 0, j0 = p * NR;

              for (; kk + 2 <= kc; kk += 2, w += 2 * NR)
                {
                  __m256i r0 = _mm256_load_si256 ((const __m256i *) w);
                  __m256i r1 = _mm256_load_si256 ((const __m256i *) (w + NR));
                  __m256 x0 = _mm256_broadcast_ss (xb + kk), x1 = _mm256_broadcast_ss (xb + kk + 1);

                  lo0 = _mm256_fmadd_ps (x0, _mm256_castsi256_ps (_mm256_unpacklo_epi16 (zero, r0)), lo0);
                  hi0 = _mm256_fmadd_ps (x0, _mm256_castsi256_ps (_mm256_unpackhi_epi16 (zero, r0)), hi0);
                  lo1 = _mm256_fmadd_ps (x1, _mm256_castsi256_ps (_mm256_unpacklo_epi16 (zero, r1)), lo1);
                  hi1 = _mm256_fmadd_ps (x1, _mm256_castsi256_ps (_mm256_unpackhi_epi16 (zero, r1)), hi1);
                }
              if (kk < kc)
                {
                  __m256i r0 = _mm256_load_si256 ((const __m256i *) w);
                  __m256 x0 = _mm256_broadcast_ss (xb + kk);

                  lo0 = _mm256_fmadd_ps (x0, _mm256_castsi256_ps (_mm256_unpacklo_epi16 (zero, r0)), lo0);
                  hi0 = _mm256_fmadd_ps (x0, _mm256_castsi256_ps (_mm256_unpackhi_epi16 (zero, r0)), hi0);
                }
              lo0 = _mm256_add_ps (lo0, lo1);
              hi0 = _mm256_add_ps (hi0, hi1);
              store_panel (g, y, j0, g->n - j0 < NR ? g->n - j0 : NR,
                           _mm256_permute2f128_ps (lo0, hi0, 0x20), _mm256_permute2f128_ps (lo0, hi0, 0x31),
                           k0 == 0, k0 + kc >= g->k);
            }
        }
    }
}

/* One group of four rows, all 16 columns: the products of a broadcast
 * activation quad with each column's four weights, summed to one int32
 * per column.  maddubs multiplies unsigned by signed bytes, so the
 * activations' signs move onto the weights (|x| · sign (x) w); a pair sum
 * is at most 2 · 127 · 127, inside int16. */
static inline void
dot_group (const int8_t *q,
           const int8_t *w,
           __m256i      *s0,
           __m256i      *s1)
{
  const __m256i ones = _mm256_set1_epi16 (1);
  int32_t quad;
  __m256i xv, ax;

  memcpy (&quad, q, sizeof quad);
  xv = _mm256_set1_epi32 (quad);
  ax = _mm256_sign_epi8 (xv, xv);
  *s0 = _mm256_add_epi32 (*s0, _mm256_madd_epi16 (_mm256_maddubs_epi16 (ax, _mm256_sign_epi8 (_mm256_load_si256 ((const __m256i *) w), xv)), ones));
  *s1 = _mm256_add_epi32 (*s1, _mm256_madd_epi16 (_mm256_maddubs_epi16 (ax, _mm256_sign_epi8 (_mm256_load_si256 ((const __m256i *) (w + 32)), xv)), ones));
}

void
sm_i8_gemv_bias_act__avx2 (const SmGemmArgs *g,
                           size_t            m_start,
                           size_t            m_end,
                           size_t            panel_start,
                           size_t            panel_end)
{
  int8_t q[SM_GEMM_KC] __attribute__ ((aligned (32)));
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
              __m256 c0 = _mm256_setzero_ps (), c1 = _mm256_setzero_ps ();
              size_t j0 = p * NR;

              for (size_t gr = 0; gr < groups; )
                {
                  size_t end = gr + SM_Q8_BLOCK / 4 < groups ? gr + SM_Q8_BLOCK / 4 : groups;
                  __m256i s0 = _mm256_setzero_si256 (), s1 = _mm256_setzero_si256 ();
                  __m256 scale = _mm256_set1_ps (d[gr / (SM_Q8_BLOCK / 4)]);

                  for (; gr < end; gr++)
                    dot_group (q + 4 * gr, w + gr * 4 * NR, &s0, &s1);
                  c0 = _mm256_fmadd_ps (_mm256_cvtepi32_ps (s0), scale, c0);
                  c1 = _mm256_fmadd_ps (_mm256_cvtepi32_ps (s1), scale, c1);
                }
              store_panel (g, y, j0, g->n - j0 < NR ? g->n - j0 : NR, c0, c1, k0 == 0, k0 + kc >= g->k);
            }
        }
    }
}
