/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Every kernel of every instruction set, for the dispatch tables and the
 * tests.  Names carry the contract: op, ISA, tile (XNNPACK style). */

#include "sm-kernels.h"

/* Generic: plain C; vector tables reuse them for the ops they leave scalar. */
void   sm_f32_gemm_bias_act__generic_4x16 (const SmGemmArgs *args, size_t m_start, size_t m_end,
                                           size_t panel_start, size_t panel_end);
void   sm_f32_vact__generic        (SmActivation act, const float *x, float *y, size_t n);
void   sm_f32_softmax__generic     (const float *x, float *y, size_t n);
float  sm_f32_dot__generic         (const float *a, const float *b, size_t n);
void   sm_f32_axpy__generic        (float alpha, const float *x, float *y, size_t n);
void   sm_f32_add__generic         (const float *a, const float *b, float *y, size_t n);
void   sm_f32_scale__generic       (float alpha, const float *x, float *y, size_t n);
float  sm_f32_sum__generic         (const float *x, size_t n);
size_t sm_f32_argmax__generic      (const float *x, size_t n, float *max);
void   sm_f16_to_f32__generic      (const uint16_t *src, float *dst, size_t n);
void   sm_bf16_to_f32__generic     (const uint16_t *src, float *dst, size_t n);

#if defined(__x86_64__)
/* AVX2 + FMA + F16C */
void   sm_f32_gemm_bias_act__avx2_fma_6x16 (const SmGemmArgs *args, size_t m_start, size_t m_end,
                                            size_t panel_start, size_t panel_end);
void   sm_f32_gemv_bias_act__avx2_fma (const SmGemmArgs *args, size_t m_start, size_t m_end,
                                            size_t panel_start, size_t panel_end);
void   sm_f32_vact__avx2       (SmActivation act, const float *x, float *y, size_t n);
void   sm_f32_softmax__avx2    (const float *x, float *y, size_t n);
float  sm_f32_dot__avx2        (const float *a, const float *b, size_t n);
void   sm_f32_axpy__avx2       (float alpha, const float *x, float *y, size_t n);
void   sm_f32_add__avx2        (const float *a, const float *b, float *y, size_t n);
void   sm_f32_scale__avx2      (float alpha, const float *x, float *y, size_t n);
float  sm_f32_sum__avx2        (const float *x, size_t n);
size_t sm_f32_argmax__avx2     (const float *x, size_t n, float *max);
void   sm_f16_to_f32__avx2     (const uint16_t *src, float *dst, size_t n);
void   sm_bf16_to_f32__avx2    (const uint16_t *src, float *dst, size_t n);
/* Benchmark only: an FMA-bound loop measuring the machine's peak; sink
 * must hold 8 floats (16 for AVX-512). */
uint64_t sm_fma_peak_loop__avx2 (uint64_t iterations, float *sink);

/* AVX-512 F, DQ, BW, VL + FMA + F16C */
void   sm_f32_gemm_bias_act__avx512f_12x32 (const SmGemmArgs *args, size_t m_start, size_t m_end,
                                            size_t panel_start, size_t panel_end);
void   sm_f32_gemv_bias_act__avx512f (const SmGemmArgs *args, size_t m_start, size_t m_end,
                                      size_t panel_start, size_t panel_end);
void   sm_f32_vact__avx512     (SmActivation act, const float *x, float *y, size_t n);
void   sm_f32_softmax__avx512  (const float *x, float *y, size_t n);
float  sm_f32_dot__avx512      (const float *a, const float *b, size_t n);
void   sm_f32_axpy__avx512     (float alpha, const float *x, float *y, size_t n);
void   sm_f32_add__avx512      (const float *a, const float *b, float *y, size_t n);
void   sm_f32_scale__avx512    (float alpha, const float *x, float *y, size_t n);
float  sm_f32_sum__avx512      (const float *x, size_t n);
size_t sm_f32_argmax__avx512   (const float *x, size_t n, float *max);
void   sm_f16_to_f32__avx512   (const uint16_t *src, float *dst, size_t n);
void   sm_bf16_to_f32__avx512  (const uint16_t *src, float *dst, size_t n);
uint64_t sm_fma_peak_loop__avx512 (uint64_t iterations, float *sink);
#endif

#if defined(__aarch64__)
/* AArch64 Advanced SIMD */
void   sm_f32_gemm_bias_act__neon_6x16 (const SmGemmArgs *args, size_t m_start, size_t m_end,
                                        size_t panel_start, size_t panel_end);
void   sm_f32_gemv_bias_act__neon (const SmGemmArgs *args, size_t m_start, size_t m_end,
                                   size_t panel_start, size_t panel_end);
void   sm_f32_vact__neon       (SmActivation act, const float *x, float *y, size_t n);
void   sm_f32_softmax__neon    (const float *x, float *y, size_t n);
float  sm_f32_dot__neon        (const float *a, const float *b, size_t n);
void   sm_f32_axpy__neon       (float alpha, const float *x, float *y, size_t n);
void   sm_f32_add__neon        (const float *a, const float *b, float *y, size_t n);
void   sm_f32_scale__neon      (float alpha, const float *x, float *y, size_t n);
float  sm_f32_sum__neon        (const float *x, size_t n);
size_t sm_f32_argmax__neon     (const float *x, size_t n, float *max);
void   sm_f16_to_f32__neon     (const uint16_t *src, float *dst, size_t n);
void   sm_bf16_to_f32__neon    (const uint16_t *src, float *dst, size_t n);
uint64_t sm_fma_peak_loop__neon (uint64_t iterations, float *sink);
#endif
