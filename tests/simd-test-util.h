/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Shared by the kernel tests: a test path per kernel set, skipped (not
 * passed) where this machine or build lacks that set. */

#include <glib.h>

#include "sm-simd.h"

typedef struct
{
  SmSimdLevel  level;
  const char  *case_name;
} SimdCase;

typedef void (*SimdCaseFunc) (const SmKernels *kernels,
                              const SimdCase  *simd_case);

typedef struct
{
  SimdCase      simd_case;
  SimdCaseFunc  func;
} SimdCaseData;

static void
simd_case_run (gconstpointer data)
{
  const SimdCaseData *d = data;
  const char *reason = NULL;
  const SmKernels *kernels = sm_simd_get_kernels_for (d->simd_case.level, &reason);

  if (kernels == NULL)
    {
      g_autofree char *message = g_strdup_printf ("%s kernels unavailable: %s",
                                                  sm_simd_level_get_name (d->simd_case.level),
                                                  reason);
      g_test_skip (message);
      return;
    }

  d->func (kernels, &d->simd_case);
}

/* Registers /engine/simd/<area>/<level>/<case> for every kernel set.  The
 * case data is static: a test subprocess runs one case, and heap data of
 * the others would never be freed (LeakSanitizer would say so). */
static inline void
simd_add_case (const char   *area,
               const char   *case_name,
               SimdCaseFunc  func)
{
  static SimdCaseData cases[32 * SM_SIMD_N_LEVELS];
  static guint n_cases;

  for (SmSimdLevel level = 0; level < SM_SIMD_N_LEVELS; level++)
    {
      SimdCaseData *d = &cases[n_cases++];
      g_autofree char *path = g_strdup_printf ("/engine/simd/%s/%s/%s", area,
                                               sm_simd_level_get_name (level), case_name);

      g_assert (n_cases <= G_N_ELEMENTS (cases));
      d->simd_case.level = level;
      d->simd_case.case_name = case_name;
      d->func = func;
      g_test_add_data_func (path, d, simd_case_run);
    }
}

/* Deterministic uniform floats in [lo, hi). */
static inline void
simd_fill_random (GRand *rand,
                  float *x,
                  gsize  n,
                  double lo,
                  double hi)
{
  for (gsize i = 0; i < n; i++)
    x[i] = (float) g_rand_double_range (rand, lo, hi);
}
