/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "sm-simd-private.h"

/* AVX-512 F, DQ, BW and VL with FMA and F16C: dispatch checks all of them,
 * as every CPU since Skylake-SP and Zen 4 has.  Where the CPU has
 * AVX512-VNNI too (Ice Lake, Zen 4 and later), the same set but for the
 * int8 GEMV, which takes it. */
#define AVX512_KERNELS                                   \
  .name        = "avx512",                               \
  .is_vector   = 1,                                      \
  .gemm_mr     = 12,                                     \
  .gemm        = sm_f32_gemm_bias_act__avx512f_12x32,    \
  .gemv        = sm_f32_gemv_bias_act__avx512f,          \
  .gemv_bf16   = sm_bf16_gemv_bias_act__avx512f,
#define SM_KERNEL_OP(field, stem, ret, params) .field = sm_##stem##__avx512,

const SmKernels sm_kernels_avx512 = {
  AVX512_KERNELS
  .gemv_i8     = sm_i8_gemv_bias_act__avx512bw,
#include "sm-kernel-ops.inc"
};

const SmKernels sm_kernels_avx512_vnni = {
  AVX512_KERNELS
  .gemv_i8     = sm_i8_gemv_bias_act__avx512vnni,
#include "sm-kernel-ops.inc"
};

#undef SM_KERNEL_OP
