/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "sm-store.h"

G_BEGIN_DECLS

/* How two runs compare on one metric: the one rule the Sessions page and
 * `synmesh sessions compare` both show. */
typedef enum
{
  SM_VERDICT_UNKNOWN,   /* a run lacks the metric, or A's mean is 0 */
  SM_VERDICT_SAME,      /* no significant difference (see below) */
  SM_VERDICT_BETTER,
  SM_VERDICT_WORSE,
} SmVerdict;

/* Changes smaller than this many percent are "the same" however sure. */
#define SM_COMPARISON_SAME_PERCENT 1.0

/* Fewer buckets than this in either run give no interval. */
#define SM_COMPARISON_MIN_BUCKETS  3

typedef struct
{
  double    mean_a;        /* count-weighted mean over the shorter run; NaN: none */
  double    mean_b;
  double    change;        /* (B − A) / |A| × 100; NaN when unknown */
  /* The 95 % bootstrap interval of the change, in %: the buckets of each
   * run resampled (2,000 times, the same draws every time); NaN when a run
   * has fewer than SM_COMPARISON_MIN_BUCKETS buckets. */
  double    change_low;
  double    change_high;
  SmVerdict verdict;
} SmComparison;

/* Summarises @points_a and @points_b (from sm_store_compare) for @metric:
 * each bucket's mean weighted by its sample count, so a bucket holding one
 * sample weighs no more than its share.  The verdict is "same" when the
 * change is under SM_COMPARISON_SAME_PERCENT or its interval holds 0 (the
 * difference is within the runs' own noise); else better or worse by the
 * metric's direction.  Without an interval, the percentage alone decides. */
void        sm_comparison_compute        (const char   *metric,
                                          GArray       *points_a,
                                          GArray       *points_b,
                                          SmComparison *comparison);
/* The same, with each run's values multiplied by its @scale: throughput
 * over offered load compares what each run made of the load it was given
 * (scale = 1 / offered rate). */
void        sm_comparison_compute_scaled (const char   *metric,
                                          GArray       *points_a,
                                          double        scale_a,
                                          GArray       *points_b,
                                          double        scale_b,
                                          SmComparison *comparison);

/* The settings that differ between two runs' configurations (the JSON
 * objects sessions are stored with): "key: A → B" lines, in A's key order
 * then B's own keys; empty when they match, NULL when either is not a JSON
 * object (a damaged or foreign database). */
GPtrArray  *sm_comparison_diff_configs   (const char   *config_a,
                                          const char   *config_b);
/* A run's offered load in queries per second (its config's "rate" for an
 * open-loop workload), or NaN: closed loops and runs without a workload
 * offer no rate to normalise by. */
double      sm_comparison_offered_rate   (const char   *config);
/* "same", "better", "worse" or "unknown", marked for translation: the
 * front-ends show _() of it. */
const char *sm_verdict_get_name          (SmVerdict     verdict);

G_END_DECLS
