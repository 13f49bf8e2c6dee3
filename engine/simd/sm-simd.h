/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "sm-kernels.h"

G_BEGIN_DECLS

/* The kernel sets, from the portable fallback up.  Their names are the
 * tokens of SM_SIMD_DISABLE and of the engine's backend knob. */
typedef enum {
  SM_SIMD_GENERIC,
  SM_SIMD_AVX2,
  SM_SIMD_AVX512,
  SM_SIMD_NEON,
  SM_SIMD_N_LEVELS
} SmSimdLevel;

#define SM_SIMD_DISABLE_ENV "SM_SIMD_DISABLE"

const char      *sm_simd_level_get_name     (SmSimdLevel   level);
gboolean         sm_simd_level_from_name    (const char   *name,
                                             SmSimdLevel  *level);

/* The kernels of @level, or NULL when this build, this CPU and OS, or
 * SM_SIMD_DISABLE rule them out; @reason (optional) then says which, for
 * people. */
const SmKernels *sm_simd_get_kernels_for    (SmSimdLevel   level,
                                             const char  **reason);

/* The best level available here, chosen once at start-up (and logged). */
SmSimdLevel      sm_simd_get_best_level     (void);

/* The best kernels here, for work outside an engine (loading a model's
 * half-precision weights).  Which kernels an engine runs is that engine's
 * own knob (sm_engine_set_backend): there is no process-wide choice. */
const SmKernels *sm_simd_get_kernels        (void);

/* GEMM through @kernels over a tile range (see SmGemmFunc), choosing the
 * GEMV kernel for a single row, and counting the FLOPs for utilisation. */
void             sm_simd_gemm               (const SmKernels  *kernels,
                                             const SmGemmArgs *args,
                                             gsize             m_start,
                                             gsize             m_end,
                                             gsize             panel_start,
                                             gsize             panel_end);

/* Adds work done outside sm_simd_gemm() (activations, softmax) to the FLOP
 * counters, as vector or scalar work according to @kernels. */
void             sm_simd_count_flops        (const SmKernels  *kernels,
                                             guint64           flops);

/* FLOPs run so far in vector and in generic kernels, process-wide:
 * "SIMD utilisation" is vector / (vector + scalar) between two readings. */
void             sm_simd_get_flop_counts    (guint64          *vector_flops,
                                             guint64          *scalar_flops);

G_END_DECLS
