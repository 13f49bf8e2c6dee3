/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <immintrin.h>
#include <string.h>

#include "sm-simd-private.h"
#include "sm-vmath-avx512.h"

#define NR SM_GEMM_NR

/* Reduced-precision GEMVs, AVX-512 F/BW: as the AVX2 ones (see there), a
 * whole 16-column panel per register. */

static inline void
store_panel (const SmGemmArgs *g,
             float            *y,
             size_t            j0,
             size_t            nr,
             __m512            c,
             int               first,
             int               last)
{
  __mmask16 mask = sm_tail_mask_avx512 (nr);

  if (!first)
    c = _mm512_add_ps (c, _mm512_maskz_loadu_ps (mask, y + j0));
  if (last)
    {
      if (g->precision == SM_PRECISION_INT8)
        c = _mm512_mul_ps (c, _mm512_maskz_loadu_ps (mask, g->w_scale + j0));
      if (g->bias != NULL)
        c = _mm512_add_ps (c, _mm512_maskz_loadu_ps (mask, g->bias + j0));
      c = sm_act_avx512 (g->act, c);
    }
  _mm512_mask_storeu_ps (y + j0, mask, c);
}

/* A row of 16 bfloat16 weights widened: zero-extended to 32 bits and
 * shifted into a float's top half. */
static inline __m512
widen (const uint16_t *w)
{
  return _mm512_castsi512_ps (_mm512_slli_epi32 (_mm512_cvtepu16_epi32 (_mm256_load_si256 ((const __m256i *) w)), 16));
}

void
sm_bf16_gemv_bias_act__avx512f (const SmGemmArgs *g,
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
          const float *xb = x + k0;

          for (size_t p = panel_start; p < panel_end; p++)
            {
              const uint16_t *w = sm_bf16_packed_block (g->w_bf16, g->k, g->n, k0, p);
              /* Eight chains: an FMA's latency covered (named, not an
               * array: GCC keeps these in registers). */
              __m512 c0 = _mm512_setzero_ps (), c1 = _mm512_setzero_ps (), c2 = _mm512_setzero_ps ();
              __m512 c3 = _mm512_setzero_ps (), c4 = _mm512_setzero_ps (), c5 = _mm512_setzero_ps ();
              __m512 c6 = _mm512_setzero_ps (), c7 = _mm512_setzero_ps ();
              size_t kk = 0, j0 = p * NR;

              for (; kk + 8 <= kc; kk += 8, w += 8 * NR)
                {
                  c0 = _mm512_fmadd_ps (_mm512_set1_ps (xb[kk]), widen (w), c0);
                  c1 = _mm512_fmadd_ps (_mm512_set1_ps (xb[kk + 1]), widen (w + NR), c1);
                  c2 = _mm512_fmadd_ps (_mm512_set1_ps (xb[kk + 2]), widen (w + 2 * NR), c2);
                  c3 = _mm512_fmadd_ps (_mm512_set1_ps (xb[kk + 3]), widen (w + 3 * NR), c3);
                  c4 = _mm512_fmadd_ps (_mm512_set1_ps (xb[kk + 4]), widen (w + 4 * NR), c4);
                  c5 = _mm512_fmadd_ps (_mm512_set1_ps (xb[kk + 5]), widen (w + 5 * NR), c5);
                  c6 = _mm512_fmadd_ps (_mm512_set1_ps (xb[kk + 6]), widen (w + 6 * NR), c6);
                  c7 = _mm512_fmadd_ps (_mm512_set1_ps (xb[kk + 7]), widen (w + 7 * NR), c7);
                }
              for (; kk < kc; kk++, w += NR)
                c0 = _mm512_fmadd_ps (_mm512_set1_ps (xb[kk]), widen (w), c0);
              c0 = _mm512_add_ps (_mm512_add_ps (c0, c1), _mm512_add_ps (c2, c3));
              c4 = _mm512_add_ps (_mm512_add_ps (c4, c5), _mm512_add_ps (c6, c7));
              store_panel (g, y, j0, g->n - j0 < NR ? g->n - j0 : NR, _mm512_add_ps (c0, c4), k0 == 0,
                           k0 + kc >= g->k);
            }
        }
    }
}

/* The activations' signs move onto the weights, as in the AVX2 kernel;
 * AVX-512 has no byte sign instruction, so a mask of the negative bytes
 * selects which weights to negate.  Both the magnitudes and the masks are
 * made once per K block, not once per panel. */
void
sm_i8_gemv_bias_act__avx512bw (const SmGemmArgs *g,
                               size_t            m_start,
                               size_t            m_end,
                               size_t            panel_start,
                               size_t            panel_end)
{
  const __m512i ones = _mm512_set1_epi16 (1), zero = _mm512_setzero_si512 ();
  int8_t q[SM_GEMM_KC] __attribute__ ((aligned (64)));
  float d[SM_GEMM_KC / SM_Q8_BLOCK];
  int32_t magnitudes[SM_GEMM_KC / 4];
  __mmask64 negative[SM_GEMM_KC / 4];

  for (size_t i = m_start; i < m_end; i++)
    {
      const float *x = g->a + i * g->lda;
      float *y = g->c + i * g->ldc;

      for (size_t k0 = 0; k0 < g->k; k0 += SM_GEMM_KC)
        {
          size_t kc = g->k - k0 < SM_GEMM_KC ? g->k - k0 : SM_GEMM_KC;
          size_t groups = sm_i8_block_rows (g->k, k0) / 4;

          sm_q8_quantize_row (x + k0, kc, q, d);
          for (size_t gr = 0; gr < groups; gr++)
            {
              int32_t quad;
              __m512i xv;

              memcpy (&quad, q + 4 * gr, sizeof quad);
              xv = _mm512_set1_epi32 (quad);
              negative[gr] = _mm512_movepi8_mask (xv);
              magnitudes[gr] = _mm_cvtsi128_si32 (_mm512_castsi512_si128 (_mm512_abs_epi8 (xv)));
            }

          for (size_t p = panel_start; p < panel_end; p++)
            {
              const int8_t *w = sm_i8_packed_block (g->w_i8, g->k, g->n, k0, p);
              __m512 c = _mm512_setzero_ps ();
              size_t j0 = p * NR;

              for (size_t gr = 0; gr < groups; )
                {
                  size_t end = gr + SM_Q8_BLOCK / 4 < groups ? gr + SM_Q8_BLOCK / 4 : groups;
                  __m512i s = _mm512_setzero_si512 ();
                  float scale = d[gr / (SM_Q8_BLOCK / 4)];

                  for (; gr < end; gr++)
                    {
                      __m512i wv = _mm512_load_si512 ((const void *) (w + gr * 4 * NR));

                      wv = _mm512_mask_sub_epi8 (wv, negative[gr], zero, wv);
                      s = _mm512_add_epi32 (s, _mm512_madd_epi16 (_mm512_maddubs_epi16 (_mm512_set1_epi32 (magnitudes[gr]), wv), ones));
                    }
                  c = _mm512_fmadd_ps (_mm512_cvtepi32_ps (s), _mm512_set1_ps (scale), c);
                }
              store_panel (g, y, j0, g->n - j0 < NR ? g->n - j0 : NR, c, k0 == 0, k0 + kc >= g->k);
            }
        }
    }
}
