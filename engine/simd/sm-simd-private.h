/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Every kernel of every instruction set, for the dispatch tables and the
 * tests.  Names carry the contract: op, ISA, tile (XNNPACK style). */

#include "sm-kernels.h"

/* Generic: plain C; vector tables reuse them for the ops they leave scalar. */
void   sm_f32_gemm_bias_act__generic_4x16 (const SmGemmArgs *args, size_t m_start, size_t m_end,
                                           size_t panel_start, size_t panel_end);
void   sm_bf16_gemv_bias_act__generic (const SmGemmArgs *args, size_t m_start, size_t m_end,
                                       size_t panel_start, size_t panel_end);
void   sm_i8_gemv_bias_act__generic (const SmGemmArgs *args, size_t m_start, size_t m_end,
                                     size_t panel_start, size_t panel_end);
#define SM_KERNEL_OP(field, stem, ret, params) ret sm_##stem##__generic params;
#include "sm-kernel-ops.inc"
#undef SM_KERNEL_OP

#if defined(__x86_64__)
/* AVX2 + FMA + F16C */
void   sm_f32_gemm_bias_act__avx2_fma_6x16 (const SmGemmArgs *args, size_t m_start, size_t m_end,
                                            size_t panel_start, size_t panel_end);
void   sm_f32_gemv_bias_act__avx2_fma (const SmGemmArgs *args, size_t m_start, size_t m_end,
                                            size_t panel_start, size_t panel_end);
void   sm_bf16_gemv_bias_act__avx2_fma (const SmGemmArgs *args, size_t m_start, size_t m_end,
                                        size_t panel_start, size_t panel_end);
void   sm_i8_gemv_bias_act__avx2 (const SmGemmArgs *args, size_t m_start, size_t m_end,
                                  size_t panel_start, size_t panel_end);
#define SM_KERNEL_OP(field, stem, ret, params) ret sm_##stem##__avx2 params;
#include "sm-kernel-ops.inc"
#undef SM_KERNEL_OP
/* Benchmark only: an FMA-bound loop measuring the machine's peak; sink
 * must hold 8 floats (16 for AVX-512). */
uint64_t sm_fma_peak_loop__avx2 (uint64_t iterations, float *sink);

/* AVX-512 F, DQ, BW, VL + FMA + F16C */
void   sm_f32_gemm_bias_act__avx512f_12x32 (const SmGemmArgs *args, size_t m_start, size_t m_end,
                                            size_t panel_start, size_t panel_end);
void   sm_f32_gemv_bias_act__avx512f (const SmGemmArgs *args, size_t m_start, size_t m_end,
                                      size_t panel_start, size_t panel_end);
void   sm_bf16_gemv_bias_act__avx512f (const SmGemmArgs *args, size_t m_start, size_t m_end,
                                       size_t panel_start, size_t panel_end);
void   sm_i8_gemv_bias_act__avx512bw (const SmGemmArgs *args, size_t m_start, size_t m_end,
                                      size_t panel_start, size_t panel_end);
void   sm_i8_gemv_bias_act__avx512vnni (const SmGemmArgs *args, size_t m_start, size_t m_end,
                                        size_t panel_start, size_t panel_end);
#define SM_KERNEL_OP(field, stem, ret, params) ret sm_##stem##__avx512 params;
#include "sm-kernel-ops.inc"
#undef SM_KERNEL_OP
uint64_t sm_fma_peak_loop__avx512 (uint64_t iterations, float *sink);
#endif

#if defined(__aarch64__)
/* AArch64 Advanced SIMD */
void   sm_f32_gemm_bias_act__neon_6x16 (const SmGemmArgs *args, size_t m_start, size_t m_end,
                                        size_t panel_start, size_t panel_end);
void   sm_f32_gemv_bias_act__neon (const SmGemmArgs *args, size_t m_start, size_t m_end,
                                   size_t panel_start, size_t panel_end);
void   sm_bf16_gemv_bias_act__neon (const SmGemmArgs *args, size_t m_start, size_t m_end,
                                    size_t panel_start, size_t panel_end);
void   sm_i8_gemv_bias_act__neon (const SmGemmArgs *args, size_t m_start, size_t m_end,
                                  size_t panel_start, size_t panel_end);
#define SM_KERNEL_OP(field, stem, ret, params) ret sm_##stem##__neon params;
#include "sm-kernel-ops.inc"
#undef SM_KERNEL_OP
uint64_t sm_fma_peak_loop__neon (uint64_t iterations, float *sink);
#endif
