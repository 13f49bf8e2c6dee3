/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>

#include "sm-comparison.h"
#include "sm-metric-ids.h"

/* @n buckets of @count samples each around @mean, spread by ±@noise
 * (deterministic). */
static GArray *
make_points (guint  n,
             double mean,
             double noise,
             guint  count)
{
  GArray *points = g_array_new (FALSE, TRUE, sizeof (SmStorePoint));
  g_autoptr(GRand) rand = g_rand_new_with_seed ((guint32) (mean * 1000 + n));

  for (guint i = 0; i < n; i++)
    {
      SmStorePoint p = { .t_ms = i * 1000, .count = count };

      p.mean = mean + noise * g_rand_double_range (rand, -1, 1);
      g_array_append_val (points, p);
    }
  return points;
}

/* Two runs of the same noisy figure: a few percent apart by chance, and
 * the interval says so. */
static void
test_comparison_noise (void)
{
  g_autoptr(GArray) a = make_points (30, 1000, 300, 4);
  g_autoptr(GArray) b = make_points (30, 1030, 300, 4);
  SmComparison c;

  sm_comparison_compute (SM_METRIC_ID_LATENCY_P99, a, b, &c);
  g_test_message ("change %+.1f %% [%+.1f, %+.1f]", c.change, c.change_low, c.change_high);
  g_assert_true (fabs (c.change) >= SM_COMPARISON_SAME_PERCENT);
  g_assert_cmpfloat (c.change_low, <, 0);
  g_assert_cmpfloat (c.change_high, >, 0);
  g_assert_cmpint (c.verdict, ==, SM_VERDICT_SAME);
  g_assert_cmpstr (sm_verdict_get_name (c.verdict), ==, "no significant difference");
}

/* A real difference: the interval excludes zero, and the direction of
 * the metric decides the verdict. */
static void
test_comparison_real_difference (void)
{
  g_autoptr(GArray) a = make_points (30, 1000, 50, 4);
  g_autoptr(GArray) b = make_points (30, 800, 50, 4);
  SmComparison latency, throughput;

  sm_comparison_compute (SM_METRIC_ID_LATENCY_P99, a, b, &latency);
  g_assert_cmpfloat_with_epsilon (latency.change, -20, 2);
  g_assert_cmpfloat (latency.change_low, <=, latency.change);
  g_assert_cmpfloat (latency.change_high, >=, latency.change);
  g_assert_cmpfloat (latency.change_high, <, 0);
  g_assert_cmpint (latency.verdict, ==, SM_VERDICT_BETTER);

  sm_comparison_compute (SM_METRIC_ID_THROUGHPUT, a, b, &throughput);
  g_assert_cmpint (throughput.verdict, ==, SM_VERDICT_WORSE);

  /* The same draws every time: the same two runs, the same interval. */
  {
    SmComparison again;

    sm_comparison_compute (SM_METRIC_ID_LATENCY_P99, a, b, &again);
    g_assert_cmpfloat (again.change_low, ==, latency.change_low);
    g_assert_cmpfloat (again.change_high, ==, latency.change_high);
  }
}

/* Too few buckets for an interval: the percentage alone decides, and
 * missing data is unknown. */
static void
test_comparison_short_runs (void)
{
  g_autoptr(GArray) a = make_points (2, 100, 0, 1);
  g_autoptr(GArray) b = make_points (2, 150, 0, 1);
  g_autoptr(GArray) empty = g_array_new (FALSE, TRUE, sizeof (SmStorePoint));
  SmComparison c;

  sm_comparison_compute (SM_METRIC_ID_THROUGHPUT, a, b, &c);
  g_assert_true (isnan (c.change_low) && isnan (c.change_high));
  g_assert_cmpfloat_with_epsilon (c.change, 50, 1e-9);
  g_assert_cmpint (c.verdict, ==, SM_VERDICT_BETTER);

  sm_comparison_compute (SM_METRIC_ID_THROUGHPUT, a, empty, &c);
  g_assert_cmpint (c.verdict, ==, SM_VERDICT_UNKNOWN);
  g_assert_true (isnan (c.change));
}

/* Throughput per offered query: a run offered twice the load that answered
 * all of it is not "better" once the load is taken out. */
static void
test_comparison_offered_load (void)
{
  g_autoptr(GArray) a = make_points (20, 300, 5, 4);
  g_autoptr(GArray) b = make_points (20, 600, 10, 4);
  const char *config_a = "{\"threads\":2,\"workload\":\"poisson\",\"rate\":300.0,\"cpu\":\"x\"}";
  const char *config_b = "{\"threads\":4,\"workload\":\"poisson\",\"rate\":600,\"cpu\":\"x\",\"gpu\":\"on\"}";
  g_autoptr(GPtrArray) differences = sm_comparison_diff_configs (config_a, config_b);
  SmComparison raw, normalised;
  double rate_a = sm_comparison_offered_rate (config_a), rate_b = sm_comparison_offered_rate (config_b);

  g_assert_cmpfloat (rate_a, ==, 300);
  g_assert_cmpfloat (rate_b, ==, 600);
  g_assert_true (isnan (sm_comparison_offered_rate ("{\"workload\":\"closed\",\"rate\":256}")));
  g_assert_true (isnan (sm_comparison_offered_rate ("not json")));

  sm_comparison_compute (SM_METRIC_ID_THROUGHPUT, a, b, &raw);
  g_assert_cmpint (raw.verdict, ==, SM_VERDICT_BETTER);
  sm_comparison_compute_scaled (SM_METRIC_ID_THROUGHPUT, a, 1 / rate_a, b, 1 / rate_b, &normalised);
  g_assert_cmpfloat_with_epsilon (normalised.mean_a, 1, 0.02);
  g_assert_cmpint (normalised.verdict, ==, SM_VERDICT_SAME);

  g_assert_cmpuint (differences->len, ==, 3);
  g_assert_cmpstr (g_ptr_array_index (differences, 0), ==, "threads: 2 → 4");
  g_assert_cmpstr (g_ptr_array_index (differences, 1), ==, "rate: 300.0 → 600");
  g_assert_cmpstr (g_ptr_array_index (differences, 2), ==, "gpu: — → on");

  /* Unreadable is not "the same". */
  g_assert_null (sm_comparison_diff_configs (config_a, "{\"threads\":"));
  g_assert_null (sm_comparison_diff_configs ("[1, 2]", config_b));
  g_assert_null (sm_comparison_diff_configs (NULL, config_b));
  {
    g_autoptr(GPtrArray) same = sm_comparison_diff_configs (config_a, config_a);

    g_assert_cmpuint (same->len, ==, 0);
  }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/engine/comparison/noise", test_comparison_noise);
  g_test_add_func ("/engine/comparison/real-difference", test_comparison_real_difference);
  g_test_add_func ("/engine/comparison/short-runs", test_comparison_short_runs);
  g_test_add_func ("/engine/comparison/offered-load", test_comparison_offered_load);

  return g_test_run ();
}
