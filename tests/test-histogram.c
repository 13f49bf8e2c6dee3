/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <stdlib.h>

#include "sm-histogram.h"
#include "sm-stats.h"

static int
compare_u64 (const void *a,
             const void *b)
{
  guint64 x = *(const guint64 *) a, y = *(const guint64 *) b;

  return x < y ? -1 : x > y;
}

/* The exact percentile by the same rank rule: the ceil(p·n)-th smallest. */
static guint64
exact_percentile (const guint64 *sorted,
                  gsize          n,
                  double         percent)
{
  gsize rank = (gsize) ceil (percent / 100.0 * n);

  return sorted[CLAMP (rank, 1, n) - 1];
}

/* Log-uniform latencies from 1 µs to 60 s: every percentile within 1 %. */
static void
test_histogram_accuracy (void)
{
  const gsize n = 200000;
  const double percents[] = { 0, 1, 10, 50, 90, 99, 99.9, 99.99, 100 };
  g_autoptr(SmHistogram) histogram = sm_histogram_new ();
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  g_autoptr(SmHistogramSnapshot) snapshot = NULL;
  g_autofree guint64 *values = g_new (guint64, n);
  SmHistogramRecorder *recorder = sm_histogram_add_recorder (histogram);
  double sum = 0;

  for (gsize i = 0; i < n; i++)
    {
      values[i] = (guint64) exp (g_rand_double_range (rand, log (1e3), log (60e9)));
      sum += values[i];
      sm_histogram_recorder_record (recorder, values[i]);
    }
  qsort (values, n, sizeof (guint64), compare_u64);

  snapshot = sm_histogram_snapshot (histogram);
  g_assert_cmpuint (sm_histogram_snapshot_get_count (snapshot), ==, n);
  g_assert_cmpuint (sm_histogram_snapshot_get_min (snapshot), ==, values[0]);
  g_assert_cmpuint (sm_histogram_snapshot_get_max (snapshot), ==, values[n - 1]);
  g_assert_cmpfloat_with_epsilon (sm_histogram_snapshot_get_mean (snapshot), sum / n, sum / n * 1e-9);

  for (guint i = 0; i < G_N_ELEMENTS (percents); i++)
    {
      guint64 exact = exact_percentile (values, n, percents[i]);
      guint64 got = sm_histogram_snapshot_get_percentile (snapshot, percents[i]);

      g_test_message ("p%g: exact %" G_GUINT64_FORMAT " ns, histogram %" G_GUINT64_FORMAT " ns",
                      percents[i], exact, got);
      g_assert_cmpfloat (fabs ((double) got - exact), <=, 0.01 * exact);
    }
}

/* Small values are exact; every value's bucket is narrower than 1/128 of it. */
static void
test_histogram_buckets (void)
{
  guint previous = 0;

  for (guint64 v = 0; v < 128; v++)
    g_assert_cmpuint (sm_histogram_bucket_index (v), ==, v);

  for (int bit = 7; bit < 41; bit++)
    for (guint64 v = (guint64) 1 << bit; v < (guint64) 2 << bit; v += ((guint64) 1 << bit) / 512 + 1)
      {
        guint index = sm_histogram_bucket_index (v);

        g_assert_cmpuint (index, >=, previous);
        g_assert_cmpuint (index, <, SM_HISTOGRAM_BUCKETS);
        previous = index;
      }

  /* Beyond the range: the last bucket, never past the array. */
  g_assert_cmpuint (sm_histogram_bucket_index (G_MAXUINT64), ==, SM_HISTOGRAM_BUCKETS - 1);
}

static void
test_histogram_empty (void)
{
  g_autoptr(SmHistogram) histogram = sm_histogram_new ();
  g_autoptr(SmHistogramSnapshot) snapshot = sm_histogram_snapshot (histogram);

  g_assert_cmpuint (sm_histogram_snapshot_get_count (snapshot), ==, 0);
  g_assert_cmpuint (sm_histogram_snapshot_get_percentile (snapshot, 99), ==, 0);
  g_assert_cmpuint (sm_histogram_snapshot_get_max (snapshot), ==, 0);
  g_assert_cmpuint (sm_histogram_snapshot_get_min (snapshot), ==, 0);
  g_assert_cmpfloat (sm_histogram_snapshot_get_mean (snapshot), ==, 0.0);
}

/* Intervals hold only what was recorded since the previous one. */
static void
test_histogram_intervals (void)
{
  g_autoptr(SmHistogram) histogram = sm_histogram_new ();
  SmHistogramRecorder *recorder = sm_histogram_add_recorder (histogram);
  SmHistogramSnapshot *interval, *total;

  for (int i = 0; i < 1000; i++)
    sm_histogram_recorder_record (recorder, 10000);   /* 10 µs */
  interval = sm_histogram_take_interval (histogram);
  g_assert_cmpuint (sm_histogram_snapshot_get_count (interval), ==, 1000);
  g_assert_cmpuint (sm_histogram_snapshot_get_percentile (interval, 99), ==, 10000);
  sm_histogram_snapshot_free (interval);

  for (int i = 0; i < 100; i++)
    sm_histogram_recorder_record (recorder, 50000000);   /* a 50 ms stall */
  interval = sm_histogram_take_interval (histogram);
  g_assert_cmpuint (sm_histogram_snapshot_get_count (interval), ==, 100);
  g_assert_cmpfloat (fabs (sm_histogram_snapshot_get_percentile (interval, 50) - 50e6), <=, 0.005 * 50e6);
  g_assert_cmpuint (sm_histogram_snapshot_get_max (interval), ==, 50000000);
  g_assert_cmpfloat (sm_histogram_snapshot_get_mean (interval), ==, 50000000.0);
  sm_histogram_snapshot_free (interval);

  interval = sm_histogram_take_interval (histogram);
  g_assert_cmpuint (sm_histogram_snapshot_get_count (interval), ==, 0);
  sm_histogram_snapshot_free (interval);

  /* The cumulative view still holds both; p99 sees the stall. */
  total = sm_histogram_snapshot (histogram);
  g_assert_cmpuint (sm_histogram_snapshot_get_count (total), ==, 1100);
  g_assert_cmpfloat (fabs (sm_histogram_snapshot_get_percentile (total, 50) - 1e4), <=, 0.005 * 1e4);
  g_assert_cmpfloat (fabs (sm_histogram_snapshot_get_percentile (total, 99) - 50e6), <=, 0.005 * 50e6);
  sm_histogram_snapshot_free (total);
}

typedef struct
{
  SmHistogram *histogram;
  guint64      base;
} ThreadData;

static gpointer
record_thread (gpointer data)
{
  ThreadData *d = data;
  SmHistogramRecorder *recorder = sm_histogram_add_recorder (d->histogram);

  for (guint64 i = 0; i < 100000; i++)
    sm_histogram_recorder_record (recorder, d->base + i % 1000);

  return NULL;
}

/* Each thread records into its own recorder; snapshots taken meanwhile
 * never see more than was recorded, and the final one sees everything. */
static void
test_histogram_threads (void)
{
  g_autoptr(SmHistogram) histogram = sm_histogram_new ();
  g_autoptr(SmHistogramSnapshot) snapshot = NULL;
  ThreadData data[4];
  GThread *threads[4];
  guint64 expected_sum = 0;

  for (int t = 0; t < 4; t++)
    {
      data[t] = (ThreadData) { histogram, (guint64) (t + 1) * 1000000 };
      threads[t] = g_thread_new ("record", record_thread, &data[t]);
    }
  for (int i = 0; i < 20; i++)
    {
      g_autoptr(SmHistogramSnapshot) partial = sm_histogram_snapshot (histogram);

      g_assert_cmpuint (sm_histogram_snapshot_get_count (partial), <=, 400000);
    }
  for (int t = 0; t < 4; t++)
    g_thread_join (threads[t]);

  for (int t = 0; t < 4; t++)
    expected_sum += 100000 * data[t].base + 100 * (999 * 1000 / 2);

  snapshot = sm_histogram_snapshot (histogram);
  g_assert_cmpuint (sm_histogram_snapshot_get_count (snapshot), ==, 400000);
  g_assert_cmpfloat (sm_histogram_snapshot_get_mean (snapshot) * 400000, ==, (double) expected_sum);
  g_assert_cmpuint (sm_histogram_snapshot_get_min (snapshot), ==, 1000000);
  g_assert_cmpuint (sm_histogram_snapshot_get_max (snapshot), ==, 4000999);
}

/* One definition of a percentile everywhere: nearest rank. */
static void
test_histogram_nearest_rank (void)
{
  g_autoptr(SmHistogram) histogram = sm_histogram_new ();
  g_autoptr(SmHistogramSnapshot) snapshot = NULL;
  SmHistogramRecorder *recorder = sm_histogram_add_recorder (histogram);

  g_assert_cmpuint (sm_stats_nearest_rank (1, 99), ==, 1);
  g_assert_cmpuint (sm_stats_nearest_rank (100, 99), ==, 99);
  g_assert_cmpuint (sm_stats_nearest_rank (101, 99), ==, 100);
  g_assert_cmpuint (sm_stats_nearest_rank (200, 50), ==, 100);
  g_assert_cmpuint (sm_stats_nearest_rank (10, 0), ==, 1);
  g_assert_cmpuint (sm_stats_nearest_rank (10, 100), ==, 10);
  g_assert_cmpuint (sm_stats_nearest_rank (10, 250), ==, 10);

  /* Two values: the median is the smaller one (to its bucket), p51 the
   * larger. */
  sm_histogram_recorder_record (recorder, 1000);
  sm_histogram_recorder_record (recorder, 5000);
  snapshot = sm_histogram_snapshot (histogram);
  g_assert_cmpuint (sm_histogram_snapshot_get_percentile (snapshot, 50), <, 1010);
  g_assert_cmpuint (sm_histogram_snapshot_get_percentile (snapshot, 51), ==, 5000);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/engine/histogram/accuracy", test_histogram_accuracy);
  g_test_add_func ("/engine/histogram/buckets", test_histogram_buckets);
  g_test_add_func ("/engine/histogram/empty", test_histogram_empty);
  g_test_add_func ("/engine/histogram/intervals", test_histogram_intervals);
  g_test_add_func ("/engine/histogram/threads", test_histogram_threads);
  g_test_add_func ("/engine/histogram/nearest-rank", test_histogram_nearest_rank);

  return g_test_run ();
}
