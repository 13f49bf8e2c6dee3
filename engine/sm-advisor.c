/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#define G_LOG_DOMAIN "sm-advisor"

#include <math.h>
#include <glib/gi18n-lib.h>

#include "sm-advisor.h"
#include "sm-comparison.h"
#include "sm-error.h"
#include "sm-metric-ids.h"

/* Metrics the rules read, resolved once. */
enum {
  M_SIMD, M_FRAGMENTATION, M_HIT_RATE, M_P50, M_P99, M_QUEUE, M_BATCH, M_THROUGHPUT,
  M_POOL_RESERVED, M_POOL_LIMIT, M_POOL_FAILURES, M_FAILURES,
  M_REMOTE_P50, M_QUEUE_P50, M_INFERENCE_P50,
  N_METRICS
};

static const char * const metric_ids[N_METRICS] = {
  SM_METRIC_ID_SIMD_UTILISATION, SM_METRIC_ID_POOL_FRAGMENTATION, SM_METRIC_ID_CACHE_HIT_RATE, SM_METRIC_ID_LATENCY_P50, SM_METRIC_ID_LATENCY_P99,
  SM_METRIC_ID_QUEUE_DEPTH, SM_METRIC_ID_MEAN_BATCH, SM_METRIC_ID_THROUGHPUT,
  SM_METRIC_ID_POOL_RESERVED, SM_METRIC_ID_POOL_LIMIT, SM_METRIC_ID_POOL_FAILURES, SM_METRIC_ID_FAILURES,
  SM_METRIC_ID_STAGE_REMOTE_P50, SM_METRIC_ID_STAGE_QUEUE_P50, SM_METRIC_ID_STAGE_INFERENCE_P50,
};

typedef struct _Rule Rule;

/* A proposal: what to change and how its effect is measured. */
typedef struct
{
  SmKnob      knob;
  double      new_value;
  char       *action;
  char       *expected;
  int         metric;            /* the outcome's metric */
  gboolean    lower_is_better;
} Proposal;

struct _Rule
{
  const char *id;
  SmSeverity  severity;
  const char *title;
  /* TRUE when the snapshot shows the problem (NaN values never do). */
  gboolean  (*condition) (SmAdvisor *a, const double *v, char **evidence);
  /* FALSE when no knob change would help here. */
  gboolean  (*propose)   (SmAdvisor *a, const double *v, Proposal *p);
};

typedef struct
{
  guint    bad;          /* consecutive ticks with the condition */
  guint    good;         /* consecutive ticks without it */
  gboolean open;         /* fired, not yet cleared */
} RuleState;

/* An applied recommendation waiting for its outcome. */
typedef struct
{
  SmRecommendation *rec;
  int               metric;
  gboolean          lower_is_better;
  double            before;
  double            sum;
  guint             samples;
  gboolean          settled;   /* the tick that straddles the change is past */
  /* Each tick's value before and after, as SmStorePoint of one sample:
   * the outcome's interval compares them as two runs are compared. */
  GArray           *before_ticks;
  GArray           *after_ticks;
} Pending;

static void
pending_free (Pending *p)
{
  g_array_unref (p->before_ticks);
  g_array_unref (p->after_ticks);
  g_free (p);
}

static void
add_tick (GArray *ticks,
          double  value)
{
  SmStorePoint point = { .t_ms = ticks->len, .min = value, .max = value, .mean = value, .count = 1 };

  g_array_append_val (ticks, point);
}

struct _SmAdvisor
{
  SmEngine   *engine;
  SmMonitor  *monitor;
  int         metrics[N_METRICS];
  guint       subscription;
  SmAdvisorFunc func;
  gpointer    user_data;

  GMutex      lock;
  guint       window;
  double      target_us;
  double      precision_bound;   /* relative */
  gint        latency_unit;      /* SmLatencyUnit, atomic */
  gboolean    auto_apply;
  RuleState  *states;
  GPtrArray  *recommendations;   /* SmRecommendation, oldest first */
  GPtrArray  *pending;           /* Pending */
  GPtrArray  *proposals;         /* Proposal of each recommendation, by id - 1 */
  double     *history;           /* window × N_METRICS, a ring */
  guint       history_next;
  guint       history_filled;
};

/* ---- helpers ---- */

static double
knob_value (SmAdvisor *a,
            SmKnob     knob)
{
  SmPoolStats stats;

  switch (knob)
    {
    case SM_KNOB_BACKEND: return sm_engine_get_backend (a->engine);
    case SM_KNOB_THREADS: return sm_engine_get_threads (a->engine);
    case SM_KNOB_MAX_BATCH: return sm_engine_get_max_batch (a->engine);
    case SM_KNOB_MAX_WAIT_US: return sm_engine_get_max_wait_us (a->engine);
    case SM_KNOB_CACHE_SIZE: return sm_engine_get_cache_size (a->engine);
    case SM_KNOB_OFFLOAD_SHARE: return sm_engine_get_offload_share (a->engine, NULL);
    case SM_KNOB_GPU_MODE: return sm_engine_get_gpu_mode (a->engine);
    case SM_KNOB_PRECISION: return sm_engine_get_precision (a->engine);
    case SM_KNOB_POOL_LIMIT:
      sm_pool_get_stats (sm_engine_get_pool (a->engine), &stats);
      return (double) stats.limit;
    case SM_KNOB_COMPACT_POOL:
    default:
      return 0;
    }
}

static gboolean
set_knob (SmAdvisor  *a,
          SmKnob      knob,
          double      value,
          GError    **error)
{
  switch (knob)
    {
    case SM_KNOB_BACKEND: return sm_engine_set_backend (a->engine, (SmBackend) value, error);
    case SM_KNOB_THREADS: return sm_engine_set_threads (a->engine, (guint) value, error);
    case SM_KNOB_MAX_BATCH: return sm_engine_set_max_batch (a->engine, (guint) value, error);
    case SM_KNOB_MAX_WAIT_US: sm_engine_set_max_wait_us (a->engine, (guint) value); return TRUE;
    case SM_KNOB_CACHE_SIZE: sm_engine_set_cache_size (a->engine, (guint) value); return TRUE;
    case SM_KNOB_OFFLOAD_SHARE:
      {
        guint queue_above;

        sm_engine_get_offload_share (a->engine, &queue_above);
        sm_engine_set_offload_share (a->engine, (guint) value, queue_above);
        return TRUE;
      }
    case SM_KNOB_POOL_LIMIT: return sm_engine_set_pool_limit (a->engine, (gsize) value, error);
    case SM_KNOB_GPU_MODE: return sm_engine_set_gpu_mode (a->engine, (SmGpuMode) value, error);
    case SM_KNOB_PRECISION: return sm_engine_set_precision (a->engine, (SmPrecision) value, error);
    case SM_KNOB_COMPACT_POOL: sm_engine_compact_pool (a->engine); return TRUE;
    default: g_assert_not_reached ();
    }
}

double
sm_advisor_get_knob (SmAdvisor *advisor,
                     SmKnob     knob)
{
  return knob_value (advisor, knob);
}

gboolean
sm_advisor_set_knob (SmAdvisor  *advisor,
                     SmKnob      knob,
                     double      value,
                     GError    **error)
{
  return set_knob (advisor, knob, value, error);
}

static guint
cores (void)
{
  return g_get_num_processors ();
}

#define V(i) (v[a->metrics[i]])

/* ---- the rules ---- */

static gboolean
simd_condition (SmAdvisor *a, const double *v, char **evidence)
{
  if (!(V (M_SIMD) < 80))
    return FALSE;
  *evidence = g_strdup_printf (_("%.0f %% of the kernels' FLOPs ran in vector code (rule: < 80 %%)"), V (M_SIMD));
  return TRUE;
}

static gboolean
simd_propose (SmAdvisor *a, const double *v, Proposal *p)
{
  const SmKernels *best = sm_backend_get_kernels (SM_BACKEND_AUTO, NULL);

  if (sm_engine_get_backend (a->engine) == SM_BACKEND_AUTO || !best->is_vector)
    return FALSE;
  *p = (Proposal) { SM_KNOB_BACKEND, SM_BACKEND_AUTO,
                    g_strdup_printf (_("Switch the kernels to auto (%s)"), best->name),
                    g_strdup (_("Every layer runs in vector kernels: higher throughput, lower latency")),
                    M_SIMD, FALSE };
  return TRUE;
}

static gboolean
fragmentation_condition (SmAdvisor *a, const double *v, char **evidence)
{
  if (!(V (M_FRAGMENTATION) > 30))
    return FALSE;
  *evidence = g_strdup_printf (_("Fragmentation is %.0f %%: the largest free run is %.0f %% of the free memory "
                                  "(rule: > 30 %%)"), V (M_FRAGMENTATION), 100 - V (M_FRAGMENTATION));
  return TRUE;
}

static gboolean
fragmentation_propose (SmAdvisor *a, const double *v, Proposal *p)
{
  *p = (Proposal) { SM_KNOB_COMPACT_POOL, 0, g_strdup (_("Compact the memory pool")),
                    g_strdup (_("Free memory becomes one run: large allocations (a model swap, bigger batches) fit again")),
                    M_FRAGMENTATION, TRUE };
  return TRUE;
}

static gboolean
cache_condition (SmAdvisor *a, const double *v, char **evidence)
{
  if (!(V (M_HIT_RATE) < 70))
    return FALSE;
  *evidence = g_strdup_printf (_("The result cache answers %.0f %% of queries (rule: < 70 %%) with %u entries"),
                               V (M_HIT_RATE), sm_engine_get_cache_size (a->engine));
  return TRUE;
}

static gboolean
cache_propose (SmAdvisor *a, const double *v, Proposal *p)
{
  guint size = sm_engine_get_cache_size (a->engine);

  if (V (M_HIT_RATE) < 5)
    *p = (Proposal) { SM_KNOB_CACHE_SIZE, 0, g_strdup (_("Turn the result cache off")),
                      g_strdup (_("Queries do not repeat: the cache only costs a lookup and a copy each")),
                      M_P50, TRUE };
  else if (size < 65536)
    *p = (Proposal) { SM_KNOB_CACHE_SIZE, MIN (65536, size * 4.0),
                      g_strdup_printf (_("Enlarge the result cache to %u entries"), MIN (65536, size * 4)),
                      g_strdup (_("More repeated queries are answered without inference")), M_HIT_RATE, FALSE };
  else
    return FALSE;
  return TRUE;
}

static gboolean
pool_condition (SmAdvisor *a, const double *v, char **evidence)
{
  double share = 100 * V (M_POOL_RESERVED) / V (M_POOL_LIMIT);

  /* The pool's own failed allocations: a query failing for another
   * reason says nothing about the pool. */
  if (!(share > 90) && !(V (M_POOL_FAILURES) > 0))
    return FALSE;
  *evidence = g_strdup_printf (_("The pool holds %.1f of %.1f MiB (%.0f %%, rule: > 90 %%); %.0f allocations "
                                  "failed so far"), V (M_POOL_RESERVED), V (M_POOL_LIMIT), share, V (M_POOL_FAILURES));
  return TRUE;
}

static gboolean
pool_propose (SmAdvisor *a, const double *v, Proposal *p)
{
  double limit = ceil (V (M_POOL_LIMIT) * 1.5) * 1024 * 1024;

  *p = (Proposal) { SM_KNOB_POOL_LIMIT, limit,
                    g_strdup_printf (_("Raise the pool limit to %.0f MiB"), limit / 1048576),
                    g_strdup (_("Room for larger batches and model swaps; no failed allocations")),
                    M_POOL_FAILURES, TRUE };
  return TRUE;
}

/* A value as people read it: a latency (µs) in the unit the user chose,
 * or in the one that suits it, ns to s, as the charts write it; no space
 * before no unit ("1.8 → 1.0", not "1.8  → 1.0 "). */
static char *
format_value (SmAdvisor  *a,
              double      value,
              const char *unit)
{
  SmLatencyUnit latency_unit = g_atomic_int_get (&a->latency_unit);

  if (isnan (value))
    return g_strdup ("—");
  if (g_strcmp0 (unit, "µs") == 0 && latency_unit == SM_LATENCY_UNIT_MILLISECONDS)
    value /= 1e3, unit = "ms";
  else if (g_strcmp0 (unit, "µs") == 0 && latency_unit == SM_LATENCY_UNIT_AUTO)
    {
      double magnitude = fabs (value);

      if (magnitude >= 1e6)
        value /= 1e6, unit = "s";
      else if (magnitude >= 1e3)
        value /= 1e3, unit = "ms";
      else if (magnitude < 1 && magnitude > 0)
        value *= 1e3, unit = "ns";
    }
  if (unit == NULL || *unit == '\0')
    return g_strdup_printf ("%.*f", fabs (value) >= 100 ? 0 : 1, value);
  return g_strdup_printf ("%.*f %s", fabs (value) >= 100 ? 0 : 1, value, unit);
}

static gboolean
latency_condition (SmAdvisor *a, const double *v, char **evidence)
{
  g_autofree char *p99 = NULL, *target = NULL;

  if (!(V (M_P99) > a->target_us))
    return FALSE;
  p99 = format_value (a, V (M_P99), "µs");
  target = format_value (a, a->target_us, "µs");
  *evidence = g_strdup_printf (_("p99 latency is %s, above the %s target"), p99, target);
  return TRUE;
}

static gboolean
latency_propose (SmAdvisor *a, const double *v, Proposal *p)
{
  guint wait = sm_engine_get_max_wait_us (a->engine), threads = sm_engine_get_threads (a->engine);

  if (wait > 50)
    *p = (Proposal) { SM_KNOB_MAX_WAIT_US, wait / 2,
                      g_strdup_printf (_("Halve the batch wait to %u µs"), wait / 2),
                      g_strdup (_("Queries wait less for their batch to fill")), M_P99, TRUE };
  else if (threads < cores ())
    *p = (Proposal) { SM_KNOB_THREADS, threads + 1, g_strdup_printf (_("Use %u worker threads"), threads + 1),
                      g_strdup (_("More queries run at once")), M_P99, TRUE };
  else
    return FALSE;
  return TRUE;
}

static gboolean
saturation_condition (SmAdvisor *a, const double *v, char **evidence)
{
  guint max_batch = sm_engine_get_max_batch (a->engine);
  SmTrend trend;

  if (!(V (M_QUEUE) > 4.0 * max_batch) ||
      !sm_monitor_get_trend (a->monitor, a->metrics[M_QUEUE], &trend) || !(trend.slope_per_s > 0))
    return FALSE;
  *evidence = g_strdup_printf (_("%.0f queries wait (more than 4 batches of %u) and the queue grows by %.0f/s: "
                                  "arrivals exceed what the engine serves"), V (M_QUEUE), max_batch, trend.slope_per_s);
  return TRUE;
}

static gboolean
saturation_propose (SmAdvisor *a, const double *v, Proposal *p)
{
  guint threads = sm_engine_get_threads (a->engine), batch = sm_engine_get_max_batch (a->engine);

  if (threads < cores ())
    *p = (Proposal) { SM_KNOB_THREADS, threads + 1, g_strdup_printf (_("Use %u worker threads"), threads + 1),
                      g_strdup (_("The engine serves more queries per second")), M_QUEUE, TRUE };
  else if (batch < SM_ENGINE_MAX_BATCH)
    *p = (Proposal) { SM_KNOB_MAX_BATCH, MIN (SM_ENGINE_MAX_BATCH, batch * 2),
                      g_strdup_printf (_("Raise the batch limit to %u"), MIN (SM_ENGINE_MAX_BATCH, batch * 2)),
                      g_strdup (_("Larger batches run the kernels closer to their peak")), M_QUEUE, TRUE };
  else
    return FALSE;
  return TRUE;
}

static gboolean
threads_condition (SmAdvisor *a, const double *v, char **evidence)
{
  guint threads = sm_engine_get_threads (a->engine);

  if (threads <= cores ())
    return FALSE;
  *evidence = g_strdup_printf (_("%u worker threads on %u cores: threads wait for each other"), threads, cores ());
  return TRUE;
}

static gboolean
threads_propose (SmAdvisor *a, const double *v, Proposal *p)
{
  *p = (Proposal) { SM_KNOB_THREADS, cores (), g_strdup_printf (_("Use %u worker threads, one per core"), cores ()),
                    g_strdup (_("Less switching between threads: steadier latency")), M_P99, TRUE };
  return TRUE;
}

static gboolean
batch_condition (SmAdvisor *a, const double *v, char **evidence)
{
  if (!(V (M_BATCH) < 2) || !(V (M_QUEUE) >= 2))
    return FALSE;
  *evidence = g_strdup_printf (_("Queries wait (%.0f in the queue) yet batches hold %.1f on average"),
                               V (M_QUEUE), V (M_BATCH));
  return TRUE;
}

/* Queries waiting while batches stay under two means the batch limit, not
 * the wait, keeps them small: a worker takes all it may. */
static gboolean
batch_propose (SmAdvisor *a, const double *v, Proposal *p)
{
  guint batch = MAX (8, sm_engine_get_max_batch (a->engine) * 2);

  if (sm_engine_get_max_batch (a->engine) >= SM_ENGINE_MAX_BATCH)
    return FALSE;
  batch = MIN (batch, SM_ENGINE_MAX_BATCH);
  *p = (Proposal) { SM_KNOB_MAX_BATCH, batch, g_strdup_printf (_("Raise the batch limit to %u"), batch),
                    g_strdup (_("Fuller batches: more queries per second from the same cores")),
                    M_THROUGHPUT, FALSE };
  return TRUE;
}

static gboolean
trend_condition (SmAdvisor *a, const double *v, char **evidence)
{
  g_autofree char *slope = NULL, *average = NULL;
  SmTrend trend;

  if (!sm_monitor_get_trend (a->monitor, a->metrics[M_P99], &trend) || trend.samples < a->window ||
      !(trend.slope_per_s > 0.05 * trend.ewma) || !(trend.ewma > 0.5 * a->target_us))
    return FALSE;
  slope = format_value (a, trend.slope_per_s, "µs");
  average = format_value (a, trend.ewma, "µs");
  *evidence = g_strdup_printf (_("p99 latency rises by %s per second (from an average of %s)"), slope, average);
  return TRUE;
}

static gboolean
trend_propose (SmAdvisor *a, const double *v, Proposal *p)
{
  guint threads = sm_engine_get_threads (a->engine);

  if (threads >= cores ())
    return FALSE;
  *p = (Proposal) { SM_KNOB_THREADS, threads + 1, g_strdup_printf (_("Use %u worker threads"), threads + 1),
                    g_strdup (_("Capacity ahead of the rising load")), M_P99, TRUE };
  return TRUE;
}

/* A peer is slow when a query sent there takes more than twice what one
 * waits and runs for here: the network and the peer's queue cost more than
 * they save. */
static gboolean
peer_condition (SmAdvisor *a, const double *v, char **evidence)
{
  double here = V (M_QUEUE_P50) + V (M_INFERENCE_P50);
  g_autofree char *remote = NULL, *local = NULL;

  if (!(V (M_REMOTE_P50) > 2 * here))
    return FALSE;
  remote = format_value (a, V (M_REMOTE_P50), "µs");
  local = format_value (a, here, "µs");
  *evidence = g_strdup_printf (_("Queries sent to peers take %s (p50), %.1f× the %s one waits and runs for here"),
                               remote, V (M_REMOTE_P50) / here, local);
  return TRUE;
}

static gboolean
peer_propose (SmAdvisor *a, const double *v, Proposal *p)
{
  guint share = sm_engine_get_offload_share (a->engine, NULL);
  guint less = share >= 20 ? share / 2 : 0;

  if (share == 0)
    return FALSE;
  *p = (Proposal) { SM_KNOB_OFFLOAD_SHARE, less,
                    less > 0 ? g_strdup_printf (_("Send %u %% of queries to peers"), less)
                             : g_strdup (_("Stop sending queries to peers")),
                    g_strdup (_("Fewer queries wait on the slow round trip")), M_P50, TRUE };
  return TRUE;
}

/* The GPU against its measured crossover (set once to auto): on while
 * batches stay below it costs latency; off while they are above it leaves
 * speed unused. */
static gboolean
gpu_overhead_condition (SmAdvisor *a, const double *v, char **evidence)
{
  guint crossover = sm_engine_get_gpu_crossover (a->engine);

  if (sm_engine_get_gpu_mode (a->engine) != SM_GPU_ON || crossover == 0 || !(V (M_BATCH) < crossover))
    return FALSE;
  *evidence = crossover == G_MAXUINT
              ? g_strdup_printf (_("Every batch runs on the GPU, which was slower than the CPU kernels at every batch size "
                                    "measured (batches now average %.1f)"), V (M_BATCH))
              : g_strdup_printf (_("Batches average %.1f on the GPU, which beats the CPU kernels only from %u"),
                                 V (M_BATCH), crossover);
  return TRUE;
}

static gboolean
gpu_overhead_propose (SmAdvisor *a, const double *v, Proposal *p)
{
  gboolean never = sm_engine_get_gpu_crossover (a->engine) == G_MAXUINT;

  *p = (Proposal) { SM_KNOB_GPU_MODE, never ? SM_GPU_OFF : SM_GPU_AUTO,
                    g_strdup (never ? "Turn the GPU off" : "Set the GPU to auto"),
                    g_strdup (_("Small batches on the CPU kernels: lower latency")), M_P50, TRUE };
  return TRUE;
}

static gboolean
gpu_opportunity_condition (SmAdvisor *a, const double *v, char **evidence)
{
  guint crossover = sm_engine_get_gpu_crossover (a->engine);

  if (sm_engine_get_gpu_mode (a->engine) != SM_GPU_OFF || crossover == 0 || crossover == G_MAXUINT
      || !(V (M_BATCH) >= crossover))
    return FALSE;
  *evidence = g_strdup_printf (_("Batches average %.1f; from %u the GPU was faster than the CPU kernels"), V (M_BATCH),
                               crossover);
  return TRUE;
}

static gboolean
gpu_opportunity_propose (SmAdvisor *a, const double *v, Proposal *p)
{
  *p = (Proposal) { SM_KNOB_GPU_MODE, SM_GPU_AUTO, g_strdup (_("Set the GPU to auto")),
                    g_strdup (_("Large batches on the GPU: lower latency, cores freed")), M_P50, TRUE };
  return TRUE;
}

/* Batches of one read an expert's every weight per query: the forward's
 * pace is that of memory, and fewer bytes per weight pay directly.  The
 * next lower precision is proposed while its error, measured when the
 * model loaded, stays within the user's bound. */
static gboolean
precision_condition (SmAdvisor *a, const double *v, char **evidence)
{
  SmPrecision now = sm_engine_get_precision (a->engine), next = now + 1;
  g_autofree char *forward = NULL, *total = NULL;
  SmPrecisionError cost;

  /* Generic kernels are bound by their arithmetic, not by memory. */
  if (next >= SM_PRECISION_N_KINDS || sm_engine_get_gpu_mode (a->engine) != SM_GPU_OFF ||
      sm_engine_get_simd_level (a->engine) == SM_SIMD_GENERIC ||
      !(V (M_BATCH) < 2) || !(V (M_INFERENCE_P50) >= 0.5 * V (M_P50)) ||
      !sm_engine_get_precision_error (a->engine, next, &cost) || !(cost.max_rel <= a->precision_bound) ||
      !(a->precision_bound > 0))
    return FALSE;
  forward = format_value (a, V (M_INFERENCE_P50), "µs");
  total = format_value (a, V (M_P50), "µs");
  *evidence = g_strdup_printf (_("Batches hold %.1f queries and the forward takes %s of the %s p50: each query reads "
                                 "its expert's weights from memory. In %s, outputs differ from f32 by up to %.2g %% "
                                 "of the largest on the calibration batch (your bound: %.2g %%)"),
                               V (M_BATCH), forward, total, sm_precision_get_name (next), 100 * cost.max_rel,
                               100 * a->precision_bound);
  return TRUE;
}

static gboolean
precision_propose (SmAdvisor *a, const double *v, Proposal *p)
{
  SmPrecision next = sm_engine_get_precision (a->engine) + 1;

  *p = (Proposal) { SM_KNOB_PRECISION, next, g_strdup_printf (_("Store the weights in %s"), sm_precision_get_name (next)),
                    g_strdup (next == SM_PRECISION_BF16 ? _("Half the bytes per query: a faster forward")
                                                        : _("A quarter of f32's bytes per query: a faster forward")),
                    M_INFERENCE_P50, TRUE };
  return TRUE;
}

static const Rule rules[] = {
  { "simd-utilisation", SM_SEVERITY_WARNING, N_("Kernels run without vector instructions"), simd_condition, simd_propose },
  { "fragmentation", SM_SEVERITY_WARNING, N_("The memory pool is fragmented"), fragmentation_condition, fragmentation_propose },
  { "cache-hit-rate", SM_SEVERITY_INFO, N_("The result cache rarely hits"), cache_condition, cache_propose },
  { "pool-pressure", SM_SEVERITY_CRITICAL, N_("The memory pool is nearly full"), pool_condition, pool_propose },
  { "latency-target", SM_SEVERITY_WARNING, N_("p99 latency is over its target"), latency_condition, latency_propose },
  { "saturation", SM_SEVERITY_CRITICAL, N_("Queries arrive faster than they are served"), saturation_condition, saturation_propose },
  { "oversubscribed-threads", SM_SEVERITY_WARNING, N_("More worker threads than cores"), threads_condition, threads_propose },
  { "small-batches", SM_SEVERITY_INFO, N_("Batches stay small while queries wait"), batch_condition, batch_propose },
  { "rising-latency", SM_SEVERITY_INFO, N_("Latency is rising"), trend_condition, trend_propose },
  { "slow-peer", SM_SEVERITY_WARNING, N_("Peers answer slower than this node"), peer_condition, peer_propose },
  { "gpu-overhead", SM_SEVERITY_WARNING, N_("The GPU runs batches too small for it"), gpu_overhead_condition,
    gpu_overhead_propose },
  { "gpu-opportunity", SM_SEVERITY_INFO, N_("Batches are large enough for the GPU"), gpu_opportunity_condition,
    gpu_opportunity_propose },
  { "weight-precision", SM_SEVERITY_INFO, N_("The forward waits for its weights"), precision_condition,
    precision_propose },
};

/* ---- life cycle ---- */

SmAdvisor *
sm_advisor_new (SmEngine *engine)
{
  SmAdvisor *a = g_new0 (SmAdvisor, 1);

  a->engine = engine;
  a->monitor = sm_engine_get_monitor (engine);
  for (guint i = 0; i < N_METRICS; i++)
    {
      a->metrics[i] = sm_monitor_find_metric (a->monitor, metric_ids[i]);
      g_assert (a->metrics[i] >= 0);
    }
  g_mutex_init (&a->lock);
  a->window = SM_ADVISOR_DEFAULT_WINDOW;
  a->target_us = SM_ADVISOR_DEFAULT_TARGET_US;
  a->precision_bound = SM_ADVISOR_DEFAULT_PRECISION_BOUND;
  a->states = g_new0 (RuleState, G_N_ELEMENTS (rules));
  a->recommendations = g_ptr_array_new_with_free_func ((GDestroyNotify) sm_recommendation_free);
  a->pending = g_ptr_array_new_with_free_func ((GDestroyNotify) pending_free);
  a->proposals = g_ptr_array_new ();
  a->history = g_new (double, a->window * N_METRICS);

  return a;
}

static void
proposal_free (gpointer data)
{
  Proposal *p = data;

  g_free (p->action);
  g_free (p->expected);
  g_free (p);
}

void
sm_advisor_free (SmAdvisor *a)
{
  if (a == NULL)
    return;

  if (a->subscription != 0)
    sm_monitor_unsubscribe (a->monitor, a->subscription);
  g_ptr_array_set_free_func (a->proposals, proposal_free);
  g_ptr_array_unref (a->proposals);
  g_ptr_array_unref (a->pending);
  g_ptr_array_unref (a->recommendations);
  g_free (a->states);
  g_free (a->history);
  g_mutex_clear (&a->lock);
  g_free (a);
}

static void
tick_cb (SmMonitorSnapshot *snapshot,
         gpointer           user_data)
{
  sm_advisor_evaluate (user_data, snapshot);
}

void
sm_advisor_attach (SmAdvisor     *a,
                   SmAdvisorFunc  func,
                   gpointer       user_data)
{
  a->func = func;
  a->user_data = user_data;
  if (a->subscription == 0)
    a->subscription = sm_monitor_subscribe (a->monitor, tick_cb, a, NULL);
}

void
sm_advisor_set_window (SmAdvisor *a,
                       guint      ticks)
{
  g_mutex_lock (&a->lock);
  a->window = MAX (1, ticks);
  a->history = g_renew (double, a->history, a->window * N_METRICS);
  a->history_next = a->history_filled = 0;
  g_mutex_unlock (&a->lock);
}

void
sm_advisor_set_latency_target (SmAdvisor *a,
                               double     p99_us)
{
  g_mutex_lock (&a->lock);
  a->target_us = p99_us;
  g_mutex_unlock (&a->lock);
}

void
sm_advisor_set_precision_bound (SmAdvisor *a,
                                double     relative)
{
  g_mutex_lock (&a->lock);
  a->precision_bound = relative;
  g_mutex_unlock (&a->lock);
}

void
sm_advisor_set_latency_unit (SmAdvisor     *a,
                             SmLatencyUnit  unit)
{
  g_atomic_int_set (&a->latency_unit, unit);
}

void
sm_advisor_set_auto_apply (SmAdvisor *a,
                           gboolean   auto_apply)
{
  g_mutex_lock (&a->lock);
  a->auto_apply = auto_apply;
  g_mutex_unlock (&a->lock);
}

/* The mean of a metric over the window before now (NaN when unknown). */
static double
window_mean_locked (SmAdvisor *a,
                    int        metric)
{
  double sum = 0;
  guint n = 0;

  for (guint i = 0; i < a->history_filled; i++)
    {
      double value = a->history[i * N_METRICS + metric];

      if (!isnan (value))
        {
          sum += value;
          n++;
        }
    }
  return n ? sum / n : NAN;
}

static SmRecommendation *
find_locked (SmAdvisor *a,
             guint      id)
{
  return id >= 1 && id <= a->recommendations->len ? g_ptr_array_index (a->recommendations, id - 1) : NULL;
}

/* The open recommendation making the same change, whichever rule made
 * it, if any: one change is one recommendation. */
static SmRecommendation *
find_open_locked (SmAdvisor        *a,
                  const Proposal   *proposal)
{
  for (guint i = 0; i < a->recommendations->len; i++)
    {
      SmRecommendation *rec = g_ptr_array_index (a->recommendations, i);

      if (rec->status == SM_RECOMMENDATION_OPEN && rec->knob == proposal->knob
          && rec->new_value == proposal->new_value)
        return rec;
    }
  return NULL;
}

/* A second rule asks for the change an open recommendation already
 * proposes: it joins that recommendation, its reason after the first
 * one's, rather than offering the same button twice. */
static void
add_rule_locked (SmRecommendation *rec,
                 const Rule       *rule,
                 const char       *evidence)
{
  char *joined;

  if (rec->also_rules == NULL)
    rec->also_rules = g_strdup (rule->id);
  else
    {
      joined = g_strconcat (rec->also_rules, " ", rule->id, NULL);
      g_free (rec->also_rules);
      rec->also_rules = joined;
    }
  /* TRANSLATORS: a recommendation's evidence, then another rule's title
   * and evidence for the same change */
  joined = g_strdup_printf (_("%s\nAlso: %s. %s"), rec->evidence, _(rule->title), evidence);
  g_free (rec->evidence);
  rec->evidence = joined;
}

static gboolean
apply_locked (SmAdvisor  *a,
              guint       id,
              GError    **error)
{
  SmRecommendation *rec = find_locked (a, id);
  Proposal *p;
  Pending *pending;

  if (rec == NULL || rec->status != SM_RECOMMENDATION_OPEN)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT,
                   _("Recommendation %u is not open"), id);
      return FALSE;
    }

  p = g_ptr_array_index (a->proposals, id - 1);
  rec->old_value = knob_value (a, rec->knob);
  if (!set_knob (a, rec->knob, rec->new_value, error))
    return FALSE;
  rec->status = SM_RECOMMENDATION_APPLIED;

  /* The outcome compares the window before the change with the one after. */
  pending = g_new0 (Pending, 1);
  pending->rec = rec;
  pending->metric = p->metric;
  pending->lower_is_better = p->lower_is_better;
  pending->before = window_mean_locked (a, p->metric);
  pending->before_ticks = g_array_new (FALSE, FALSE, sizeof (SmStorePoint));
  pending->after_ticks = g_array_new (FALSE, FALSE, sizeof (SmStorePoint));
  for (guint i = 0; i < a->history_filled; i++)
    if (!isnan (a->history[i * N_METRICS + p->metric]))
      add_tick (pending->before_ticks, a->history[i * N_METRICS + p->metric]);
  g_ptr_array_add (a->pending, pending);

  return TRUE;
}

static void
notify (SmAdvisor        *a,
        SmRecommendation *rec,
        gboolean          outcome)
{
  if (a->func != NULL)
    a->func (a, sm_recommendation_copy (rec), outcome, a->user_data);
}


void
sm_advisor_evaluate (SmAdvisor         *a,
                     SmMonitorSnapshot *snapshot)
{
  const double *v = snapshot->values;
  g_autoptr(GPtrArray) fired = g_ptr_array_new ();
  g_autoptr(GPtrArray) measured = g_ptr_array_new ();

  g_mutex_lock (&a->lock);

  /* Outcomes first: this tick belongs to the window after each change. */
  for (guint i = 0; i < a->pending->len; )
    {
      Pending *p = g_ptr_array_index (a->pending, i);
      double value = v[a->metrics[p->metric]];

      /* The first tick after a change still holds work that began under the
       * old setting (a batch in flight, a queue built up): it belongs to
       * neither window. */
      if (!p->settled)
        {
          p->settled = TRUE;
          i++;
          continue;
        }
      if (!isnan (value))
        {
          p->sum += value;
          p->samples++;
          add_tick (p->after_ticks, value);
        }
      if (p->samples < a->window)
        {
          i++;
          continue;
        }

      {
        const SmMetricInfo *info = sm_monitor_get_metric (a->monitor, a->metrics[p->metric]);
        double after = p->sum / p->samples;
        g_autofree char *before_text = format_value (a, p->before, info->unit);
        g_autofree char *after_text = format_value (a, after, info->unit);
        double change = p->before != 0 && !isnan (p->before) ? 100 * (after - p->before) / fabs (p->before) : NAN;
        SmComparison interval;

        /* How sure: the ticks before and after, resampled as two runs
         * are (the 95 % bootstrap interval of the change). */
        sm_comparison_compute (info->id, p->before_ticks, p->after_ticks, &interval);
        p->rec->before = p->before;
        p->rec->after = after;
        p->rec->worse = !isnan (p->before) &&
                        (p->lower_is_better ? after > p->before * 1.05 : after < p->before * 0.95);
        if (isnan (change))
          p->rec->outcome = g_strdup_printf (_("%s %s → %s"), info->name, before_text, after_text);
        else if (isnan (interval.change_low))
          p->rec->outcome = g_strdup_printf (_("%s %s → %s, %+.0f %%"), info->name, before_text, after_text, change);
        else
          p->rec->outcome = g_strdup_printf (_("%s %s → %s, %+.0f %% [%+.0f, %+.0f]%s"), info->name, before_text,
                                             after_text, change, interval.change_low, interval.change_high,
                                             interval.verdict == SM_VERDICT_SAME ? _(", no significant difference") : "");
        g_ptr_array_add (measured, p->rec);
      }
      g_ptr_array_remove_index (a->pending, i);
    }

  /* Rules, with hysteresis. */
  for (guint r = 0; r < G_N_ELEMENTS (rules); r++)
    {
      RuleState *state = &a->states[r];
      g_autofree char *evidence = NULL;
      Proposal *proposal;
      SmRecommendation *rec;

      if (!rules[r].condition (a, v, &evidence))
        {
          state->bad = 0;
          if (++state->good >= a->window)
            state->open = FALSE;
          continue;
        }
      state->good = 0;
      if (++state->bad < a->window || state->open)
        continue;

      proposal = g_new0 (Proposal, 1);
      if (!rules[r].propose (a, v, proposal))
        {
          g_free (proposal);
          continue;
        }
      state->open = TRUE;

      /* The same advice again while the first is unanswered: one
       * recommendation, with the newest evidence and a count. */
      rec = find_open_locked (a, proposal);
      if (rec != NULL && rec->rule == rules[r].id)
        {
          g_free (rec->evidence);
          rec->evidence = g_steal_pointer (&evidence);
          rec->repeats++;
        }
      else if (rec != NULL && !sm_recommendation_has_rule (rec, rules[r].id))
        add_rule_locked (rec, &rules[r], evidence);
      if (rec != NULL)
        {
          proposal_free (proposal);
          g_ptr_array_add (fired, rec);
          continue;
        }
      rec = g_new0 (SmRecommendation, 1);
      rec->id = a->recommendations->len + 1;
      rec->rule = rules[r].id;
      rec->severity = rules[r].severity;
      rec->title = g_strdup (_(rules[r].title));
      rec->evidence = g_steal_pointer (&evidence);
      rec->expected = g_strdup (proposal->expected);
      rec->action = g_strdup (proposal->action);
      rec->knob = proposal->knob;
      rec->new_value = proposal->new_value;
      rec->old_value = knob_value (a, proposal->knob);
      rec->status = SM_RECOMMENDATION_OPEN;
      rec->fired_ms = snapshot->t_ms;
      rec->before = rec->after = NAN;
      g_ptr_array_add (a->recommendations, rec);
      g_ptr_array_add (a->proposals, proposal);
      g_ptr_array_add (fired, rec);
    }

  /* This tick joins the history the next outcomes compare against. */
  for (guint m = 0; m < N_METRICS; m++)
    a->history[a->history_next * N_METRICS + m] = v[a->metrics[m]];
  a->history_next = (a->history_next + 1) % a->window;
  a->history_filled = MIN (a->history_filled + 1, a->window);

  if (a->auto_apply)
    for (guint i = 0; i < fired->len; i++)
      {
        g_autoptr(GError) error = NULL;
        SmRecommendation *rec = g_ptr_array_index (fired, i);

        if (!apply_locked (a, rec->id, &error))
          g_warning ("Could not apply “%s”: %s", rec->action, error->message);
      }
  g_mutex_unlock (&a->lock);

  for (guint i = 0; i < fired->len; i++)
    notify (a, g_ptr_array_index (fired, i), FALSE);
  for (guint i = 0; i < measured->len; i++)
    notify (a, g_ptr_array_index (measured, i), TRUE);
}

gboolean
sm_advisor_apply (SmAdvisor  *a,
                  guint       id,
                  GError    **error)
{
  gboolean ok;

  g_mutex_lock (&a->lock);
  ok = apply_locked (a, id, error);
  g_mutex_unlock (&a->lock);

  return ok;
}

gboolean
sm_advisor_dismiss (SmAdvisor  *a,
                    guint       id,
                    GError    **error)
{
  SmRecommendation *rec;
  gboolean ok = FALSE;

  g_mutex_lock (&a->lock);
  rec = find_locked (a, id);
  if (rec != NULL && rec->status == SM_RECOMMENDATION_OPEN)
    {
      rec->status = SM_RECOMMENDATION_DISMISSED;
      ok = TRUE;
    }
  else
    g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT, _("Recommendation %u is not open"), id);
  g_mutex_unlock (&a->lock);

  return ok;
}

gboolean
sm_advisor_revert (SmAdvisor  *a,
                   guint       id,
                   GError    **error)
{
  SmRecommendation *rec;
  gboolean ok = FALSE;

  g_mutex_lock (&a->lock);
  rec = find_locked (a, id);
  if (rec == NULL || rec->status != SM_RECOMMENDATION_APPLIED || rec->knob == SM_KNOB_COMPACT_POOL)
    g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT,
                 _("Recommendation %u has no change to revert"), id);
  else if (set_knob (a, rec->knob, rec->old_value, error))
    {
      rec->status = SM_RECOMMENDATION_REVERTED;
      ok = TRUE;
    }
  g_mutex_unlock (&a->lock);

  return ok;
}

GPtrArray *
sm_advisor_list (SmAdvisor *a)
{
  GPtrArray *list = g_ptr_array_new_with_free_func ((GDestroyNotify) sm_recommendation_free);

  g_mutex_lock (&a->lock);
  for (guint i = 0; i < a->recommendations->len; i++)
    g_ptr_array_add (list, sm_recommendation_copy (g_ptr_array_index (a->recommendations, i)));
  g_mutex_unlock (&a->lock);

  return list;
}

SmRecommendation *
sm_recommendation_copy (const SmRecommendation *rec)
{
  SmRecommendation *copy = g_memdup2 (rec, sizeof *rec);

  copy->also_rules = g_strdup (rec->also_rules);
  copy->title = g_strdup (rec->title);
  copy->evidence = g_strdup (rec->evidence);
  copy->expected = g_strdup (rec->expected);
  copy->action = g_strdup (rec->action);
  copy->outcome = g_strdup (rec->outcome);

  return copy;
}

void
sm_recommendation_free (SmRecommendation *rec)
{
  if (rec == NULL)
    return;

  g_free (rec->also_rules);
  g_free (rec->title);
  g_free (rec->evidence);
  g_free (rec->expected);
  g_free (rec->action);
  g_free (rec->outcome);
  g_free (rec);
}

gboolean
sm_recommendation_has_rule (const SmRecommendation *rec,
                            const char             *rule)
{
  g_auto(GStrv) also = NULL;

  if (g_strcmp0 (rec->rule, rule) == 0)
    return TRUE;
  if (rec->also_rules == NULL)
    return FALSE;
  also = g_strsplit (rec->also_rules, " ", -1);
  return g_strv_contains ((const char * const *) also, rule);
}

const char *
sm_severity_get_name (SmSeverity severity)
{
  static const char * const names[] = { "info", "warning", "critical" };

  g_return_val_if_fail (severity <= SM_SEVERITY_CRITICAL, NULL);
  return names[severity];
}
