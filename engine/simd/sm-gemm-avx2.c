/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <immintrin.h>

#include "sm-simd-private.h"
#include "sm-vmath-avx2.h"

#define MR 6
#define NR SM_GEMM_NR

/* Cache blocking: a KC×16 slice of one weight panel (16 KiB) stays in L1
 * while every row tile of an MC×KC block of A (≤ 144 KiB) streams past it
 * from L2.  KC is the packing's K block. */
#define KC SM_GEMM_KC
#define MC 144

#define ALWAYS_INLINE inline __attribute__ ((always_inline))
#define MIN(a, b) ((a) < (b) ? (a) : (b))

/* One tile: rows [0, mr) × one panel, over a KC block of k.  mr is a
 * compile-time constant at every call site, so that the accumulators stay
 * in registers (6 × 2 ymm) and the row loops disappear.  The first K block
 * starts from zero, later ones from C; the last adds bias and activation in
 * registers before the (masked, for a partial panel) store. */
static ALWAYS_INLINE void
tile_6x16 (const int           mr,
           size_t              nr,
           size_t              kc,
           const float        *a,
           size_t              lda,
           const float        *b,
           float              *c,
           size_t              ldc,
           int                 first,
           int                 last,
           const float        *bias,
           SmActivation        act,
           const float        *prefetch)
{
  __m256 acc0[MR], acc1[MR];
  __m256i mask0 = sm_tail_mask_avx2 (nr), mask1 = sm_tail_mask_avx2 (nr > 8 ? nr - 8 : 0);

#pragma GCC unroll 6
  for (int r = 0; r < mr; r++)
    {
      if (first)
        {
          acc0[r] = _mm256_setzero_ps ();
          acc1[r] = _mm256_setzero_ps ();
        }
      else if (nr == NR)
        {
          acc0[r] = _mm256_loadu_ps (c + r * ldc);
          acc1[r] = _mm256_loadu_ps (c + r * ldc + 8);
        }
      else
        {
          acc0[r] = _mm256_maskload_ps (c + r * ldc, mask0);
          acc1[r] = _mm256_maskload_ps (c + r * ldc + 8, mask1);
        }
    }

  for (size_t kk = 0; kk < kc; kk++)
    {
      __m256 b0 = _mm256_load_ps (b);
      __m256 b1 = _mm256_load_ps (b + 8);

      b += NR;
      /* One line of the next panel per step: by the end of this tile the
       * next panel's slice is in L1 rather than in L3 or DRAM. */
      if (prefetch != NULL)
        _mm_prefetch ((const char *) (prefetch + kk * NR), _MM_HINT_T0);
#pragma GCC unroll 6
      for (int r = 0; r < mr; r++)
        {
          __m256 av = _mm256_broadcast_ss (a + r * lda + kk);

          acc0[r] = _mm256_fmadd_ps (av, b0, acc0[r]);
          acc1[r] = _mm256_fmadd_ps (av, b1, acc1[r]);
        }
    }

  if (last)
    {
      __m256 bias0 = _mm256_setzero_ps (), bias1 = _mm256_setzero_ps ();

      if (bias != NULL)
        {
          bias0 = _mm256_maskload_ps (bias, mask0);
          bias1 = _mm256_maskload_ps (bias + 8, mask1);
        }
#pragma GCC unroll 6
      for (int r = 0; r < mr; r++)
        {
          acc0[r] = sm_act_avx2 (act, _mm256_add_ps (acc0[r], bias0));
          acc1[r] = sm_act_avx2 (act, _mm256_add_ps (acc1[r], bias1));
        }
    }

#pragma GCC unroll 6
  for (int r = 0; r < mr; r++)
    {
      if (nr == NR)
        {
          _mm256_storeu_ps (c + r * ldc, acc0[r]);
          _mm256_storeu_ps (c + r * ldc + 8, acc1[r]);
        }
      else
        {
          _mm256_maskstore_ps (c + r * ldc, mask0, acc0[r]);
          _mm256_maskstore_ps (c + r * ldc + 8, mask1, acc1[r]);
        }
    }
}

/* Up to three rows × two panels: a batch of two or three has too few rows
 * for tile_6x16() to keep eight FMA chains going (two rows × one panel
 * are four chains, each waiting on its last FMA), so it takes two panels
 * at once, each weight loaded once for all its rows.  The first panel is
 * whole; the second may be partial (@nr). */
static ALWAYS_INLINE void
few_rows_3x32 (const int     mr,
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
  __m256 acc[3][4];
  __m256i mask[4];
  const float *b1 = b + kc * NR;

  mask[0] = mask[1] = _mm256_set1_epi32 (-1);
  mask[2] = sm_tail_mask_avx2 (nr);
  mask[3] = sm_tail_mask_avx2 (nr > 8 ? nr - 8 : 0);

#pragma GCC unroll 3
  for (int r = 0; r < mr; r++)
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++)
      acc[r][q] = first ? _mm256_setzero_ps () : _mm256_maskload_ps (c + r * ldc + q * 8, mask[q]);

  for (size_t kk = 0; kk < kc; kk++)
    {
      __m256 w[4] = {
        _mm256_load_ps (b + kk * NR), _mm256_load_ps (b + kk * NR + 8),
        _mm256_load_ps (b1 + kk * NR), _mm256_load_ps (b1 + kk * NR + 8),
      };

#pragma GCC unroll 3
      for (int r = 0; r < mr; r++)
        {
          __m256 av = _mm256_broadcast_ss (a + r * lda + kk);

#pragma GCC unroll 4
          for (int q = 0; q < 4; q++)
            acc[r][q] = _mm256_fmadd_ps (av, w[q], acc[r][q]);
        }
    }

#pragma GCC unroll 4
  for (int q = 0; q < 4; q++)
    {
      __m256 bv = last && bias != NULL ? _mm256_maskload_ps (bias + q * 8, mask[q]) : _mm256_setzero_ps ();

#pragma GCC unroll 3
      for (int r = 0; r < mr; r++)
        _mm256_maskstore_ps (c + r * ldc + q * 8, mask[q],
                             last ? sm_act_avx2 (act, _mm256_add_ps (acc[r][q], bv)) : acc[r][q]);
    }
}

/* sm_f32_gemm_bias_act__avx2_fma_6x16: 6-row × 16-column FMA tiles over
 * packed weights, K blocked by 256; any m, n, k; A, C and bias unaligned,
 * W 32-byte aligned.  Partial panels use masked loads and stores, never
 * reading or writing past n. */
void
sm_f32_gemm_bias_act__avx2_fma_6x16 (const SmGemmArgs *g,
                                     size_t            m_start,
                                     size_t            m_end,
                                     size_t            panel_start,
                                     size_t            panel_end)
{
  for (size_t k0 = 0; k0 < g->k || k0 == 0; k0 += KC)
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
              const float *next = p + 1 < panel_end ? b + kc * NR : NULL;
              const float *bias = g->bias != NULL ? g->bias + j0 : NULL;

              /* Batches of two or three, two panels at a time. */
              if (m1 - m0 <= 3 && p + 1 < panel_end)
                {
                  const float *a = g->a + m0 * g->lda + k0;
                  float *c = g->c + m0 * g->ldc + j0;
                  size_t nr2 = g->n - j0 - NR < NR ? g->n - j0 - NR : NR;

                  if (m1 - m0 == 3)
                    few_rows_3x32 (3, nr2, kc, a, g->lda, b, c, g->ldc, first, last, bias, g->act);
                  else if (m1 - m0 == 2)
                    few_rows_3x32 (2, nr2, kc, a, g->lda, b, c, g->ldc, first, last, bias, g->act);
                  else
                    few_rows_3x32 (1, nr2, kc, a, g->lda, b, c, g->ldc, first, last, bias, g->act);
                  p++;
                  continue;
                }

              for (size_t i = m0; i < m1; )
                {
                  const float *a = g->a + i * g->lda + k0;
                  float *c = g->c + i * g->ldc + j0;
                  /* Rows spread evenly over the tiles this block needs
                   * (8 = 4 + 4, not 6 + 2): a short tile has too few
                   * accumulators to hide the FMA latency. */
                  size_t tiles = (m1 - i + MR - 1) / MR;
                  size_t mr = (m1 - i + tiles - 1) / tiles;
                  const float *pf = i == m0 ? next : NULL;

                  switch (mr)
                    {
                    case 6: tile_6x16 (6, nr, kc, a, g->lda, b, c, g->ldc, first, last, bias, g->act, pf); break;
                    case 5: tile_6x16 (5, nr, kc, a, g->lda, b, c, g->ldc, first, last, bias, g->act, pf); break;
                    case 4: tile_6x16 (4, nr, kc, a, g->lda, b, c, g->ldc, first, last, bias, g->act, pf); break;
                    case 3: tile_6x16 (3, nr, kc, a, g->lda, b, c, g->ldc, first, last, bias, g->act, pf); break;
                    case 2: tile_6x16 (2, nr, kc, a, g->lda, b, c, g->ldc, first, last, bias, g->act, pf); break;
                    default: tile_6x16 (1, nr, kc, a, g->lda, b, c, g->ldc, first, last, bias, g->act, pf); break;
                    }
                  i += mr;
                }
            }
        }

      if (g->k == 0)
        break;
    }
}

/* Bias, activation and the masked store of one panel's 16 results. */
static ALWAYS_INLINE void
gemv_store (__m256        acc0,
            __m256        acc1,
            size_t        nr,
            const float  *bias,
            float        *c,
            SmActivation  act)
{
  __m256i mask0 = sm_tail_mask_avx2 (nr), mask1 = sm_tail_mask_avx2 (nr > 8 ? nr - 8 : 0);

  if (bias != NULL)
    {
      acc0 = _mm256_add_ps (acc0, _mm256_maskload_ps (bias, mask0));
      acc1 = _mm256_add_ps (acc1, _mm256_maskload_ps (bias + 8, mask1));
    }
  acc0 = sm_act_avx2 (act, acc0);
  acc1 = sm_act_avx2 (act, acc1);
  if (nr == NR)
    {
      _mm256_storeu_ps (c, acc0);
      _mm256_storeu_ps (c + 8, acc1);
    }
  else
    {
      _mm256_maskstore_ps (c, mask0, acc0);
      _mm256_maskstore_ps (c + 8, mask1, acc1);
    }
}

/* One K block (k ≤ SM_GEMM_KC: the weights are small and cache-resident):
 * four panels at once, so that eight independent accumulators hide the FMA
 * latency, with one broadcast of x serving eight FMAs; the remaining panels
 * one at a time with k split over two chains. */
static void
gemv_short (const SmGemmArgs *g,
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
      size_t p = panel_start;

      for (; p + 4 <= panel_end; p += 4)
        {
          const float *w0 = sm_f32_packed_block (g->w, k, g->n, 0, p);
          const float *w1 = w0 + k * NR, *w2 = w1 + k * NR, *w3 = w2 + k * NR;
          __m256 a00 = _mm256_setzero_ps (), a01 = _mm256_setzero_ps ();
          __m256 a10 = _mm256_setzero_ps (), a11 = _mm256_setzero_ps ();
          __m256 a20 = _mm256_setzero_ps (), a21 = _mm256_setzero_ps ();
          __m256 a30 = _mm256_setzero_ps (), a31 = _mm256_setzero_ps ();

          for (size_t kk = 0; kk < k; kk++)
            {
              __m256 xv = _mm256_broadcast_ss (x + kk);

              a00 = _mm256_fmadd_ps (xv, _mm256_load_ps (w0), a00);
              a01 = _mm256_fmadd_ps (xv, _mm256_load_ps (w0 + 8), a01);
              a10 = _mm256_fmadd_ps (xv, _mm256_load_ps (w1), a10);
              a11 = _mm256_fmadd_ps (xv, _mm256_load_ps (w1 + 8), a11);
              a20 = _mm256_fmadd_ps (xv, _mm256_load_ps (w2), a20);
              a21 = _mm256_fmadd_ps (xv, _mm256_load_ps (w2 + 8), a21);
              a30 = _mm256_fmadd_ps (xv, _mm256_load_ps (w3), a30);
              a31 = _mm256_fmadd_ps (xv, _mm256_load_ps (w3 + 8), a31);
              w0 += NR, w1 += NR, w2 += NR, w3 += NR;
            }

          gemv_store (a00, a01, MIN (NR, g->n - p * NR), g->bias ? g->bias + p * NR : NULL,
                      y + p * NR, g->act);
          gemv_store (a10, a11, MIN (NR, g->n - (p + 1) * NR), g->bias ? g->bias + (p + 1) * NR : NULL,
                      y + (p + 1) * NR, g->act);
          gemv_store (a20, a21, MIN (NR, g->n - (p + 2) * NR), g->bias ? g->bias + (p + 2) * NR : NULL,
                      y + (p + 2) * NR, g->act);
          gemv_store (a30, a31, MIN (NR, g->n - (p + 3) * NR), g->bias ? g->bias + (p + 3) * NR : NULL,
                      y + (p + 3) * NR, g->act);
        }

      for (; p < panel_end; p++)
        {
          const float *w = sm_f32_packed_block (g->w, k, g->n, 0, p);
          __m256 e0 = _mm256_setzero_ps (), e1 = _mm256_setzero_ps ();
          __m256 o0 = _mm256_setzero_ps (), o1 = _mm256_setzero_ps ();
          size_t kk = 0;

          for (; kk + 2 <= k; kk += 2, w += 2 * NR)
            {
              __m256 xe = _mm256_broadcast_ss (x + kk), xo = _mm256_broadcast_ss (x + kk + 1);

              e0 = _mm256_fmadd_ps (xe, _mm256_load_ps (w), e0);
              e1 = _mm256_fmadd_ps (xe, _mm256_load_ps (w + 8), e1);
              o0 = _mm256_fmadd_ps (xo, _mm256_load_ps (w + NR), o0);
              o1 = _mm256_fmadd_ps (xo, _mm256_load_ps (w + NR + 8), o1);
            }
          if (kk < k)
            {
              __m256 xe = _mm256_broadcast_ss (x + kk);

              e0 = _mm256_fmadd_ps (xe, _mm256_load_ps (w), e0);
              e1 = _mm256_fmadd_ps (xe, _mm256_load_ps (w + 8), e1);
            }

          gemv_store (_mm256_add_ps (e0, o0), _mm256_add_ps (e1, o1), MIN (NR, g->n - p * NR),
                      g->bias ? g->bias + p * NR : NULL, y + p * NR, g->act);
        }
    }
}

/* sm_f32_gemv_bias_act__avx2_fma_16: one row of A at a time, for weights
 * deeper than one K block (they live in L2, L3 or DRAM).  GEMV is then
 * bound by the bandwidth at which W arrives, so this kernel reads the packed
 * weights in memory order — K block by K block, panel after panel, one
 * sequential stream that the prefetchers follow best — with four
 * accumulator chains per panel to cover the FMA latency.  Partial sums of a
 * K block wait in C itself; the last block adds bias and activation. */
static void
gemv_stream (const SmGemmArgs *g,
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
          size_t kc = k - k0 < SM_GEMM_KC ? k - k0 : SM_GEMM_KC;
          int first = k0 == 0, last = k0 + kc >= k;

          for (size_t p = panel_start; p < panel_end; p++)
            {
              const float *w = sm_f32_packed_block (g->w, k, g->n, k0, p);
              const float *xb = x + k0;
              size_t j0 = p * NR;
              size_t nr = g->n - j0 < NR ? g->n - j0 : NR;
              __m256i mask0 = sm_tail_mask_avx2 (nr), mask1 = sm_tail_mask_avx2 (nr > 8 ? nr - 8 : 0);
              __m256 c0 = _mm256_setzero_ps (), c1 = _mm256_setzero_ps ();
              __m256 d0 = _mm256_setzero_ps (), d1 = _mm256_setzero_ps ();
              __m256 e0 = _mm256_setzero_ps (), e1 = _mm256_setzero_ps ();
              __m256 f0 = _mm256_setzero_ps (), f1 = _mm256_setzero_ps ();
              size_t kk = 0;

              for (; kk + 4 <= kc; kk += 4, w += 4 * NR)
                {
                  __m256 x0 = _mm256_broadcast_ss (xb + kk), x1 = _mm256_broadcast_ss (xb + kk + 1);
                  __m256 x2 = _mm256_broadcast_ss (xb + kk + 2), x3 = _mm256_broadcast_ss (xb + kk + 3);

                  c0 = _mm256_fmadd_ps (x0, _mm256_load_ps (w), c0);
                  c1 = _mm256_fmadd_ps (x0, _mm256_load_ps (w + 8), c1);
                  d0 = _mm256_fmadd_ps (x1, _mm256_load_ps (w + 16), d0);
                  d1 = _mm256_fmadd_ps (x1, _mm256_load_ps (w + 24), d1);
                  e0 = _mm256_fmadd_ps (x2, _mm256_load_ps (w + 32), e0);
                  e1 = _mm256_fmadd_ps (x2, _mm256_load_ps (w + 40), e1);
                  f0 = _mm256_fmadd_ps (x3, _mm256_load_ps (w + 48), f0);
                  f1 = _mm256_fmadd_ps (x3, _mm256_load_ps (w + 56), f1);
                }
              for (; kk < kc; kk++, w += NR)
                {
                  __m256 x0 = _mm256_broadcast_ss (xb + kk);

                  c0 = _mm256_fmadd_ps (x0, _mm256_load_ps (w), c0);
                  c1 = _mm256_fmadd_ps (x0, _mm256_load_ps (w + 8), c1);
                }

              c0 = _mm256_add_ps (_mm256_add_ps (c0, d0), _mm256_add_ps (e0, f0));
              c1 = _mm256_add_ps (_mm256_add_ps (c1, d1), _mm256_add_ps (e1, f1));
              if (!first)
                {
                  c0 = _mm256_add_ps (c0, _mm256_maskload_ps (y + j0, mask0));
                  c1 = _mm256_add_ps (c1, _mm256_maskload_ps (y + j0 + 8, mask1));
                }
              if (last)
                {
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

          k0 += kc;
        }
      while (k0 < k);
    }
}

/* sm_f32_gemv_bias_act__avx2_fma: the GEMM contract tuned for single rows;
 * any n, k and alignment of A, C and bias. */
void
sm_f32_gemv_bias_act__avx2_fma (const SmGemmArgs *g,
                                size_t            m_start,
                                size_t            m_end,
                                size_t            panel_start,
                                size_t            panel_end)
{
  if (g->k <= SM_GEMM_KC)
    gemv_short (g, m_start, m_end, panel_start, panel_end);
  else
    gemv_stream (g, m_start, m_end, panel_start, panel_end);
}
