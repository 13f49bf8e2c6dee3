/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <glib/gi18n-lib.h>

#include "sm-comparison.h"
#include "sm-metric-ids.h"

static double
weighted_mean (GArray *points)
{
  double sum = 0;
  guint64 count = 0;

  for (guint i = 0; points != NULL && i < points->len; i++)
    {
      const SmStorePoint *p = &g_array_index (points, SmStorePoint, i);

      if (p->count > 0 && !isnan (p->mean))
        {
          sum += p->mean * p->count;
          count += p->count;
        }
    }
  return count > 0 ? sum / (double) count : NAN;
}

/* Whether a smaller value of @metric is better (latencies, pool use,
 * failures, queue depth) or a larger one (throughput, hit rates). */
static gboolean
lower_is_better (const char *metric)
{
  /* Throughput and hit rates are better higher; every other figure the
   * engine measures is a cost (time, memory, failures, waiting work). */
  return !(g_str_equal (metric, SM_METRIC_ID_THROUGHPUT) || g_str_equal (metric, SM_METRIC_ID_CACHE_HIT_RATE)
           || g_str_equal (metric, SM_METRIC_ID_SIMD_UTILISATION) || g_str_equal (metric, SM_METRIC_ID_MEAN_BATCH));
}

void
sm_comparison_compute (const char   *metric,
                       GArray       *points_a,
                       GArray       *points_b,
                       SmComparison *comparison)
{
  g_return_if_fail (metric != NULL && comparison != NULL);

  comparison->mean_a = weighted_mean (points_a);
  comparison->mean_b = weighted_mean (points_b);
  comparison->change = NAN;
  comparison->verdict = SM_VERDICT_UNKNOWN;

  if (isnan (comparison->mean_a) || isnan (comparison->mean_b) || comparison->mean_a == 0)
    return;

  comparison->change = 100.0 * (comparison->mean_b - comparison->mean_a) / fabs (comparison->mean_a);
  if (fabs (comparison->change) < SM_COMPARISON_SAME_PERCENT)
    comparison->verdict = SM_VERDICT_SAME;
  else if ((comparison->change < 0) == lower_is_better (metric))
    comparison->verdict = SM_VERDICT_BETTER;
  else
    comparison->verdict = SM_VERDICT_WORSE;
}

const char *
sm_verdict_get_name (SmVerdict verdict)
{
  switch (verdict)
    {
    case SM_VERDICT_SAME:
      return N_("same");
    case SM_VERDICT_BETTER:
      return N_("better");
    case SM_VERDICT_WORSE:
      return N_("worse");
    case SM_VERDICT_UNKNOWN:
    default:
      return N_("unknown");
    }
}
