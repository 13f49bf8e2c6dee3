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

/* bfloat16 is the top half of a float.  Each 32-bit lane of a row holds
 * two weights, an even column below an odd one: shifting the lane left by
 * 16 gives the even column as a float, masking its low half the odd one.
 * Shifts and masks take no shuffle port (widening with vpmovzxwd or
 * vpunpcklwd would, and they would set the pace for weights in cache);
 * the sums stay split by parity until the store interleaves them. */
void
sm_bf16_gemv_bias_act__avx2_fma (const SmGemmArgs *g,
                                 size_t            m_start,
                                 size_t            m_end,
                                 size_t            panel_start,
                                 size_t            panel_end)
{
  const __m256i high = _mm256_set1_epi32 ((int) 0xffff0000u);

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
              /* Eight chains: an FMA's latency covered, as in the f32 GEMV
               * (named, not an array: GCC keeps these in registers). */
              __m256 e0 = _mm256_setzero_ps (), o0 = _mm256_setzero_ps ();
              __m256 e1 = _mm256_setzero_ps (), o1 = _mm256_setzero_ps ();
              __m256 e2 = _mm256_setzero_ps (), o2 = _mm256_setzero_ps ();
              __m256 e3 = _mm256_setzero_ps (), o3 = _mm256_setzero_ps ();
              __m256 lo, hi;
              size_t kk = 0, j0 = p * NR;

#define BF16_ROW(e, o, r)                                                                        \
              do {                                                                               \
                __m256i raw = _mm256_load_si256 ((const __m256i *) (w + (r) * NR));              \
                __m256 xv = _mm256_broadcast_ss (xb + kk + (r));                                 \
                e = _mm256_fmadd_ps (xv, _mm256_castsi256_ps (_mm256_slli_epi32 (raw, 16)), e);  \
                o = _mm256_fmadd_ps (xv, _mm256_castsi256_ps (_mm256_and_si256 (raw, high)), o); \
              } while (0)
              for (; kk + 4 <= kc; kk += 4, w += 4 * NR)
                {
                  BF16_ROW (e0, o0, 0);
                  BF16_ROW (e1, o1, 1);
                  BF16_ROW (e2, o2, 2);
                  BF16_ROW (e3, o3, 3);
                }
              for (; kk < kc; kk++, w += NR)
                BF16_ROW (e0, o0, 0);
#undef BF16_ROW
              e0 = _mm256_add_ps (_mm256_add_ps (e0, e1), _mm256_add_ps (e2, e3));
              o0 = _mm256_add_ps (_mm256_add_ps (o0, o1), _mm256_add_ps (o2, o3));
              /* Per 128-bit lane: columns 0–3 and 4–7 (lane 0), 8–11 and
               * 12–15 (lane 1). */
              lo = _mm256_unpacklo_ps (e0, o0);
              hi = _mm256_unpackhi_ps (e0, o0);
              store_panel (g, y, j0, g->n - j0 < NR ? g->n - j0 : NR,
                           _mm256_permute2f128_ps (lo, hi, 0x20), _mm256_permute2f128_ps (lo, hi, 0x31),
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
