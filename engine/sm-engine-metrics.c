/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#define G_LOG_DOMAIN "sm-engine"

#include <math.h>

#include "sm-engine-private.h"
#include "sm-metric-ids.h"

/* What the engine gives the monitor: a latency histogram per stage (each
 * thread records into its own recorder, lock-free), counters and gauges. */

static const struct {
  const char *id;
  const char *name;
  gboolean    is_stage;
} stages[N_STAGES] = {
  { SM_METRIC_ID_STAGE_FEATURES, "Features", TRUE },
  { SM_METRIC_ID_STAGE_ROUTING, "Routing", TRUE },
  { SM_METRIC_ID_STAGE_QUEUE, "Queue wait", TRUE },
  { SM_METRIC_ID_STAGE_INFERENCE, "Inference", TRUE },
  { SM_METRIC_ID_STAGE_REMOTE, "Mesh round trip", TRUE },
  { SM_METRIC_ID_STAGE_GPU, "GPU dispatch", TRUE },
  { SM_METRIC_ID_LATENCY, "End to end", FALSE },
};

static GPrivate thread_recorders = G_PRIVATE_INIT (g_free);

typedef struct
{
  guint64              engine_id;
  SmHistogramRecorder *recorders[N_STAGES];
} ThreadRecorders;

/* The calling thread's recorders for this engine (submitting threads are
 * any threads: each gets its own, once).  Engines are told apart by id, not
 * address: a new engine may be allocated where a freed one was. */
SmHistogramRecorder **
sm_engine_get_thread_recorders (SmEngine *engine)
{
  ThreadRecorders *tr = g_private_get (&thread_recorders);

  if (tr == NULL || tr->engine_id != engine->id)
    {
      tr = g_new0 (ThreadRecorders, 1);
      tr->engine_id = engine->id;
      /* A submitting thread times these stages only (a recorder is 35 KiB). */
      tr->recorders[STAGE_FEATURES] = sm_histogram_add_recorder (engine->histograms[STAGE_FEATURES]);
      tr->recorders[STAGE_ROUTING] = sm_histogram_add_recorder (engine->histograms[STAGE_ROUTING]);
      tr->recorders[STAGE_TOTAL] = sm_histogram_add_recorder (engine->histograms[STAGE_TOTAL]);
      g_private_replace (&thread_recorders, tr);
    }

  return tr->recorders;
}

/* ---- monitor sources ---- */

static double
gauge_queue_depth (gpointer data)
{
  return g_atomic_int_get (&((SmEngine *) data)->queue_depth);
}

static double
gauge_mean_batch (gpointer data)
{
  SmEngine *engine = data;
  guint64 batches = __atomic_load_n (&engine->batches, __ATOMIC_RELAXED);
  guint64 jobs = __atomic_load_n (&engine->batched_jobs, __ATOMIC_RELAXED);
  double mean = batches > engine->last_batches
                ? (double) (jobs - engine->last_batched_jobs) / (batches - engine->last_batches) : NAN;

  engine->last_batches = batches;
  engine->last_batched_jobs = jobs;
  return mean;
}

static double
gauge_cache_hit_rate (gpointer data)
{
  SmEngine *engine = data;
  guint64 hits = __atomic_load_n (&engine->cache_hits, __ATOMIC_RELAXED);
  guint64 lookups = __atomic_load_n (&engine->cache_lookups, __ATOMIC_RELAXED);
  double rate = lookups > engine->last_lookups
                ? 100.0 * (hits - engine->last_hits) / (lookups - engine->last_lookups) : NAN;

  engine->last_hits = hits;
  engine->last_lookups = lookups;
  return rate;
}

static guint64
counter_completed (gpointer data)
{
  return __atomic_load_n (&((SmEngine *) data)->completed, __ATOMIC_RELAXED);
}

static guint64
counter_offloaded (gpointer data)
{
  return __atomic_load_n (&((SmEngine *) data)->offloaded, __ATOMIC_RELAXED);
}

static double
gauge_offload_share (gpointer data)
{
  return g_atomic_int_get (&((SmEngine *) data)->offload_percent);
}

static guint64
counter_failures (gpointer data)
{
  return __atomic_load_n (&((SmEngine *) data)->failures, __ATOMIC_RELAXED);
}

#define POOL_GAUGE(fn, expr)                   \
  static double                                \
  fn (gpointer data)                           \
  {                                            \
    SmPoolStats s;                             \
    sm_pool_get_stats (data, &s);              \
    return (expr);                             \
  }

POOL_GAUGE (gauge_pool_in_use, s.in_use / 1048576.0)
POOL_GAUGE (gauge_pool_reserved, s.reserved / 1048576.0)
POOL_GAUGE (gauge_pool_limit, s.limit / 1048576.0)
POOL_GAUGE (gauge_pool_fragmentation, 100.0 * s.fragmentation)
POOL_GAUGE (gauge_pool_failures, (double) s.failures)

static guint64
counter_gpu_batches (gpointer data)
{
  return __atomic_load_n (&((SmEngine *) data)->gpu_batches, __ATOMIC_RELAXED);
}

/* The share of time the GPU ran dispatches since the last tick (the
 * monitor's thread is the only caller). */
static double
gauge_gpu_busy (gpointer data)
{
  SmEngine *engine = data;
  guint64 busy = __atomic_load_n (&engine->gpu_busy_ns, __ATOMIC_RELAXED);
  gint64 now = precise_ns ();
  double share = engine->gpu_busy_seen_at > 0 && now > engine->gpu_busy_seen_at
                 ? 100.0 * (double) (busy - engine->gpu_busy_seen_ns) / (double) (now - engine->gpu_busy_seen_at)
                 : 0;

  engine->gpu_busy_seen_ns = busy;
  engine->gpu_busy_seen_at = now;
  return MIN (share, 100);
}

void
sm_engine_register_metrics (SmEngine *engine)
{
  SmMonitor *m = engine->monitor;

  for (guint s = 0; s < N_STAGES; s++)
    sm_monitor_add_latency (m, stages[s].id, stages[s].name, engine->histograms[s], stages[s].is_stage);
  sm_monitor_add_rate (m, SM_METRIC_ID_THROUGHPUT, "Throughput", "ops/s", counter_completed, engine);
  sm_monitor_add_rate (m, SM_METRIC_ID_FAILURES, "Failed queries", "1/s", counter_failures, engine);
  sm_monitor_add_rate (m, SM_METRIC_ID_OFFLOADED, "Sent to peers", "ops/s", counter_offloaded, engine);
  sm_monitor_add_gauge (m, SM_METRIC_ID_OFFLOAD_SHARE, "Offload share", "%", gauge_offload_share, engine);
  sm_monitor_add_rate (m, SM_METRIC_ID_GPU_BATCHES, "Batches on the GPU", "1/s", counter_gpu_batches, engine);
  sm_monitor_add_gauge (m, SM_METRIC_ID_GPU_BUSY, "GPU busy", "%", gauge_gpu_busy, engine);
  sm_monitor_add_gauge (m, SM_METRIC_ID_QUEUE_DEPTH, "Queue depth", "", gauge_queue_depth, engine);
  sm_monitor_add_gauge (m, SM_METRIC_ID_MEAN_BATCH, "Mean batch", "", gauge_mean_batch, engine);
  sm_monitor_add_gauge (m, SM_METRIC_ID_CACHE_HIT_RATE, "Cache hit rate", "%", gauge_cache_hit_rate, engine);
  sm_monitor_add_gauge (m, SM_METRIC_ID_POOL_IN_USE, "Pool in use", "MiB", gauge_pool_in_use, engine->pool);
  sm_monitor_add_gauge (m, SM_METRIC_ID_POOL_RESERVED, "Pool reserved", "MiB", gauge_pool_reserved, engine->pool);
  sm_monitor_add_gauge (m, SM_METRIC_ID_POOL_LIMIT, "Pool limit", "MiB", gauge_pool_limit, engine->pool);
  sm_monitor_add_gauge (m, SM_METRIC_ID_POOL_FRAGMENTATION, "Fragmentation", "%", gauge_pool_fragmentation, engine->pool);
  sm_monitor_add_gauge (m, SM_METRIC_ID_POOL_FAILURES, "Pool allocation failures", "", gauge_pool_failures, engine->pool);
  sm_monitor_add_simd_metrics (m);
  sm_monitor_add_process_metrics (m);
}
