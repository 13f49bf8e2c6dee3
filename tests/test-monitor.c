/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>

#include "sm-error.h"
#include "sm-monitor.h"
#include "sm-simd.h"

static double gauge_value;
static guint64 counter_value;

static double
read_gauge (gpointer user_data)
{
  return gauge_value;
}

static guint64
read_counter (gpointer user_data)
{
  return counter_value;
}

/* The time the monitor reads, moved by the tests: nothing sleeps. */
static gint64 fake_now_us = 1000000;

static gint64
fake_clock (gpointer user_data)
{
  return fake_now_us;
}

static void
test_monitor_gauge_and_rate (void)
{
  g_autoptr(SmMonitor) monitor = sm_monitor_new ();
  guint gauge, rate;
  SmMonitorSnapshot *snapshot;

  sm_monitor_set_clock (monitor, fake_clock, NULL);
  gauge = sm_monitor_add_gauge (monitor, "queue.depth", "Queue depth", "", read_gauge, NULL);

  counter_value = 0;
  rate = sm_monitor_add_rate (monitor, "ops", "Throughput", "ops/s", read_counter, NULL);
  g_assert_cmpint (sm_monitor_find_metric (monitor, "ops"), ==, (int) rate);

  g_assert_cmpstr (sm_monitor_get_metric (monitor, rate)->unit, ==, "ops/s");
  g_assert_null (sm_monitor_get_metric (monitor, 99));

  gauge_value = 7;
  counter_value = 5000;
  fake_now_us += 100000;
  snapshot = sm_monitor_tick (monitor);

  g_assert_cmpuint (snapshot->n_values, ==, 2);
  g_assert_cmpfloat (snapshot->values[gauge], ==, 7.0);
  /* 5000 events in the 100 ms since registration, exactly. */
  g_assert_cmpfloat (snapshot->values[rate], ==, 50000.0);
  g_assert_cmpint (snapshot->t_ms, ==, 100);
  sm_monitor_snapshot_unref (snapshot);

  /* No events: a rate of zero, not the previous one. */
  fake_now_us += 100000;
  snapshot = sm_monitor_tick (monitor);
  g_assert_cmpfloat (snapshot->values[rate], ==, 0.0);
  sm_monitor_snapshot_unref (snapshot);
}

/* Latency statistics per tick, in µs, and the bottleneck: the stage with
 * the largest share of the time spent. */
static void
test_monitor_latency_and_bottleneck (void)
{
  g_autoptr(SmMonitor) monitor = sm_monitor_new ();
  g_autoptr(SmHistogram) features = sm_histogram_new ();
  g_autoptr(SmHistogram) inference = sm_histogram_new ();
  g_autoptr(SmHistogram) end_to_end = sm_histogram_new ();
  SmHistogramRecorder *rf = sm_histogram_add_recorder (features);
  SmHistogramRecorder *ri = sm_histogram_add_recorder (inference);
  SmHistogramRecorder *re = sm_histogram_add_recorder (end_to_end);
  guint f, i;
  SmMonitorSnapshot *snapshot;

  /* Recorded before registration: not part of the first tick. */
  sm_histogram_recorder_record (ri, 999999999);

  f = sm_monitor_add_latency (monitor, "stage.features", "Features", features, TRUE);
  i = sm_monitor_add_latency (monitor, "stage.inference", "Inference", inference, TRUE);
  sm_monitor_add_latency (monitor, "latency", "End to end", end_to_end, FALSE);
  g_assert_cmpint (sm_monitor_find_metric (monitor, "stage.inference.p99"), ==, (int) i + 3);
  g_assert_cmpstr (sm_monitor_get_metric (monitor, i + 3)->unit, ==, "µs");

  for (int k = 0; k < 1000; k++)
    {
      sm_histogram_recorder_record (rf, 2000);            /* 2 µs */
      sm_histogram_recorder_record (ri, 30000);           /* 30 µs */
      sm_histogram_recorder_record (re, 100000000);       /* not a stage */
    }

  snapshot = sm_monitor_tick (monitor);
  g_assert_cmpfloat (snapshot->values[f], ==, 1000);
  g_assert_cmpfloat_with_epsilon (snapshot->values[f + 1], 2.0, 0.02);
  g_assert_cmpfloat_with_epsilon (snapshot->values[i + 3], 30.0, 0.3);
  g_assert_cmpfloat_with_epsilon (snapshot->values[i + 5], 30.0, 0.3);   /* max, to its bucket */
  g_assert_cmpint (snapshot->bottleneck, ==, (int) i);
  g_assert_cmpfloat_with_epsilon (snapshot->bottleneck_share, 30.0 / 32.0, 1e-9);
  sm_monitor_snapshot_unref (snapshot);

  /* A quiet tick: counts 0, statistics NaN, no bottleneck. */
  snapshot = sm_monitor_tick (monitor);
  g_assert_cmpfloat (snapshot->values[f], ==, 0);
  g_assert_true (isnan (snapshot->values[f + 1]));
  g_assert_cmpint (snapshot->bottleneck, ==, -1);
  sm_monitor_snapshot_unref (snapshot);
}

typedef struct
{
  guint    calls;
  gint64   last_t_ms;
  GMutex   lock;
  gboolean destroyed;
} Received;

static void
received_cb (SmMonitorSnapshot *snapshot,
             gpointer           user_data)
{
  Received *r = user_data;

  g_mutex_lock (&r->lock);
  g_assert_cmpint (snapshot->t_ms, >=, r->last_t_ms);
  r->last_t_ms = snapshot->t_ms;
  r->calls++;
  g_mutex_unlock (&r->lock);
}

static void
received_destroy (gpointer user_data)
{
  ((Received *) user_data)->destroyed = TRUE;
}

static void
test_monitor_subscribers (void)
{
  g_autoptr(SmMonitor) monitor = sm_monitor_new ();
  Received a = { 0 }, b = { 0 };
  guint sa, sb;

  sm_monitor_add_gauge (monitor, "g", "G", "", read_gauge, NULL);
  g_mutex_init (&a.lock);
  g_mutex_init (&b.lock);
  sa = sm_monitor_subscribe (monitor, received_cb, &a, received_destroy);
  sb = sm_monitor_subscribe (monitor, received_cb, &b, NULL);
  g_assert_cmpuint (sa, !=, sb);

  sm_monitor_snapshot_unref (sm_monitor_tick (monitor));
  g_assert_cmpuint (a.calls, ==, 1);
  g_assert_cmpuint (b.calls, ==, 1);

  sm_monitor_unsubscribe (monitor, sa);
  g_assert_true (a.destroyed);
  sm_monitor_snapshot_unref (sm_monitor_tick (monitor));
  g_assert_cmpuint (a.calls, ==, 1);
  g_assert_cmpuint (b.calls, ==, 2);

  g_mutex_clear (&a.lock);
  g_mutex_clear (&b.lock);
}

static void
test_monitor_thread (void)
{
  g_autoptr(SmMonitor) monitor = sm_monitor_new ();
  g_autoptr(GError) error = NULL;
  Received r = { 0 };
  guint calls;
  gint64 t0;

  g_mutex_init (&r.lock);
  sm_monitor_add_gauge (monitor, "g", "G", "", read_gauge, NULL);
  sm_monitor_subscribe (monitor, received_cb, &r, NULL);

  g_assert_false (sm_monitor_set_interval (monitor, 10, &error));
  g_assert_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT);
  g_clear_error (&error);
  g_assert_false (sm_monitor_set_interval (monitor, 20000, NULL));
  g_assert_cmpuint (sm_monitor_get_interval (monitor), ==, SM_MONITOR_DEFAULT_INTERVAL_MS);

  g_assert_true (sm_monitor_set_interval (monitor, 50, &error));
  t0 = g_get_monotonic_time ();
  sm_monitor_start (monitor);
  /* The thread ticks on its own: wait for five, however slow the machine
   * is today (the rates themselves are checked on a test clock above). */
  do
    {
      g_usleep (10000);
      g_mutex_lock (&r.lock);
      calls = r.calls;
      g_mutex_unlock (&r.lock);
    }
  while (calls < 5 && g_get_monotonic_time () - t0 < 60 * G_USEC_PER_SEC);
  sm_monitor_stop (monitor);
  g_assert_cmpuint (calls, >=, 5);
  /* Never faster than its interval (a tick is not fired in bursts). */
  g_assert_cmpint (g_get_monotonic_time () - t0, >=, 4 * 50000);

  /* Stopped: no more ticks. */
  g_mutex_lock (&r.lock);
  calls = r.calls;
  g_mutex_unlock (&r.lock);
  g_usleep (120000);
  g_assert_cmpuint (r.calls, ==, calls);
  g_mutex_clear (&r.lock);
}

static gint64 trend_start;

static double
read_ramp (gpointer user_data)
{
  /* 3 units per second since the test started. */
  return 3.0 * (fake_now_us - trend_start) / 1e6;
}

static void
test_monitor_trend (void)
{
  g_autoptr(SmMonitor) monitor = sm_monitor_new ();
  guint ramp, flat;
  SmTrend trend;

  sm_monitor_set_clock (monitor, fake_clock, NULL);
  trend_start = fake_now_us;
  ramp = sm_monitor_add_gauge (monitor, "ramp", "Ramp", "", read_ramp, NULL);
  gauge_value = 4.0;
  flat = sm_monitor_add_gauge (monitor, "flat", "Flat", "", read_gauge, NULL);

  for (int i = 0; i < 12; i++)
    {
      sm_monitor_snapshot_unref (sm_monitor_tick (monitor));
      fake_now_us += 20000;
    }

  g_assert_true (sm_monitor_get_trend (monitor, ramp, &trend));
  g_assert_cmpuint (trend.samples, ==, 12);
  g_assert_cmpfloat_with_epsilon (trend.slope_per_s, 3.0, 1e-9);

  g_assert_true (sm_monitor_get_trend (monitor, flat, &trend));
  g_assert_cmpfloat_with_epsilon (trend.slope_per_s, 0.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (trend.ewma, 4.0, 1e-12);

  g_assert_false (sm_monitor_get_trend (monitor, 99, &trend));
}

static void
test_monitor_process_metrics (void)
{
  g_autoptr(SmMonitor) monitor = sm_monitor_new ();
  SmMonitorSnapshot *snapshot;
  volatile double sink = 0;
  gint64 end;
  int rss, cpu;

  sm_monitor_add_process_metrics (monitor);
  rss = sm_monitor_find_metric (monitor, "process.rss");
  cpu = sm_monitor_find_metric (monitor, "process.cpu");

  /* Busy for 200 ms: the CPU figure must see it. */
  end = g_get_monotonic_time () + 200000;
  while (g_get_monotonic_time () < end)
    sink += 1.0;

  snapshot = sm_monitor_tick (monitor);
  g_assert_cmpfloat (snapshot->values[rss], >, 1.0);
  g_assert_cmpfloat (snapshot->values[cpu], >, 10.0);
  g_assert_cmpfloat (snapshot->values[cpu], <, 250.0);
  sm_monitor_snapshot_unref (snapshot);
}

static void
run_gemm (const SmKernels *kernels)
{
  float a[4 * 8] = { 0 }, c[4 * 16];
  float *w = g_aligned_alloc0 (sm_f32_packed_weights_size (8, 16), sizeof (float), 64);
  SmGemmArgs args = { .m = 4, .n = 16, .k = 8, .a = a, .lda = 8, .w = w, .c = c, .ldc = 16 };

  sm_simd_gemm (kernels, &args, 0, 4, 0, 1);
  g_aligned_free (w);
}

/* SIMD utilisation is the vector share of the FLOPs done in the tick. */
static void
test_monitor_simd (void)
{
  g_autoptr(SmMonitor) monitor = sm_monitor_new ();
  const SmKernels *vector = sm_simd_get_kernels_for (sm_simd_get_best_level (), NULL);
  SmMonitorSnapshot *snapshot;
  int simd;

  sm_monitor_add_simd_metrics (monitor);
  simd = sm_monitor_find_metric (monitor, "simd.utilisation");

  snapshot = sm_monitor_tick (monitor);
  g_assert_true (isnan (snapshot->values[simd]));   /* no work, no figure */
  sm_monitor_snapshot_unref (snapshot);

  run_gemm (&sm_kernels_generic);
  snapshot = sm_monitor_tick (monitor);
  g_assert_cmpfloat (snapshot->values[simd], ==, 0.0);
  sm_monitor_snapshot_unref (snapshot);

  if (!vector->is_vector)
    {
      g_test_skip ("no vector kernels on this machine");
      return;
    }

  run_gemm (vector);
  run_gemm (vector);
  run_gemm (vector);
  run_gemm (&sm_kernels_generic);
  snapshot = sm_monitor_tick (monitor);
  g_assert_cmpfloat (snapshot->values[simd], ==, 75.0);
  sm_monitor_snapshot_unref (snapshot);
}

/* An id the monitor lacks is a bug, said loudly (fatal in tests), not a
 * chart of NaN. */
static void
test_monitor_unknown_id (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(SmMonitor) monitor = sm_monitor_new ();

      g_assert_cmpint (sm_monitor_find_metric (monitor, "nope"), ==, -1);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*No metric*nope*");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/engine/monitor/gauge-and-rate", test_monitor_gauge_and_rate);
  g_test_add_func ("/engine/monitor/latency-and-bottleneck", test_monitor_latency_and_bottleneck);
  g_test_add_func ("/engine/monitor/subscribers", test_monitor_subscribers);
  g_test_add_func ("/engine/monitor/thread", test_monitor_thread);
  g_test_add_func ("/engine/monitor/trend", test_monitor_trend);
  g_test_add_func ("/engine/monitor/process-metrics", test_monitor_process_metrics);
  g_test_add_func ("/engine/monitor/simd", test_monitor_simd);
  g_test_add_func ("/engine/monitor/unknown-id", test_monitor_unknown_id);

  return g_test_run ();
}
