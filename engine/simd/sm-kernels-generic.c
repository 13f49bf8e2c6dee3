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
  .activate    = sm_f32_vact__generic,
  .softmax     = sm_f32_softmax__generic,
  .dot         = sm_f32_dot__generic,
  .axpy        = sm_f32_axpy__generic,
  .add         = sm_f32_add__generic,
  .scale       = sm_f32_scale__generic,
  .sum         = sm_f32_sum__generic,
  .argmax      = sm_f32_argmax__generic,
  .f16_to_f32  = sm_f16_to_f32__generic,
  .bf16_to_f32 = sm_bf16_to_f32__generic,
};
