/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A log-linear latency histogram in the manner of HdrHistogram: values in
 * nanoseconds, 128 linear sub-buckets per power of two, so that any value
 * from 128 ns to 2^40 ns (18 minutes) lands in a bucket no wider than 1/128
 * of it (relative error ≤ 0.4 % when the bucket's middle is reported), and
 * values below 128 ns are exact.
 *
 * Recording is lock-free: each thread records into its own recorder, a
 * plain array it alone writes; a snapshot merges them all. */

#define SM_HISTOGRAM_SUB_BUCKETS 128
#define SM_HISTOGRAM_MAX_SHIFT   33   /* 128 << 33 ns ≈ 2^40 ns */
#define SM_HISTOGRAM_BUCKETS     ((SM_HISTOGRAM_MAX_SHIFT + 2) * SM_HISTOGRAM_SUB_BUCKETS)

typedef struct _SmHistogram          SmHistogram;
typedef struct _SmHistogramSnapshot  SmHistogramSnapshot;

/* One thread's share of a histogram.  Written by that thread only, with
 * relaxed atomic stores (no read-modify-write), read by snapshots. */
typedef struct
{
  guint64 counts[SM_HISTOGRAM_BUCKETS];
  guint64 count;
  guint64 sum;
  guint64 max;
  guint64 min;
} SmHistogramRecorder;

SmHistogram         *sm_histogram_new           (void);
void                 sm_histogram_free          (SmHistogram *histogram);

/* A new recorder for the calling thread; owned by the histogram. */
SmHistogramRecorder *sm_histogram_add_recorder  (SmHistogram *histogram);

/* Everything recorded since the histogram was made. */
SmHistogramSnapshot *sm_histogram_snapshot      (SmHistogram *histogram);
/* What was recorded since the previous call (or since creation): one
 * consumer per histogram, the monitor's tick. */
SmHistogramSnapshot *sm_histogram_take_interval (SmHistogram *histogram);

void                 sm_histogram_snapshot_free           (SmHistogramSnapshot *snapshot);
guint64              sm_histogram_snapshot_get_count      (SmHistogramSnapshot *snapshot);
/* The value at or below which @percent (0–100) of the recorded values lie,
 * within the bucket resolution; 0 when nothing was recorded. */
guint64              sm_histogram_snapshot_get_percentile (SmHistogramSnapshot *snapshot,
                                                           double               percent);
guint64              sm_histogram_snapshot_get_max        (SmHistogramSnapshot *snapshot);
guint64              sm_histogram_snapshot_get_min        (SmHistogramSnapshot *snapshot);
double               sm_histogram_snapshot_get_mean       (SmHistogramSnapshot *snapshot);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SmHistogram, sm_histogram_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SmHistogramSnapshot, sm_histogram_snapshot_free)

static inline guint
sm_histogram_bucket_index (guint64 value)
{
  int shift;
  guint index;

  if (value < SM_HISTOGRAM_SUB_BUCKETS)
    return (guint) value;

  shift = 63 - __builtin_clzll (value) - 7;
  index = (guint) (shift + 1) * SM_HISTOGRAM_SUB_BUCKETS
          + (guint) ((value >> shift) - SM_HISTOGRAM_SUB_BUCKETS);

  return index < SM_HISTOGRAM_BUCKETS ? index : SM_HISTOGRAM_BUCKETS - 1;
}

/* Records one value, in nanoseconds.  A few instructions, no lock. */
static inline void
sm_histogram_recorder_record (SmHistogramRecorder *recorder,
                              guint64              value)
{
  guint index = sm_histogram_bucket_index (value);

  __atomic_store_n (&recorder->counts[index], recorder->counts[index] + 1, __ATOMIC_RELAXED);
  __atomic_store_n (&recorder->count, recorder->count + 1, __ATOMIC_RELAXED);
  __atomic_store_n (&recorder->sum, recorder->sum + value, __ATOMIC_RELAXED);
  if (value > recorder->max)
    __atomic_store_n (&recorder->max, value, __ATOMIC_RELAXED);
  if (value < recorder->min)
    __atomic_store_n (&recorder->min, value, __ATOMIC_RELAXED);
}

G_END_DECLS
