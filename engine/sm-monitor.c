/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#define G_LOG_DOMAIN "sm-monitor"

#include <glib/gi18n-lib.h>

#include <math.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include "sm-error.h"
#include "sm-metric-ids.h"
#include "sm-monitor.h"
#include "sm-simd.h"

typedef enum {
  SOURCE_GAUGE,
  SOURCE_RATE,
  SOURCE_LATENCY,
  SOURCE_SIMD,
  SOURCE_VALUE,
} SourceKind;

/* Where the values of one or more consecutive metrics come from. */
typedef struct
{
  SourceKind             kind;
  guint                  first;        /* index of its first metric */
  SmMonitorGaugeFunc     gauge;
  SmMonitorCounterFunc   counter;
  gpointer               user_data;
  double                 scale;        /* rates: per-second change × scale */
  guint64                last_count;
  guint64                last_scalar;  /* SIMD: scalar FLOPs at the last tick */
  gint64                 last_us;
  SmHistogram           *histogram;
  gboolean               is_stage;
  double                 value;        /* SOURCE_VALUE: the last one set */
} Source;

/* The statistics a latency registers, in order after <id>.count. */
static const struct {
  const char *suffix;
  const char *name;
} latency_stats[] = {
  { "p50", "p50" }, { "p90", "p90" }, { "p99", "p99" }, { "p999", "p99.9" },
  { "max", "max" }, { "mean", "mean" },
};
#define LATENCY_METRICS (1 + G_N_ELEMENTS (latency_stats))

typedef struct
{
  guint                  id;
  SmMonitorSnapshotFunc  func;
  gpointer               user_data;
  GDestroyNotify         destroy;
} Subscriber;

typedef struct
{
  double  values[SM_MONITOR_TREND_WINDOW];
  gint64  t_ms[SM_MONITOR_TREND_WINDOW];
  guint   next;
  guint   filled;
  double  ewma;
  gboolean have_ewma;
} History;

struct _SmMonitor
{
  GMutex      lock;              /* metrics, sources, histories, interval */
  GPtrArray  *metrics;           /* SmMetricInfo, never moved once added */
  GArray     *sources;           /* Source */
  GArray     *histories;         /* History */
  gint64      start_us;

  /* The time snapshots are taken at (µs): the monotonic clock, or a test's
   * own, so that rates and trends can be checked exactly, without sleeping.
   * The monitor's thread keeps its schedule on the real clock. */
  SmMonitorClockFunc clock;
  gpointer           clock_data;

  GRecMutex   delivery;          /* held while subscribers run */
  GArray     *subscribers;       /* Subscriber, under `delivery` */
  guint       next_subscription;

  GThread    *thread;
  GCond       wake;
  gboolean    running;
  guint       interval_ms;
};

static void
metric_info_free (gpointer data)
{
  SmMetricInfo *info = data;

  g_free (info->id);
  g_free (info->name);
  g_free (info->unit);
  g_free (info);
}

static gint64
monotonic_clock (gpointer user_data)
{
  return g_get_monotonic_time ();
}

SmMonitor *
sm_monitor_new (void)
{
  SmMonitor *monitor = g_new0 (SmMonitor, 1);

  g_mutex_init (&monitor->lock);
  g_rec_mutex_init (&monitor->delivery);
  g_cond_init (&monitor->wake);
  monitor->metrics = g_ptr_array_new_with_free_func (metric_info_free);
  monitor->sources = g_array_new (FALSE, TRUE, sizeof (Source));
  monitor->histories = g_array_new (FALSE, TRUE, sizeof (History));
  monitor->subscribers = g_array_new (FALSE, TRUE, sizeof (Subscriber));
  monitor->interval_ms = SM_MONITOR_DEFAULT_INTERVAL_MS;
  monitor->clock = monotonic_clock;
  monitor->start_us = monotonic_clock (NULL);

  return monitor;
}

void
sm_monitor_free (SmMonitor *monitor)
{
  if (monitor == NULL)
    return;

  sm_monitor_stop (monitor);

  for (guint i = 0; i < monitor->subscribers->len; i++)
    {
      Subscriber *s = &g_array_index (monitor->subscribers, Subscriber, i);

      if (s->destroy != NULL)
        s->destroy (s->user_data);
    }

  g_array_unref (monitor->subscribers);
  g_array_unref (monitor->histories);
  g_array_unref (monitor->sources);
  g_ptr_array_unref (monitor->metrics);
  g_cond_clear (&monitor->wake);
  g_rec_mutex_clear (&monitor->delivery);
  g_mutex_clear (&monitor->lock);
  g_free (monitor);
}

static int find_metric_locked (SmMonitor *monitor, const char *id);

static guint
add_metric_locked (SmMonitor    *monitor,
                   const char   *id,
                   const char   *name,
                   const char   *unit,
                   SmMetricKind  kind)
{
  SmMetricInfo *info = g_new (SmMetricInfo, 1);
  History history = { 0 };

  *info = (SmMetricInfo) { g_strdup (id), g_strdup (name), g_strdup (unit), kind };
  g_ptr_array_add (monitor->metrics, info);
  g_array_append_val (monitor->histories, history);

  return monitor->metrics->len - 1;
}

static guint
add_source (SmMonitor    *monitor,
            Source       *source,
            const char   *id,
            const char   *name,
            const char   *unit,
            SmMetricKind  kind)
{
  guint index;

  g_mutex_lock (&monitor->lock);
  if (find_metric_locked (monitor, id) >= 0)
    g_critical ("sm_monitor: metric “%s” is registered twice", id);
  index = add_metric_locked (monitor, id, name, unit, kind);
  source->first = index;
  source->last_us = monitor->clock (monitor->clock_data);
  g_array_append_val (monitor->sources, *source);
  g_mutex_unlock (&monitor->lock);

  return index;
}

guint
sm_monitor_add_gauge (SmMonitor          *monitor,
                      const char         *id,
                      const char         *name,
                      const char         *unit,
                      SmMonitorGaugeFunc  func,
                      gpointer            user_data)
{
  Source source = { .kind = SOURCE_GAUGE, .gauge = func, .user_data = user_data };

  g_return_val_if_fail (monitor != NULL && id != NULL && func != NULL, 0);

  return add_source (monitor, &source, id, name, unit, SM_METRIC_GAUGE);
}

guint
sm_monitor_add_value (SmMonitor    *monitor,
                      const char   *id,
                      const char   *name,
                      const char   *unit,
                      SmMetricKind  kind)
{
  Source source = { .kind = SOURCE_VALUE, .value = NAN };
  int index;

  g_return_val_if_fail (monitor != NULL && id != NULL, 0);

  g_mutex_lock (&monitor->lock);
  index = find_metric_locked (monitor, id);
  g_mutex_unlock (&monitor->lock);
  if (index >= 0)
    return (guint) index;
  return add_source (monitor, &source, id, name, unit, kind);
}

void
sm_monitor_set_value (SmMonitor *monitor,
                      guint      index,
                      double     value)
{
  g_mutex_lock (&monitor->lock);
  for (guint i = 0; i < monitor->sources->len; i++)
    {
      Source *source = &g_array_index (monitor->sources, Source, i);

      if (source->first == index && source->kind == SOURCE_VALUE)
        {
          source->value = value;
          break;
        }
    }
  g_mutex_unlock (&monitor->lock);
}

static guint
add_rate (SmMonitor            *monitor,
          const char           *id,
          const char           *name,
          const char           *unit,
          SmMonitorCounterFunc  func,
          gpointer              user_data,
          double                scale)
{
  Source source = { .kind = SOURCE_RATE, .counter = func, .user_data = user_data, .scale = scale };

  source.last_count = func (user_data);

  return add_source (monitor, &source, id, name, unit, SM_METRIC_RATE);
}

guint
sm_monitor_add_rate (SmMonitor            *monitor,
                     const char           *id,
                     const char           *name,
                     const char           *unit,
                     SmMonitorCounterFunc  func,
                     gpointer              user_data)
{
  g_return_val_if_fail (monitor != NULL && id != NULL && func != NULL, 0);

  return add_rate (monitor, id, name, unit, func, user_data, 1.0);
}

guint
sm_monitor_add_latency (SmMonitor   *monitor,
                        const char  *id,
                        const char  *name,
                        SmHistogram *histogram,
                        gboolean     is_stage)
{
  Source source = { .kind = SOURCE_LATENCY, .histogram = histogram, .is_stage = is_stage };
  g_autofree char *count_id = g_strdup_printf ("%s.count", id);
  g_autofree char *count_name = g_strdup_printf ("%s count", name);
  guint first;

  g_return_val_if_fail (monitor != NULL && id != NULL && histogram != NULL, 0);

  /* Start the first interval now, not at the histogram's creation. */
  sm_histogram_snapshot_free (sm_histogram_take_interval (histogram));

  first = add_source (monitor, &source, count_id, count_name, "", SM_METRIC_COUNT);
  g_mutex_lock (&monitor->lock);
  for (guint i = 0; i < G_N_ELEMENTS (latency_stats); i++)
    {
      g_autofree char *stat_id = g_strdup_printf ("%s.%s", id, latency_stats[i].suffix);
      g_autofree char *stat_name = g_strdup_printf ("%s %s", name, latency_stats[i].name);

      add_metric_locked (monitor, stat_id, stat_name, "µs", SM_METRIC_LATENCY);
    }
  g_mutex_unlock (&monitor->lock);

  return first;
}

static double
read_rss_mib (gpointer user_data)
{
  g_autofree char *statm = NULL;
  unsigned long size, resident;

  if (!g_file_get_contents ("/proc/self/statm", &statm, NULL, NULL) ||
      sscanf (statm, "%lu %lu", &size, &resident) != 2)
    return NAN;

  return (double) resident * sysconf (_SC_PAGESIZE) / (1024.0 * 1024.0);
}

static guint64
read_cpu_us (gpointer user_data)
{
  struct rusage usage;

  getrusage (RUSAGE_SELF, &usage);

  return (guint64) (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000000
         + usage.ru_utime.tv_usec + usage.ru_stime.tv_usec;
}

void
sm_monitor_add_process_metrics (SmMonitor *monitor)
{
  sm_monitor_add_gauge (monitor, SM_METRIC_ID_PROCESS_RSS, "Memory (RSS)", "MiB", read_rss_mib, NULL);
  /* CPU µs per second of wall time / 10⁴ = % of one core. */
  add_rate (monitor, SM_METRIC_ID_PROCESS_CPU, "CPU", "%", read_cpu_us, NULL, 1e-4);
}

void
sm_monitor_add_simd_metrics (SmMonitor *monitor)
{
  Source source = { .kind = SOURCE_SIMD };

  sm_simd_get_flop_counts (&source.last_count, &source.last_scalar);
  add_source (monitor, &source, SM_METRIC_ID_SIMD_UTILISATION, "SIMD utilisation", "%", SM_METRIC_GAUGE);
}

guint
sm_monitor_get_n_metrics (SmMonitor *monitor)
{
  guint n;

  g_mutex_lock (&monitor->lock);
  n = monitor->metrics->len;
  g_mutex_unlock (&monitor->lock);

  return n;
}

const SmMetricInfo *
sm_monitor_get_metric (SmMonitor *monitor,
                       guint      index)
{
  const SmMetricInfo *info = NULL;

  /* Metrics are only ever appended and never change: the pointer stays
   * valid as long as the monitor. */
  g_mutex_lock (&monitor->lock);
  if (index < monitor->metrics->len)
    info = g_ptr_array_index (monitor->metrics, index);
  g_mutex_unlock (&monitor->lock);

  return info;
}

static int
find_metric_locked (SmMonitor  *monitor,
                    const char *id)
{
  for (guint i = 0; i < monitor->metrics->len; i++)
    if (g_str_equal (((SmMetricInfo *) g_ptr_array_index (monitor->metrics, i))->id, id))
      return (int) i;

  return -1;
}

int
sm_monitor_find_metric (SmMonitor  *monitor,
                        const char *id)
{
  int index;

  g_mutex_lock (&monitor->lock);
  index = find_metric_locked (monitor, id);
  g_mutex_unlock (&monitor->lock);

  /* Every id comes from sm-metric-ids.h: one that is not registered is a
   * bug, which would otherwise show as a chart of NaN. */
  if (index < 0)
    g_critical ("No metric “%s” in the monitor", id);

  return index;
}

guint
sm_monitor_subscribe (SmMonitor             *monitor,
                      SmMonitorSnapshotFunc  func,
                      gpointer               user_data,
                      GDestroyNotify         destroy)
{
  Subscriber s = { 0, func, user_data, destroy };

  g_rec_mutex_lock (&monitor->delivery);
  s.id = ++monitor->next_subscription;
  g_array_append_val (monitor->subscribers, s);
  g_rec_mutex_unlock (&monitor->delivery);

  return s.id;
}

void
sm_monitor_unsubscribe (SmMonitor *monitor,
                        guint      subscription)
{
  Subscriber removed = { 0 };

  /* Waits for a delivery in progress on another thread: once this returns
   * the callback will not run again. */
  g_rec_mutex_lock (&monitor->delivery);
  for (guint i = 0; i < monitor->subscribers->len; i++)
    if (g_array_index (monitor->subscribers, Subscriber, i).id == subscription)
      {
        removed = g_array_index (monitor->subscribers, Subscriber, i);
        g_array_remove_index (monitor->subscribers, i);
        break;
      }
  g_rec_mutex_unlock (&monitor->delivery);

  if (removed.destroy != NULL)
    removed.destroy (removed.user_data);
}

/* Reads one source into the snapshot's values; returns the source's share
 * weight for the bottleneck (total stage time in the interval) or 0. */
static double
read_source (Source *source,
             double *values,
             gint64  now_us)
{
  double dt = (now_us - source->last_us) / 1e6;

  switch (source->kind)
    {
    case SOURCE_GAUGE:
      values[source->first] = source->gauge (source->user_data);
      break;

    case SOURCE_VALUE:
      values[source->first] = source->value;
      break;

    case SOURCE_RATE:
      {
        guint64 count = source->counter (source->user_data);

        values[source->first] = dt > 0 ? (double) (count - source->last_count) / dt * source->scale : NAN;
        source->last_count = count;
      }
      break;

    case SOURCE_SIMD:
      {
        guint64 vector, scalar, dv, ds;

        sm_simd_get_flop_counts (&vector, &scalar);
        dv = vector - source->last_count;
        ds = scalar - source->last_scalar;
        values[source->first] = dv + ds > 0 ? 100.0 * dv / (dv + ds) : NAN;
        source->last_count = vector;
        source->last_scalar = scalar;
      }
      break;

    case SOURCE_LATENCY:
      {
        g_autoptr(SmHistogramSnapshot) interval = sm_histogram_take_interval (source->histogram);
        guint64 count = sm_histogram_snapshot_get_count (interval);
        double *v = values + source->first;

        v[0] = (double) count;
        if (count == 0)
          {
            for (guint i = 1; i < LATENCY_METRICS; i++)
              v[i] = NAN;
            break;
          }
        v[1] = sm_histogram_snapshot_get_percentile (interval, 50) / 1e3;
        v[2] = sm_histogram_snapshot_get_percentile (interval, 90) / 1e3;
        v[3] = sm_histogram_snapshot_get_percentile (interval, 99) / 1e3;
        v[4] = sm_histogram_snapshot_get_percentile (interval, 99.9) / 1e3;
        v[5] = sm_histogram_snapshot_get_max (interval) / 1e3;
        v[6] = sm_histogram_snapshot_get_mean (interval) / 1e3;
        source->last_us = now_us;

        return source->is_stage ? v[6] * count : 0;
      }

    default:
      g_assert_not_reached ();
    }

  source->last_us = now_us;

  return 0;
}

static void
record_history (History *h,
                double   value,
                gint64   t_ms)
{
  if (isnan (value))
    return;

  h->values[h->next] = value;
  h->t_ms[h->next] = t_ms;
  h->next = (h->next + 1) % SM_MONITOR_TREND_WINDOW;
  h->filled = MIN (h->filled + 1, SM_MONITOR_TREND_WINDOW);
  h->ewma = h->have_ewma ? 0.2 * value + 0.8 * h->ewma : value;
  h->have_ewma = TRUE;
}

void
sm_monitor_set_clock (SmMonitor          *monitor,
                      SmMonitorClockFunc  clock,
                      gpointer            user_data)
{
  g_return_if_fail (monitor != NULL && clock != NULL);
  /* Sources added before would have times from another clock. */
  g_return_if_fail (monitor->sources->len == 0);

  g_mutex_lock (&monitor->lock);
  monitor->clock = clock;
  monitor->clock_data = user_data;
  monitor->start_us = clock (user_data);
  g_mutex_unlock (&monitor->lock);
}

gint64
sm_monitor_get_time_ms (SmMonitor *monitor)
{
  return (monitor->clock (monitor->clock_data) - monitor->start_us) / 1000;
}

SmMonitorSnapshot *
sm_monitor_tick (SmMonitor *monitor)
{
  SmMonitorSnapshot *snapshot = g_new0 (SmMonitorSnapshot, 1);
  gint64 now_us = monitor->clock (monitor->clock_data);
  double best_share = 0, total_share = 0;

  snapshot->ref_count = 1;
  snapshot->bottleneck = -1;
  snapshot->t_ms = (now_us - monitor->start_us) / 1000;

  g_mutex_lock (&monitor->lock);
  snapshot->n_values = monitor->metrics->len;
  snapshot->values = g_new (double, MAX (1, snapshot->n_values));
  for (guint i = 0; i < monitor->sources->len; i++)
    {
      Source *source = &g_array_index (monitor->sources, Source, i);
      double share = read_source (source, snapshot->values, now_us);

      total_share += share;
      if (share > best_share)
        {
          best_share = share;
          snapshot->bottleneck = (int) source->first;
        }
    }
  snapshot->bottleneck_share = total_share > 0 ? best_share / total_share : NAN;
  for (guint i = 0; i < snapshot->n_values; i++)
    record_history (&g_array_index (monitor->histories, History, i), snapshot->values[i], snapshot->t_ms);
  g_mutex_unlock (&monitor->lock);

  g_rec_mutex_lock (&monitor->delivery);
  for (guint i = 0; i < monitor->subscribers->len; i++)
    {
      Subscriber s = g_array_index (monitor->subscribers, Subscriber, i);

      s.func (snapshot, s.user_data);
    }
  g_rec_mutex_unlock (&monitor->delivery);

  return snapshot;
}

gboolean
sm_monitor_get_trend (SmMonitor *monitor,
                      guint      index,
                      SmTrend   *trend)
{
  History *h;
  double mt = 0, mv = 0, stt = 0, stv = 0;

  g_mutex_lock (&monitor->lock);
  if (index >= monitor->histories->len)
    {
      g_mutex_unlock (&monitor->lock);
      return FALSE;
    }
  h = &g_array_index (monitor->histories, History, index);

  trend->samples = h->filled;
  trend->ewma = h->have_ewma ? h->ewma : NAN;
  trend->slope_per_s = NAN;

  /* Least squares over (seconds, value), centred for accuracy. */
  if (h->filled >= 2)
    {
      for (guint i = 0; i < h->filled; i++)
        {
          mt += h->t_ms[i] / 1e3;
          mv += h->values[i];
        }
      mt /= h->filled;
      mv /= h->filled;
      for (guint i = 0; i < h->filled; i++)
        {
          double dt = h->t_ms[i] / 1e3 - mt;

          stt += dt * dt;
          stv += dt * (h->values[i] - mv);
        }
      if (stt > 0)
        trend->slope_per_s = stv / stt;
    }
  g_mutex_unlock (&monitor->lock);

  return TRUE;
}

static gpointer
monitor_thread (gpointer data)
{
  SmMonitor *monitor = data;
  gint64 next = g_get_monotonic_time ();

  g_mutex_lock (&monitor->lock);
  while (monitor->running)
    {
      next += (gint64) monitor->interval_ms * 1000;
      while (monitor->running && g_get_monotonic_time () < next)
        if (!g_cond_wait_until (&monitor->wake, &monitor->lock, next))
          break;
      if (!monitor->running)
        break;

      /* Ticks keep to their schedule; after a stall (a suspended laptop),
       * start afresh rather than firing a burst. */
      if (g_get_monotonic_time () - next > (gint64) monitor->interval_ms * 1000)
        next = g_get_monotonic_time ();

      g_mutex_unlock (&monitor->lock);
      sm_monitor_snapshot_unref (sm_monitor_tick (monitor));
      g_mutex_lock (&monitor->lock);
    }
  g_mutex_unlock (&monitor->lock);

  return NULL;
}

gboolean
sm_monitor_set_interval (SmMonitor  *monitor,
                         guint       interval_ms,
                         GError    **error)
{
  if (interval_ms < SM_MONITOR_MIN_INTERVAL_MS || interval_ms > SM_MONITOR_MAX_INTERVAL_MS)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT,
                   _("The refresh interval must be between %d ms and %d s, not %u ms"),
                   SM_MONITOR_MIN_INTERVAL_MS, SM_MONITOR_MAX_INTERVAL_MS / 1000, interval_ms);
      return FALSE;
    }

  g_mutex_lock (&monitor->lock);
  monitor->interval_ms = interval_ms;
  g_cond_signal (&monitor->wake);
  g_mutex_unlock (&monitor->lock);

  return TRUE;
}

guint
sm_monitor_get_interval (SmMonitor *monitor)
{
  guint interval;

  g_mutex_lock (&monitor->lock);
  interval = monitor->interval_ms;
  g_mutex_unlock (&monitor->lock);

  return interval;
}

void
sm_monitor_start (SmMonitor *monitor)
{
  g_mutex_lock (&monitor->lock);
  if (monitor->thread == NULL)
    {
      monitor->running = TRUE;
      monitor->thread = g_thread_new ("sm-monitor", monitor_thread, monitor);
    }
  g_mutex_unlock (&monitor->lock);
}

void
sm_monitor_stop (SmMonitor *monitor)
{
  GThread *thread;

  g_mutex_lock (&monitor->lock);
  monitor->running = FALSE;
  g_cond_signal (&monitor->wake);
  thread = g_steal_pointer (&monitor->thread);
  g_mutex_unlock (&monitor->lock);

  if (thread != NULL)
    g_thread_join (thread);
}

SmMonitorSnapshot *
sm_monitor_snapshot_ref (SmMonitorSnapshot *snapshot)
{
  g_atomic_int_inc (&snapshot->ref_count);

  return snapshot;
}

SmMonitorSnapshot *
sm_monitor_snapshot_copy_at (SmMonitorSnapshot *snapshot,
                             gint64             t_ms)
{
  SmMonitorSnapshot *copy = g_new (SmMonitorSnapshot, 1);

  *copy = *snapshot;
  copy->ref_count = 1;
  copy->t_ms = t_ms;
  copy->values = g_memdup2 (snapshot->values, (gsize) snapshot->n_values * sizeof (double));
  return copy;
}

void
sm_monitor_snapshot_unref (SmMonitorSnapshot *snapshot)
{
  if (snapshot != NULL && g_atomic_int_dec_and_test (&snapshot->ref_count))
    {
      g_free (snapshot->values);
      g_free (snapshot);
    }
}
