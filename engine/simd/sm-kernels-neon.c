/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "sm-simd-private.h"

/* AArch64 Advanced SIMD, which every AArch64 CPU has. */
const SmKernels sm_kernels_neon = {
  .name        = "neon",
  .is_vector   = 1,
  .gemm_mr     = 6,
  .gemm        = sm_f32_gemm_bias_act__neon_6x16,
  .gemv        = sm_f32_gemv_bias_act__neon,
  .activate    = sm_f32_vact__neon,
  .softmax     = sm_f32_softmax__neon,
  .dot         = sm_f32_dot__neon,
  .axpy        = sm_f32_axpy__neon,
  .add         = sm_f32_add__neon,
  .scale       = sm_f32_scale__neon,
  .sum         = sm_f32_sum__neon,
  .argmax      = sm_f32_argmax__neon,
  .f16_to_f32  = sm_f16_to_f32__neon,
  .bf16_to_f32 = sm_bf16_to_f32__neon,
};
