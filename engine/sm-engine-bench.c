/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>

#include "sm-advisor.h"
#include "sm-engine.h"
#include "sm-engine-bench.h"
#include "sm-features.h"
#include "sm-histogram.h"
#include "sm-metric-ids.h"
#include "sm-router.h"
#include "sm-workload.h"

#define QUERIES 200000

/* Twenty words, a mix of domains, as a user would type them. */
static const char *const query =
  "Please explain why this Python function returns the wrong sum when I pass 17 and 23 to it";

/* The p50 of @n timings of @func, each taken on its own. */
static double
p50_of (SmBenchFunc func,
        gpointer    data,
        guint       n)
{
  g_autoptr(SmHistogram) histogram = sm_histogram_new ();
  g_autoptr(SmHistogramSnapshot) snapshot = NULL;
  SmHistogramRecorder *recorder = sm_histogram_add_recorder (histogram);

  for (guint i = 0; i < n; i++)
    {
      double t0 = sm_bench_now ();

      func (data);
      sm_histogram_recorder_record (recorder, (guint64) ((sm_bench_now () - t0) * 1e9));
    }
  snapshot = sm_histogram_snapshot (histogram);

  return sm_histogram_snapshot_get_percentile (snapshot, 50) / 1e3;
}

typedef struct
{
  SmExpert        *expert;
  const SmKernels *kernels;
  guint            batch;
  float           *x, *y, *scratch;
} Forward;

static void
run_forward (gpointer data)
{
  Forward *f = data;

  sm_expert_forward (f->expert, f->kernels, f->x, f->batch, f->y, f->scratch);
}

static void
forward_init (Forward  *f,
              SmEngine *engine_unused,
              SmModel  *model,
              guint     batch)
{
  f->expert = sm_model_get_expert (model, SM_DOMAIN_MATHEMATICS);
  f->kernels = sm_simd_get_kernels_for (sm_simd_get_best_level (), NULL);
  f->batch = batch;
  f->x = g_new (float, (gsize) batch * sm_expert_get_input_width (f->expert));
  f->y = g_new (float, (gsize) batch * sm_expert_get_output_width (f->expert));
  f->scratch = g_aligned_alloc (sm_expert_scratch_floats (f->expert, batch), sizeof (float), 64);
  for (guint r = 0; r < batch; r++)
    sm_features_extract (query, -1, f->x + (gsize) r * sm_expert_get_input_width (f->expert),
                         sm_expert_get_input_width (f->expert), NULL);
}

static void
forward_clear (Forward *f)
{
  g_free (f->x);
  g_free (f->y);
  g_aligned_free (f->scratch);
}

typedef struct
{
  SmEngine *engine;
  guint64   total_ns;
} Infer;

static void
run_infer (gpointer data)
{
  Infer *i = data;
  SmResult *result = sm_engine_infer (i->engine, "What is 17 times 23?", NULL);

  i->total_ns = result->total_ns;
  sm_result_free (result);
}

/* Batch 1, idle engine: the end-to-end p50 against the bare kernels of the
 * same expert, both measured here and now; returns the bare forward's row. */
static guint
bench_batch1 (SmBenchReport *report,
              SmModel       *model)
{
  g_autoptr(SmEngine) engine = sm_engine_new (SM_POOL_DEFAULT_LIMIT, 1, NULL);
  Infer infer = { engine, 0 };
  Forward f;
  guint bare;

  forward_init (&f, engine, model, 1);
  sm_engine_set_max_wait_us (engine, 0);
  for (guint i = 0; i < 500; i++)
    run_infer (&infer);

  bare = sm_bench_report_add (report, "expert-forward", "preset=standard expert=mathematics batch=1 stat=p50",
                              p50_of (run_forward, &f, 5000), "µs");
  sm_bench_report_compare (report, "end-to-end", "preset=standard batch=1 threads=1 stat=p50",
                           p50_of (run_infer, &infer, 5000), "µs", bare, "<= 1.2");
  forward_clear (&f);
  return bare;
}

/* Open loop at 20 % of what the engine answers in a closed loop, default
 * settings, the corpus's mix of domains: a query should find a worker
 * free and not wait for a batch that will not fill (the adaptive wait),
 * so its latency stays near the warm bare forward @bare (µs). */
static void
bench_moderate_load (SmBenchReport *report,
                     guint          bare)
{
  g_autoptr(SmEngine) engine = sm_engine_new (SM_POOL_DEFAULT_LIMIT, 2, NULL);
  g_autoptr(SmWorkload) workload = sm_workload_new (engine, SM_WORKLOAD_CLOSED, 256, 13);
  g_autoptr(SmHistogramSnapshot) latency = NULL;
  g_autofree char *params = NULL;
  double capacity;

  sm_workload_set_unique (workload, TRUE);
  sm_workload_start (workload);
  g_usleep (300000);
  capacity = sm_workload_measure_rate (workload, 1.5);
  sm_workload_stop (workload);
  sm_bench_report_add (report, "capacity", "preset=standard workers=2 mix=corpus outstanding=256",
                       capacity, "queries/s");

  g_clear_pointer (&workload, sm_workload_free);
  workload = sm_workload_new (engine, SM_WORKLOAD_POISSON, 0.2 * capacity, 17);
  sm_workload_set_unique (workload, TRUE);
  sm_workload_start (workload);
  g_usleep (3000000);
  sm_workload_stop (workload);
  latency = sm_workload_get_latency (workload);

  params = g_strdup_printf ("preset=standard workers=2 mix=corpus arrivals=poisson rate=%.0f stat=p50",
                            0.2 * capacity);
  sm_bench_report_compare (report, "moderate-load", params,
                           sm_histogram_snapshot_get_percentile (latency, 50) / 1e3, "µs", bare, "<= 2");
  g_free (params);
  params = g_strdup_printf ("preset=standard workers=2 mix=corpus arrivals=poisson rate=%.0f stat=p99",
                            0.2 * capacity);
  sm_bench_report_compare (report, "moderate-load", params,
                           sm_histogram_snapshot_get_percentile (latency, 99) / 1e3, "µs", bare, "<= 5");
}

/* Weight precision where it pays: a mixed stream of queries arriving
 * one at a time (Poisson, 1,000 per second: batches of one), each
 * reading its expert's weights; the end-to-end p50 and p99 in f32, bf16
 * and int8, the reduced ones against f32 in the same run. */
static void
bench_precision (SmBenchReport *report)
{
  guint f32[2] = { 0 };

  for (SmPrecision precision = SM_PRECISION_F32; precision < SM_PRECISION_N_KINDS; precision++)
    {
      g_autoptr(SmEngine) engine = sm_engine_new (SM_POOL_DEFAULT_LIMIT, 2, NULL);
      g_autoptr(SmWorkload) workload = NULL;
      g_autoptr(SmHistogramSnapshot) latency = NULL;

      if (!sm_engine_set_precision (engine, precision, NULL))
        continue;
      workload = sm_workload_new (engine, SM_WORKLOAD_POISSON, 1000, 19);
      sm_workload_set_unique (workload, TRUE);
      sm_workload_start (workload);
      g_usleep (2500000);
      sm_workload_stop (workload);
      latency = sm_workload_get_latency (workload);

      for (guint s = 0; s < 2; s++)
        {
          g_autofree char *params = g_strdup_printf ("preset=standard workers=2 mix=corpus arrivals=poisson rate=1000 "
                                                     "precision=%s stat=%s", sm_precision_get_name (precision),
                                                     s == 0 ? "p50" : "p99");
          double us = sm_histogram_snapshot_get_percentile (latency, s == 0 ? 50 : 99) / 1e3;

          if (precision == SM_PRECISION_F32)
            f32[s] = sm_bench_report_add (report, "batch1-precision", params, us, "µs");
          else
            sm_bench_report_compare (report, "batch1-precision", params, us, "µs", f32[s], NULL);
        }
    }
}

/* Closed-loop throughput at 1 … N workers (N: the cores here), one
 * expert, unique queries: the efficiency of n workers is their throughput
 * over n times one worker's. */
static void
bench_scaling (SmBenchReport *report)
{
  guint cores = MAX (1, g_get_num_processors ());
  guint one = 0;
  double single = 0;
  const double only_maths[SM_N_DOMAINS] = { 0, 0, 0, 1, 0, 0 };

  for (guint n = 1; n <= cores; n = n < cores && 2 * n > cores ? cores : 2 * n)
    {
      g_autoptr(SmEngine) engine = sm_engine_new (SM_POOL_DEFAULT_LIMIT, n, NULL);
      g_autoptr(SmWorkload) workload = sm_workload_new (engine, SM_WORKLOAD_CLOSED, 128.0 * n, 19);
      g_autofree char *params = g_strdup_printf ("preset=standard workers=%u outstanding=%u", n, 128 * n);
      double rate;

      sm_workload_set_mix (workload, only_maths);
      sm_workload_set_unique (workload, TRUE);
      sm_workload_start (workload);
      g_usleep (300000);
      rate = sm_workload_measure_rate (workload, 1.5);
      sm_workload_stop (workload);

      if (n == 1)
        {
          single = rate;
          one = sm_bench_report_add (report, "scaling", params, rate, "queries/s per worker");
        }
      else
        {
          g_autofree char *efficiency = g_strdup_printf ("%s total=%.0f efficiency=%.2f", params, rate,
                                                         rate / (n * single));

          /* n workers against n × one worker: the target is ≥ 0.8 × linear. */
          sm_bench_report_compare (report, "scaling", efficiency, rate / n, "queries/s per worker", one,
                                   ">= 0.8");
        }
      if (n == cores)
        break;
    }
}

/* Closed loop, 2 workers, batching on: throughput against the ceiling the
 * kernels set (their measured rate at the batch size the engine reached,
 * times the workers). */
static void
bench_throughput (SmBenchReport *report,
                  SmModel       *model)
{
  g_autoptr(SmEngine) engine = sm_engine_new (SM_POOL_DEFAULT_LIMIT, 2, NULL);
  g_autoptr(SmWorkload) workload = sm_workload_new (engine, SM_WORKLOAD_CLOSED, 256, 7);
  SmMonitor *monitor = sm_engine_get_monitor (engine);
  int mean_batch = sm_monitor_find_metric (monitor, SM_METRIC_ID_MEAN_BATCH);
  g_autoptr(SmMonitorSnapshot) snapshot = NULL;
  const double only_maths[SM_N_DOMAINS] = { 0, 0, 0, 1, 0, 0 };
  SmWorkloadCounts before, after;
  double t0, elapsed, batch;
  g_autofree char *params = NULL;
  guint ceiling;
  Forward f;

  sm_workload_set_mix (workload, only_maths);
  sm_workload_set_unique (workload, TRUE);
  sm_workload_start (workload);
  g_usleep (300000);
  sm_monitor_snapshot_unref (sm_monitor_tick (monitor));
  sm_workload_get_counts (workload, &before);
  t0 = sm_bench_now ();
  g_usleep (2000000);
  sm_workload_get_counts (workload, &after);
  elapsed = sm_bench_now () - t0;
  snapshot = sm_monitor_tick (monitor);
  sm_workload_stop (workload);

  batch = MAX (1.0, round (snapshot->values[mean_batch]));
  forward_init (&f, engine, model, (guint) batch);
  params = g_strdup_printf ("preset=standard batch=%.0f workers=2", batch);
  ceiling = sm_bench_report_add (report, "kernel-ceiling", params,
                                 2 * batch / sm_bench_time_best (run_forward, &f), "queries/s");
  forward_clear (&f);

  sm_bench_report_compare (report, "closed-loop", "preset=standard workers=2 outstanding=256 max_batch=32",
                           (after.completed - before.completed) / elapsed, "queries/s", ceiling, ">= 0.85");
}

void
sm_engine_bench (SmBenchReport *report)
{
  const SmRouterConfig config = { TRUE, 3, SM_ROUTER_DEFAULT_THRESHOLD };
  g_autoptr(SmHistogram) histogram = sm_histogram_new ();
  g_autoptr(SmHistogramSnapshot) snapshot = NULL;
  SmHistogramRecorder *recorder = sm_histogram_add_recorder (histogram);
  float features[256];
  volatile guint sink = 0;

  /* Each query timed on its own, as the engine's stage timer does. */
  for (guint i = 0; i < QUERIES; i++)
    {
      double t0 = sm_bench_now ();
      SmFeatureSummary summary;
      SmRoute route;

      sm_features_extract (query, -1, features, G_N_ELEMENTS (features), &summary);
      sm_router_route (&summary, &config, &route);
      sink += route.domains[0];
      sm_histogram_recorder_record (recorder, (guint64) ((sm_bench_now () - t0) * 1e9));
    }

  snapshot = sm_histogram_snapshot (histogram);
  sm_bench_report_add_target (report, "features+routing", "words=20 width=256 stat=p50",
                              sm_histogram_snapshot_get_percentile (snapshot, 50) / 1e3, "µs", "<= 2");
  sm_bench_report_add (report, "features+routing", "words=20 width=256 stat=p99",
                       sm_histogram_snapshot_get_percentile (snapshot, 99) / 1e3, "µs");

  {
    g_autoptr(SmPool) pool = sm_pool_new (SM_POOL_DEFAULT_LIMIT, NULL);
    g_autoptr(SmModel) model = sm_model_new_preset (SM_PRESET_STANDARD, pool, NULL);

    guint bare = bench_batch1 (report, model);

    bench_throughput (report, model);
    bench_moderate_load (report, bare);
    bench_scaling (report);
    bench_precision (report);
  }
}


void
sm_monitor_overhead_bench (SmBenchReport *report)
{
  g_autoptr(SmEngine) engine = sm_engine_new (SM_POOL_DEFAULT_LIMIT, 2, NULL);
  g_autoptr(SmWorkload) workload = sm_workload_new (engine, SM_WORKLOAD_CLOSED, 256, 11);
  g_autoptr(SmAdvisor) advisor = sm_advisor_new (engine);
  SmMonitor *monitor = sm_engine_get_monitor (engine);
  double on = 0, off = 0;
  guint baseline;

  /* Alternating halves, so that drift of the machine hits both alike. */
  sm_workload_set_unique (workload, TRUE);
  sm_advisor_attach (advisor, NULL, NULL);
  sm_workload_start (workload);
  g_usleep (300000);
  for (guint round = 0; round < 8; round++)
    {
      off += sm_workload_measure_rate (workload, 0.4);
      sm_monitor_start (monitor);
      on += sm_workload_measure_rate (workload, 0.4);
      sm_monitor_stop (monitor);
    }
  sm_workload_stop (workload);

  baseline = sm_bench_report_add (report, "engine-throughput", "monitor=off", off / 8, "queries/s");
  sm_bench_report_compare (report, "engine-throughput", "monitor=on interval_ms=250 advisor=on",
                           on / 8, "queries/s", baseline, ">= 0.98");
}
