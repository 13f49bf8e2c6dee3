/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "sm-simd-private.h"

/* AArch64 Advanced SIMD, which every AArch64 CPU has. */
const SmKernels sm_kernels_neon = {
  .name        = "neon",
  .is_vector   = 1,
  .gemm_mr     = 6,
  .gemm        = sm_f32_gemm_bias_act__neon_6x16,
  .gemv        = sm_f32_gemv_bias_act__neon,
  .gemv_bf16   = sm_bf16_gemv_bias_act__neon,
  .gemv_i8     = sm_i8_gemv_bias_act__neon,
#define SM_KERNEL_OP(field, stem, ret, params) .field = sm_##stem##__neon,
#include "sm-kernel-ops.inc"
#undef SM_KERNEL_OP
};
