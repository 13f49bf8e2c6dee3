/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <immintrin.h>

#include "sm-simd-private.h"
#include "sm-vmath-avx512.h"

/* What the AVX-512 reduced-precision GEMVs share (sm-gemv-reduced-avx512.c,
 * sm-gemv-i8-avx512vnni.c): a panel's 16 sums, finished. */

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
