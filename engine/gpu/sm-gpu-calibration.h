/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "sm-gpu.h"
#include "sm-kernels.h"

G_BEGIN_DECLS

/* Where the GPU starts paying: one expert timed on the CPU (@kernels, one
 * thread) and on the GPU (upload, dispatches and download) for batches of
 * 1, 2, 4 … @max_batch, best of a few runs each. */

typedef struct
{
  guint  batch;
  double cpu_us;
  double gpu_total_us;
  double gpu_dispatch_us;   /* NaN without timestamps */
} SmGpuCalibrationPoint;

/* The crossover: the smallest batch from which on the GPU was faster at
 * every size measured, or G_MAXUINT when it never was.  @points (optional)
 * receives every SmGpuCalibrationPoint. */
guint sm_gpu_calibrate (SmGpuModel      *model,
                        guint            index,
                        SmExpert        *expert,
                        const SmKernels *kernels,
                        guint            max_batch,
                        GArray          *points,
                        GError         **error);

G_END_DECLS
