/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "sm-simd-private.h"

/* Plain C for every op: the fallback on any CPU and the reference that every
 * vector table is tested against. */
const SmKernels sm_kernels_generic = {
  .name        = "generic",
  .is_vector   = 0,
  .gemm_mr     = 4,
  .gemm        = sm_f32_gemm_bias_act__generic_4x16,
  .gemv        = sm_f32_gemm_bias_act__generic_4x16,
  .gemv_bf16   = sm_bf16_gemv_bias_act__generic,
  .gemv_i8     = sm_i8_gemv_bias_act__generic,
#define SM_KERNEL_OP(field, stem, ret, params) .field = sm_##stem##__generic,
#include "sm-kernel-ops.inc"
#undef SM_KERNEL_OP
};
