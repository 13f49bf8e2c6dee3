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
 * same expert, both measured here and now. */
static void
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
                           p50_of (run_infer, &infer, 5000), "µs", bare, "<= 1.3");
  forward_clear (&f);
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

    bench_batch1 (report, model);
    bench_throughput (report, model);
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
