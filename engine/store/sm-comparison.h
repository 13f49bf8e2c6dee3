/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "sm-store.h"

G_BEGIN_DECLS

/* How two runs compare on one metric: the one rule the Sessions page and
 * `synmesh sessions compare` both show. */
typedef enum
{
  SM_VERDICT_UNKNOWN,   /* a run lacks the metric, or A's mean is 0 */
  SM_VERDICT_SAME,      /* within SM_COMPARISON_SAME_PERCENT */
  SM_VERDICT_BETTER,
  SM_VERDICT_WORSE,
} SmVerdict;

/* Changes smaller than this many percent are "the same". */
#define SM_COMPARISON_SAME_PERCENT 1.0

typedef struct
{
  double    mean_a;        /* count-weighted mean over the shorter run; NaN: none */
  double    mean_b;
  double    change;        /* (B − A) / |A| × 100; NaN when unknown */
  SmVerdict verdict;
} SmComparison;

/* Summarises @points_a and @points_b (from sm_store_compare) for @metric:
 * each bucket's mean weighted by its sample count, so a bucket holding one
 * sample weighs no more than its share. */
void        sm_comparison_compute        (const char   *metric,
                                          GArray       *points_a,
                                          GArray       *points_b,
                                          SmComparison *comparison);
/* "same", "better", "worse" or "unknown", marked for translation: the
 * front-ends show _() of it. */
const char *sm_verdict_get_name          (SmVerdict     verdict);

G_END_DECLS
