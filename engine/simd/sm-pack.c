/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <string.h>

#include "sm-simd-private.h"

/* Panel layout: the weights are cut into panels of SM_GEMM_NR columns; each
 * panel stores its k rows one after the other, SM_GEMM_NR floats per row, so
 * that a microkernel streams one panel with unit stride.  The last panel is
 * padded with zeros, which lets every kernel compute whole panels and only
 * mask the store. */

size_t
sm_f32_packed_weights_size (size_t k,
                            size_t n)
{
  size_t panels = (n + SM_GEMM_NR - 1) / SM_GEMM_NR;

  return panels * k * SM_GEMM_NR;
}

void
sm_f32_pack_weights (const float *w,
                     size_t       ldw,
                     size_t       k,
                     size_t       n,
                     float       *packed)
{
  for (size_t j0 = 0; j0 < n; j0 += SM_GEMM_NR)
    {
      size_t nr = n - j0 < SM_GEMM_NR ? n - j0 : SM_GEMM_NR;

      for (size_t kk = 0; kk < k; kk++)
        {
          memcpy (packed, w + kk * ldw + j0, nr * sizeof (float));
          memset (packed + nr, 0, (SM_GEMM_NR - nr) * sizeof (float));
          packed += SM_GEMM_NR;
        }
    }
}
