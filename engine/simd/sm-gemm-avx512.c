/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <immintrin.h>

#include "sm-simd-private.h"
#include "sm-vmath-avx512.h"

#define MR 12
#define NR SM_GEMM_NR
#define KC SM_GEMM_KC
#define MC 144
/* Batches this small go to few_rows(). */
#define FEW_ROWS_MAX 8

#define ALWAYS_INLINE inline __attribute__ ((always_inline))

/* One tile: rows [0, mr) × np adjacent panels (np = 1 or 2, one zmm per
 * panel row), over one K block.  mr and np are compile-time constants at
 * every call site, so the up to 24 accumulators stay in registers.  As in
 * the AVX2 kernel: the first K block starts from zero, the last adds bias
 * and activation; a partial last panel is masked on load and store. */
static ALWAYS_INLINE void
tile (const int      mr,
      const int      np,
      size_t         nr_last,
      size_t         kc,
      const float   *a,
      size_t         lda,
      const float   *b,
      float         *c,
      size_t         ldc,
      int            first,
      int            last,
      const float   *bias,
      SmActivation   act,
      const float   *prefetch)
{
  __m512 acc[MR][2];
  __mmask16 mask[2];

  mask[0] = np == 1 ? sm_tail_mask_avx512 (nr_last) : 0xffff;
  mask[1] = sm_tail_mask_avx512 (nr_last);

#pragma GCC unroll 12
  for (int r = 0; r < mr; r++)
#pragma GCC unroll 2
    for (int q = 0; q < np; q++)
      acc[r][q] = first ? _mm512_setzero_ps () : _mm512_maskz_loadu_ps (mask[q], c + r * ldc + q * NR);

  for (size_t kk = 0; kk < kc; kk++)
    {
      __m512 b0 = _mm512_load_ps (b + kk * NR);
      __m512 b1 = np == 2 ? _mm512_load_ps (b + kc * NR + kk * NR) : b0;

      if (prefetch != NULL)
        {
          _mm_prefetch ((const char *) (prefetch + kk * NR), _MM_HINT_T0);
          if (np == 2)
            _mm_prefetch ((const char *) (prefetch + kc * NR + kk * NR), _MM_HINT_T0);
        }
#pragma GCC unroll 12
      for (int r = 0; r < mr; r++)
        {
          __m512 av = _mm512_set1_ps (a[r * lda + kk]);

          acc[r][0] = _mm512_fmadd_ps (av, b0, acc[r][0]);
          if (np == 2)
            acc[r][1] = _mm512_fmadd_ps (av, b1, acc[r][1]);
        }
    }

  if (last)
    {
      __m512 bv[2];

#pragma GCC unroll 2
      for (int q = 0; q < np; q++)
        bv[q] = bias != NULL ? _mm512_maskz_loadu_ps (mask[q], bias + q * NR) : _mm512_setzero_ps ();
#pragma GCC unroll 12
      for (int r = 0; r < mr; r++)
#pragma GCC unroll 2
        for (int q = 0; q < np; q++)
          acc[r][q] = sm_act_avx512 (act, _mm512_add_ps (acc[r][q], bv[q]));
    }

#pragma GCC unroll 12
  for (int r = 0; r < mr; r++)
#pragma GCC unroll 2
    for (int q = 0; q < np; q++)
      _mm512_mask_storeu_ps (c + r * ldc + q * NR, mask[q], acc[r][q]);
}

#define TILE_CASES(NP)                                                             \
  switch (mr)                                                                      \
    {                                                                              \
    case 12: tile (12, NP, nr_last, kc, a, g->lda, b, c, g->ldc, first, last, bias, g->act, pf); break; \
    case 11: tile (11, NP, nr_last, kc, a, g->lda, b, c, g->ldc, first, last, bias, g->act, pf); break; \
    case 10: tile (10, NP, nr_last, kc, a, g->lda, b, c, g->ldc, first, last, bias, g->act, pf); break; \
    case 9:  tile (9,  NP, nr_last, kc, a, g->lda, b, c, g->ldc, first, last, bias, g->act, pf); break; \
    case 8:  tile (8,  NP, nr_last, kc, a, g->lda, b, c, g->ldc, first, last, bias, g->act, pf); break; \
    case 7:  tile (7,  NP, nr_last, kc, a, g->lda, b, c, g->ldc, first, last, bias, g->act, pf); break; \
    case 6:  tile (6,  NP, nr_last, kc, a, g->lda, b, c, g->ldc, first, last, bias, g->act, pf); break; \
    case 5:  tile (5,  NP, nr_last, kc, a, g->lda, b, c, g->ldc, first, last, bias, g->act, pf); break; \
    case 4:  tile (4,  NP, nr_last, kc, a, g->lda, b, c, g->ldc, first, last, bias, g->act, pf); break; \
    case 3:  tile (3,  NP, nr_last, kc, a, g->lda, b, c, g->ldc, first, last, bias, g->act, pf); break; \
    case 2:  tile (2,  NP, nr_last, kc, a, g->lda, b, c, g->ldc, first, last, bias, g->act, pf); break; \
    default: tile (1,  NP, nr_last, kc, a, g->lda, b, c, g->ldc, first, last, bias, g->act, pf); break; \
    }

/* Up to eight rows × np panels (np = 1, 2, 4 or 8, at most 24
 * accumulators), over one K block: a batch of two or three has too few
 * rows for the 12-row tile to keep eight FMA chains going (two rows × two
 * panels are four chains, each waiting on its last FMA), so it spreads
 * over more panels instead, each weight loaded once for all its rows.
 * Only the last of the np panels may be partial. */
static ALWAYS_INLINE void
few_rows (const int      mr,
          const int      np,
          size_t         nr_last,
          size_t         kc,
          const float   *a,
          size_t         lda,
          const float   *b,
          float         *c,
          size_t         ldc,
          int            first,
          int            last,
          const float   *bias,
          SmActivation   act)
{
  __m512 acc[8][8];
  __mmask16 last_mask = sm_tail_mask_avx512 (nr_last);

#pragma GCC unroll 8
  for (int r = 0; r < mr; r++)
#pragma GCC unroll 8
    for (int q = 0; q < np; q++)
      acc[r][q] = first ? _mm512_setzero_ps ()
                        : _mm512_maskz_loadu_ps (q == np - 1 ? last_mask : 0xffff, c + r * ldc + q * NR);

  for (size_t kk = 0; kk < kc; kk++)
    {
      __m512 av[8];

#pragma GCC unroll 8
      for (int r = 0; r < mr; r++)
        av[r] = _mm512_set1_ps (a[r * lda + kk]);
#pragma GCC unroll 8
      for (int q = 0; q < np; q++)
        {
          __m512 bq = _mm512_load_ps (b + q * kc * NR + kk * NR);

#pragma GCC unroll 8
          for (int r = 0; r < mr; r++)
            acc[r][q] = _mm512_fmadd_ps (av[r], bq, acc[r][q]);
        }
    }

#pragma GCC unroll 8
  for (int q = 0; q < np; q++)
    {
      __mmask16 mask = q == np - 1 ? last_mask : 0xffff;
      __m512 bv = last && bias != NULL ? _mm512_maskz_loadu_ps (mask, bias + q * NR) : _mm512_setzero_ps ();

#pragma GCC unroll 8
      for (int r = 0; r < mr; r++)
        {
          __m512 v = last ? sm_act_avx512 (act, _mm512_add_ps (acc[r][q], bv)) : acc[r][q];

          _mm512_mask_storeu_ps (c + r * ldc + q * NR, mask, v);
        }
    }
}

#define FEW_ROWS(MR, NP) few_rows (MR, NP, nr_last, kc, a, g->lda, b, c, g->ldc, first, last, bias, g->act)

/* Rows [i, i + mr), mr ≤ FEW_ROWS_MAX, over panels [p, panel_end) of one K
 * block, as many panels at a time as the registers allow. */
static void
few_rows_block (const SmGemmArgs *g,
                size_t            i,
                size_t            mr,
                size_t            k0,
                size_t            kc,
                size_t            p,
                size_t            panel_end,
                int               first,
                int               last)
{
  const float *a = g->a + i * g->lda + k0;

  while (p < panel_end)
    {
      size_t left = panel_end - p;
      int np = left >= 8 && mr <= 3 ? 8 : left >= 4 && mr <= 6 ? 4 : left >= 2 ? 2 : 1;
      size_t j_last = (p + np - 1) * NR;
      size_t nr_last = g->n - j_last < NR ? g->n - j_last : NR;
      const float *b = sm_f32_packed_block (g->w, g->k, g->n, k0, p);
      const float *bias = g->bias != NULL ? g->bias + p * NR : NULL;
      float *c = g->c + i * g->ldc + p * NR;

      /* mr × np ≤ 24 accumulators: the rest of the 32 registers hold the
       * broadcasts and a weight. */
      if (np == 8)
        switch (mr)
          {
          case 3: FEW_ROWS (3, 8); break;
          case 2: FEW_ROWS (2, 8); break;
          default: FEW_ROWS (1, 8); break;
          }
      else if (np == 4)
        switch (mr)
          {
          case 6: FEW_ROWS (6, 4); break;
          case 5: FEW_ROWS (5, 4); break;
          case 4: FEW_ROWS (4, 4); break;
          case 3: FEW_ROWS (3, 4); break;
          case 2: FEW_ROWS (2, 4); break;
          default: FEW_ROWS (1, 4); break;
          }
      else
        switch (mr * 4 + np)
          {
#define FEW_ROWS_CASE(MR, NP) case MR * 4 + NP: FEW_ROWS (MR, NP); break;
          FEW_ROWS_CASE (8, 2) FEW_ROWS_CASE (7, 2) FEW_ROWS_CASE (6, 2) FEW_ROWS_CASE (5, 2)
          FEW_ROWS_CASE (4, 2) FEW_ROWS_CASE (3, 2) FEW_ROWS_CASE (2, 2) FEW_ROWS_CASE (1, 2)
          FEW_ROWS_CASE (8, 1) FEW_ROWS_CASE (7, 1) FEW_ROWS_CASE (6, 1) FEW_ROWS_CASE (5, 1)
          FEW_ROWS_CASE (4, 1) FEW_ROWS_CASE (3, 1) FEW_ROWS_CASE (2, 1) FEW_ROWS_CASE (1, 1)
#undef FEW_ROWS_CASE
          default: __builtin_unreachable ();
          }
      p += np;
    }
}

/* sm_f32_gemm_bias_act__avx512f_12x32: tiles of up to 12 rows × two panels
 * (one when a single panel is left), K blocked by 256, rows spread evenly
 * over tiles, the next panel pair prefetched during the first row tile;
 * blocks of eight rows or fewer go to few_rows_block().  Any m, n, k; A, C
 * and bias unaligned, W 64-byte aligned. */
void
sm_f32_gemm_bias_act__avx512f_12x32 (const SmGemmArgs *g,
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

          if (m1 - m0 <= FEW_ROWS_MAX)
            {
              few_rows_block (g, m0, m1 - m0, k0, kc, panel_start, panel_end, first, last);
              continue;
            }
          for (size_t p = panel_start; p < panel_end; )
            {
              int np = p + 2 <= panel_end ? 2 : 1;
              size_t j_last = (p + np - 1) * NR;
              size_t nr_last = g->n - j_last < NR ? g->n - j_last : NR;
              const float *b = sm_f32_packed_block (g->w, g->k, g->n, k0, p);
              const float *next = p + np < panel_end ? b + np * kc * NR : NULL;
              const float *bias = g->bias != NULL ? g->bias + p * NR : NULL;

              for (size_t i = m0; i < m1; )
                {
                  const float *a = g->a + i * g->lda + k0;
                  float *c = g->c + i * g->ldc + p * NR;
                  size_t tiles = (m1 - i + MR - 1) / MR;
                  size_t mr = (m1 - i + tiles - 1) / tiles;
                  const float *pf = i == m0 ? next : NULL;

                  if (np == 2)
                    TILE_CASES (2)
                  else
                    TILE_CASES (1)
                  i += mr;
                }
              p += np;
            }
        }

      k0 += kc;
    }
  while (k0 < g->k);
}

/* The reduction of one panel's chains, bias, activation and store. */
static ALWAYS_INLINE void
gemv_finish (__m512        acc,
             int           first,
             int           last,
             size_t        nr,
             const float  *bias,
             float        *y,
             SmActivation  act)
{
  __mmask16 mask = sm_tail_mask_avx512 (nr);

  if (!first)
    acc = _mm512_add_ps (acc, _mm512_maskz_loadu_ps (mask, y));
  if (last)
    {
      if (bias != NULL)
        acc = _mm512_add_ps (acc, _mm512_maskz_loadu_ps (mask, bias));
      acc = sm_act_avx512 (act, acc);
    }
  _mm512_mask_storeu_ps (y, mask, acc);
}

/* sm_f32_gemv_bias_act__avx512f: single rows.  Within each K block the
 * weights are read in memory order (one stream), eight panels at a time
 * while eight remain (eight chains, one broadcast per eight FMAs), then
 * panel by panel with k split over four chains. */
void
sm_f32_gemv_bias_act__avx512f (const SmGemmArgs *g,
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
          const float *xb = x + k0;
          size_t p = panel_start;

          for (; p + 8 <= panel_end; p += 8)
            {
              const float *w = sm_f32_packed_block (g->w, k, g->n, k0, p);
              __m512 acc[8];

#pragma GCC unroll 8
              for (int q = 0; q < 8; q++)
                acc[q] = _mm512_setzero_ps ();
              for (size_t kk = 0; kk < kc; kk++)
                {
                  __m512 xv = _mm512_set1_ps (xb[kk]);

#pragma GCC unroll 8
                  for (int q = 0; q < 8; q++)
                    acc[q] = _mm512_fmadd_ps (xv, _mm512_load_ps (w + q * kc * NR + kk * NR), acc[q]);
                }
#pragma GCC unroll 8
              for (int q = 0; q < 8; q++)
                {
                  size_t j0 = (p + q) * NR;

                  gemv_finish (acc[q], first, last, g->n - j0 < NR ? g->n - j0 : NR,
                               g->bias ? g->bias + j0 : NULL, y + j0, g->act);
                }
            }

          for (; p < panel_end; p++)
            {
              const float *w = sm_f32_packed_block (g->w, k, g->n, k0, p);
              __m512 c0 = _mm512_setzero_ps (), c1 = _mm512_setzero_ps ();
              __m512 c2 = _mm512_setzero_ps (), c3 = _mm512_setzero_ps ();
              size_t kk = 0, j0 = p * NR;

              for (; kk + 4 <= kc; kk += 4)
                {
                  c0 = _mm512_fmadd_ps (_mm512_set1_ps (xb[kk]), _mm512_load_ps (w + kk * NR), c0);
                  c1 = _mm512_fmadd_ps (_mm512_set1_ps (xb[kk + 1]), _mm512_load_ps (w + (kk + 1) * NR), c1);
                  c2 = _mm512_fmadd_ps (_mm512_set1_ps (xb[kk + 2]), _mm512_load_ps (w + (kk + 2) * NR), c2);
                  c3 = _mm512_fmadd_ps (_mm512_set1_ps (xb[kk + 3]), _mm512_load_ps (w + (kk + 3) * NR), c3);
                }
              for (; kk < kc; kk++)
                c0 = _mm512_fmadd_ps (_mm512_set1_ps (xb[kk]), _mm512_load_ps (w + kk * NR), c0);

              gemv_finish (_mm512_add_ps (_mm512_add_ps (c0, c1), _mm512_add_ps (c2, c3)),
                           first, last, g->n - j0 < NR ? g->n - j0 : NR,
                           g->bias ? g->bias + j0 : NULL, y + j0, g->act);
            }

          k0 += kc;
        }
      while (k0 < k);
    }
}
