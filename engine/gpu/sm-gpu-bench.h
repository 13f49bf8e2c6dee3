/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "sm-bench.h"

G_BEGIN_DECLS

/* `synmesh bench gpu`: the standard preset's expert per batch size on the
 * GPU (everything, and dispatches only) against the best CPU kernels in the
 * same run, the crossover batch, and the GEMM shader's GFLOP/s on one
 * square layer (K = N = 4096 at batch 4096; 1024 with @quick). */
void sm_gpu_bench (SmBenchReport *report,
                   gboolean       quick);

G_END_DECLS
