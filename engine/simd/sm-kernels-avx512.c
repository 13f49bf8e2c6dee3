/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "sm-simd-private.h"

/* AVX-512 F, DQ, BW and VL with FMA and F16C: dispatch checks all of them,
 * as every CPU since Skylake-SP and Zen 4 has. */
const SmKernels sm_kernels_avx512 = {
  .name        = "avx512",
  .is_vector   = 1,
  .gemm_mr     = 12,
  .gemm        = sm_f32_gemm_bias_act__avx512f_12x32,
  .gemv        = sm_f32_gemv_bias_act__avx512f,
  .activate    = sm_f32_vact__avx512,
  .softmax     = sm_f32_softmax__avx512,
  .dot         = sm_f32_dot__avx512,
  .axpy        = sm_f32_axpy__avx512,
  .add         = sm_f32_add__avx512,
  .scale       = sm_f32_scale__avx512,
  .sum         = sm_f32_sum__avx512,
  .argmax      = sm_f32_argmax__avx512,
  .f16_to_f32  = sm_f16_to_f32__avx512,
  .bf16_to_f32 = sm_bf16_to_f32__avx512,
};
