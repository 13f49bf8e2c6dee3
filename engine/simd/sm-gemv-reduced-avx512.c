/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <immintrin.h>
#include <string.h>

#include "sm-gemv-reduced-avx512.h"

#define NR SM_GEMM_NR

/* Reduced-precision GEMVs, AVX-512 F/BW: as the AVX2 ones (see there), a
 * whole 16-column panel per register. */

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

/* AVX-512BW: bytes multiplied into pairs of 16-bit sums, those into 32. */
#define I8_GEMV_NAME sm_i8_gemv_bias_act__avx512bw
#define I8_DOT(sums, magnitudes, weights, ones) \
  _mm512_add_epi32 ((sums), _mm512_madd_epi16 (_mm512_maddubs_epi16 ((magnitudes), (weights)), (ones)))
#include "sm-gemv-i8-avx512.inc"
