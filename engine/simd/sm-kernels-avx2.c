/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "sm-simd-private.h"

/* AVX2 + FMA + F16C (every CPU with AVX2 has the other two; dispatch checks
 * all three). */
const SmKernels sm_kernels_avx2 = {
  .name        = "avx2",
  .is_vector   = 1,
  .gemm_mr     = 6,
  .gemm        = sm_f32_gemm_bias_act__avx2_fma_6x16,
  .gemv        = sm_f32_gemv_bias_act__avx2_fma,
  .activate    = sm_f32_vact__avx2,
  .softmax     = sm_f32_softmax__avx2,
  .dot         = sm_f32_dot__avx2,
  .axpy        = sm_f32_axpy__avx2,
  .add         = sm_f32_add__avx2,
  .scale       = sm_f32_scale__avx2,
  .sum         = sm_f32_sum__avx2,
  .argmax      = sm_f32_argmax__avx2,
  .f16_to_f32  = sm_f16_to_f32__avx2,
  .bf16_to_f32 = sm_bf16_to_f32__avx2,
};
