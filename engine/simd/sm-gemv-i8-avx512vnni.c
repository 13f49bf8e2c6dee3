/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <immintrin.h>
#include <string.h>

#include "sm-gemv-reduced-avx512.h"

/* The AVX-512 int8 GEMV with AVX512-VNNI's VPDPBUSD: four byte products
 * summed into each 32-bit lane in one instruction instead of three.  Built
 * apart, with -mavx512vnni, and used only where the CPU has it. */
#define I8_GEMV_NAME sm_i8_gemv_bias_act__avx512vnni
#define I8_DOT(sums, magnitudes, weights, ones) _mm512_dpbusd_epi32 ((sums), (magnitudes), (weights))
#include "sm-gemv-i8-avx512.inc"
