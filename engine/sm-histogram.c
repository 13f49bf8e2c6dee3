/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include "sm-histogram.h"
#include "sm-stats.h"

struct _SmHistogram
{
  GMutex      lock;
  GPtrArray  *recorders;
  /* The merged counts at the last interval, to subtract. */
  SmHistogramRecorder *last;
};

struct _SmHistogramSnapshot
{
  SmHistogramRecorder merged;
};

SmHistogram *
sm_histogram_new (void)
{
  SmHistogram *histogram = g_new0 (SmHistogram, 1);

  g_mutex_init (&histogram->lock);
  histogram->recorders = g_ptr_array_new_with_free_func (g_free);
  histogram->last = g_new0 (SmHistogramRecorder, 1);
  histogram->last->min = G_MAXUINT64;

  return histogram;
}

void
sm_histogram_free (SmHistogram *histogram)
{
  if (histogram == NULL)
    return;

  g_ptr_array_unref (histogram->recorders);
  g_free (histogram->last);
  g_mutex_clear (&histogram->lock);
  g_free (histogram);
}

SmHistogramRecorder *
sm_histogram_add_recorder (SmHistogram *histogram)
{
  SmHistogramRecorder *recorder = g_new0 (SmHistogramRecorder, 1);

  recorder->min = G_MAXUINT64;

  g_mutex_lock (&histogram->lock);
  g_ptr_array_add (histogram->recorders, recorder);
  g_mutex_unlock (&histogram->lock);

  return recorder;
}

static void
merge_locked (SmHistogram         *histogram,
              SmHistogramRecorder *into)
{
  memset (into, 0, sizeof *into);
  into->min = G_MAXUINT64;

  for (guint r = 0; r < histogram->recorders->len; r++)
    {
      SmHistogramRecorder *rec = g_ptr_array_index (histogram->recorders, r);

      for (guint i = 0; i < SM_HISTOGRAM_BUCKETS; i++)
        into->counts[i] += __atomic_load_n (&rec->counts[i], __ATOMIC_RELAXED);
      into->sum += __atomic_load_n (&rec->sum, __ATOMIC_RELAXED);
      into->max = MAX (into->max, __atomic_load_n (&rec->max, __ATOMIC_RELAXED));
      into->min = MIN (into->min, __atomic_load_n (&rec->min, __ATOMIC_RELAXED));
    }

  /* The count is the buckets' sum, not the recorders' own counters: a
   * record racing with this merge may have bumped one and not yet the
   * other, and percentiles must agree with the buckets. */
  for (guint i = 0; i < SM_HISTOGRAM_BUCKETS; i++)
    into->count += into->counts[i];
}

SmHistogramSnapshot *
sm_histogram_snapshot (SmHistogram *histogram)
{
  SmHistogramSnapshot *snapshot = g_new (SmHistogramSnapshot, 1);

  g_mutex_lock (&histogram->lock);
  merge_locked (histogram, &snapshot->merged);
  g_mutex_unlock (&histogram->lock);

  return snapshot;
}

/* The range of values that land in bucket @index. */
static void
bucket_range (guint    index,
              guint64 *lower,
              guint64 *width)
{
  guint shift;

  if (index < SM_HISTOGRAM_SUB_BUCKETS)
    {
      *lower = index;
      *width = 1;
      return;
    }

  shift = index / SM_HISTOGRAM_SUB_BUCKETS - 1;
  *lower = (guint64) (SM_HISTOGRAM_SUB_BUCKETS + index % SM_HISTOGRAM_SUB_BUCKETS) << shift;
  *width = (guint64) 1 << shift;
}

/* The value reported for a bucket: its middle, which halves the error. */
static guint64
bucket_value (guint index)
{
  guint64 lower, width;

  bucket_range (index, &lower, &width);

  return lower + width / 2;
}

SmHistogramSnapshot *
sm_histogram_take_interval (SmHistogram *histogram)
{
  SmHistogramSnapshot *snapshot = g_new (SmHistogramSnapshot, 1);
  SmHistogramRecorder *now = &snapshot->merged, *last = histogram->last;
  guint lowest = SM_HISTOGRAM_BUCKETS, highest = 0;
  SmHistogramRecorder total;

  g_mutex_lock (&histogram->lock);
  merge_locked (histogram, &total);

  for (guint i = 0; i < SM_HISTOGRAM_BUCKETS; i++)
    {
      now->counts[i] = total.counts[i] - last->counts[i];
      if (now->counts[i] != 0)
        {
          lowest = MIN (lowest, i);
          highest = i;
        }
    }
  now->count = total.count - last->count;
  now->sum = total.sum - last->sum;

  /* A new overall extreme was recorded in this interval and is exact;
   * otherwise the interval's extremes are known to their bucket. */
  now->max = now->count == 0 ? 0 : total.max > last->max ? total.max : bucket_value (highest);
  now->min = now->count == 0 ? G_MAXUINT64 : total.min < last->min ? total.min : bucket_value (lowest);

  *last = total;
  g_mutex_unlock (&histogram->lock);

  return snapshot;
}

void
sm_histogram_snapshot_free (SmHistogramSnapshot *snapshot)
{
  g_free (snapshot);
}

guint64
sm_histogram_snapshot_get_count (SmHistogramSnapshot *snapshot)
{
  return snapshot->merged.count;
}

guint64
sm_histogram_snapshot_get_percentile (SmHistogramSnapshot *snapshot,
                                      double               percent)
{
  const SmHistogramRecorder *m = &snapshot->merged;
  guint64 rank, seen = 0;

  if (m->count == 0)
    return 0;

  percent = CLAMP (percent, 0.0, 100.0);
  rank = sm_stats_nearest_rank (m->count, percent);

  /* The extremes are known exactly; everything between, to its bucket. */
  if (rank == m->count)
    return m->max;
  if (percent == 0.0)
    return m->min;

  for (guint i = 0; i < SM_HISTOGRAM_BUCKETS; i++)
    {
      seen += m->counts[i];
      if (seen >= rank)
        return CLAMP (bucket_value (i), m->min, m->max);
    }

  return m->max;
}

guint64
sm_histogram_snapshot_get_max (SmHistogramSnapshot *snapshot)
{
  return snapshot->merged.max;
}

guint64
sm_histogram_snapshot_get_min (SmHistogramSnapshot *snapshot)
{
  return snapshot->merged.count > 0 ? snapshot->merged.min : 0;
}

double
sm_histogram_snapshot_get_mean (SmHistogramSnapshot *snapshot)
{
  return snapshot->merged.count > 0 ? (double) snapshot->merged.sum / snapshot->merged.count : 0.0;
}
