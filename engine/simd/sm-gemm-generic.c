/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "sm-simd-private.h"
#include "sm-vmath-generic.h"

#define MR 4
#define NR SM_GEMM_NR

/* sm_f32_gemm_bias_act__generic_4x16: tiles of up to 4 rows × one 16-column
 * panel, plain C; any m, n, k, alignment and leading dimensions.  It is the
 * reference the vector kernels are tested against, so it stays simple: no
 * cache blocking, bias and activation applied per tile. */
void
sm_f32_gemm_bias_act__generic_4x16 (const SmGemmArgs *g,
                                    size_t            m_start,
                                    size_t            m_end,
                                    size_t            panel_start,
                                    size_t            panel_end)
{
  for (size_t p = panel_start; p < panel_end; p++)
    {
      size_t j0 = p * NR;
      size_t nr = g->n - j0 < NR ? g->n - j0 : NR;

      for (size_t i0 = m_start; i0 < m_end; i0 += MR)
        {
          size_t mr = m_end - i0 < MR ? m_end - i0 : MR;
          float acc[MR][NR] = { { 0 } };

          for (size_t kk = 0; kk < g->k; kk++)
            {
              const float *b = sm_f32_packed_block (g->w, g->k, g->n, kk - kk % SM_GEMM_KC, p)
                               + (kk % SM_GEMM_KC) * NR;

              for (size_t r = 0; r < mr; r++)
                {
                  float a = g->a[(i0 + r) * g->lda + kk];

                  for (size_t j = 0; j < NR; j++)
                    acc[r][j] += a * b[j];
                }
            }

          for (size_t r = 0; r < mr; r++)
            {
              float *c = g->c + (i0 + r) * g->ldc + j0;

              for (size_t j = 0; j < nr; j++)
                c[j] = sm_act_scalar (g->act, acc[r][j] + (g->bias ? g->bias[j0 + j] : 0.0f));
            }
        }
    }
}
