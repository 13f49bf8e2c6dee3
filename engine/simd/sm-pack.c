/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <string.h>

#include "sm-simd-private.h"

/* The layout is described in sm-kernels.h.  The padding zeros of the last
 * panel let every kernel compute whole panels and only mask the store. */

size_t
sm_f32_packed_weights_size (size_t k,
                            size_t n)
{
  return sm_f32_packed_n_panels (n) * k * SM_GEMM_NR;
}

void
sm_f32_pack_weights (const float *w,
                     size_t       ldw,
                     size_t       k,
                     size_t       n,
                     float       *packed)
{
  for (size_t k0 = 0; k0 < k; k0 += SM_GEMM_KC)
    {
      size_t kc = k - k0 < SM_GEMM_KC ? k - k0 : SM_GEMM_KC;

      for (size_t j0 = 0; j0 < n; j0 += SM_GEMM_NR)
        {
          size_t nr = n - j0 < SM_GEMM_NR ? n - j0 : SM_GEMM_NR;

          for (size_t kk = k0; kk < k0 + kc; kk++)
            {
              memcpy (packed, w + kk * ldw + j0, nr * sizeof (float));
              memset (packed + nr, 0, (SM_GEMM_NR - nr) * sizeof (float));
              packed += SM_GEMM_NR;
            }
        }
    }
}
