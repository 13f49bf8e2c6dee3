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
  .gemv_bf16   = sm_bf16_gemv_bias_act__avx2_fma,
  .gemv_i8     = sm_i8_gemv_bias_act__avx2,
#define SM_KERNEL_OP(field, stem, ret, params) .field = sm_##stem##__avx2,
#include "sm-kernel-ops.inc"
#undef SM_KERNEL_OP
};
