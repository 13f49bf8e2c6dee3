/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "sm-bench.h"

G_BEGIN_DECLS

typedef enum {
  SM_SIMD_BENCH_FULL,   /* every shape of the table */
  SM_SIMD_BENCH_QUICK,  /* a few small shapes: checks that it runs, in seconds */
} SmSimdBenchScope;

/* Progress for long runs: called before each measurement with a short
 * description ("gemm avx2 m=128 n=1024 k=1024") and the fraction done. */
typedef void (*SmBenchProgressFunc) (const char *what,
                                     double      fraction,
                                     gpointer    user_data);

/* Measures, in one run: the FMA peak, OpenBLAS (when its library can be
 * loaded), the generic kernels and every vector kernel set available here,
 * and adds each figure with its baseline and target to @report. */
void sm_simd_bench_kernels (SmBenchReport       *report,
                            SmSimdBenchScope     scope,
                            SmBenchProgressFunc  progress,
                            gpointer             user_data);

/* Batch-one GEMV with f32, bf16 and int8 weights, with the best kernels
 * here: speed against f32 in the same run, in cache (256 … 1024) and from
 * memory (4096), and the error each precision costs. */
void sm_precision_bench    (SmBenchReport       *report,
                            SmSimdBenchScope     scope,
                            SmBenchProgressFunc  progress,
                            gpointer             user_data);

G_END_DECLS
