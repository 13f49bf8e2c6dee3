/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "sm-histogram.h"

G_BEGIN_DECLS

/* The monitor: a registry of metrics and a tick that turns them into
 * snapshots for any number of subscribers (the dashboard, the store, the
 * CLI).  It runs on its own thread and never blocks the engine: gauges are
 * read with a callback, latencies through histogram intervals, rates from
 * counters.
 *
 * A snapshot is a flat array of numbers, one per metric, so that what the
 * UI charts is exactly what the store records.  A latency registers several
 * metrics: <id>.count, .p50, .p90, .p99, .p999, .max and .mean, in µs. */

#define SM_MONITOR_MIN_INTERVAL_MS     50
#define SM_MONITOR_MAX_INTERVAL_MS     10000
#define SM_MONITOR_DEFAULT_INTERVAL_MS 250
/* How many ticks the trends look back over. */
#define SM_MONITOR_TREND_WINDOW        64

typedef enum {
  SM_METRIC_GAUGE,     /* a level read each tick: queue depth, pool in use */
  SM_METRIC_RATE,      /* a counter's change per second: ops/s */
  SM_METRIC_LATENCY,   /* one statistic of a latency histogram, µs */
  SM_METRIC_COUNT,     /* events in the last tick: a latency's count */
} SmMetricKind;

typedef struct
{
  char         *id;     /* "pool.fragmentation", "stage.inference.p99" */
  char         *name;   /* for people: "Fragmentation", "Inference p99" */
  char         *unit;   /* "%", "µs", "ops/s", "MiB", "" */
  SmMetricKind  kind;
} SmMetricInfo;

typedef struct _SmMonitor         SmMonitor;
typedef struct _SmMonitorSnapshot SmMonitorSnapshot;

struct _SmMonitorSnapshot
{
  /*< private >*/
  gint           ref_count;
  /*< public >*/
  gint64         t_ms;          /* since the monitor started, monotonic */
  guint          n_values;      /* metrics registered when it was taken */
  double        *values;        /* NAN where a metric had nothing to say */
  int            bottleneck;    /* index of the stage latency with the largest
                                 * share of the end-to-end time, or -1 */
  double         bottleneck_share;
};

typedef double  (*SmMonitorGaugeFunc)    (gpointer user_data);
typedef guint64 (*SmMonitorCounterFunc)  (gpointer user_data);
/* Called on the monitor's thread: copy or reference what you need, return
 * quickly (the dashboard hands the snapshot over to its main loop). */
typedef void    (*SmMonitorSnapshotFunc) (SmMonitorSnapshot *snapshot,
                                          gpointer           user_data);

typedef struct
{
  double slope_per_s;   /* least-squares slope over the window, units/s */
  double ewma;          /* exponentially weighted mean, α = 0.2 per tick */
  guint  samples;       /* ticks with a value in the window */
} SmTrend;

SmMonitor         *sm_monitor_new               (void);
void               sm_monitor_free              (SmMonitor      *monitor);

guint              sm_monitor_add_gauge         (SmMonitor             *monitor,
                                                 const char            *id,
                                                 const char            *name,
                                                 const char            *unit,
                                                 SmMonitorGaugeFunc     func,
                                                 gpointer               user_data);
guint              sm_monitor_add_rate          (SmMonitor             *monitor,
                                                 const char            *id,
                                                 const char            *name,
                                                 const char            *unit,
                                                 SmMonitorCounterFunc   func,
                                                 gpointer               user_data);
/* A metric whose value comes from outside, set with sm_monitor_set_value()
 * (NaN until then, and to say "nothing now"): a mesh peer's figures, say.
 * Registering an id again returns the index it already has. */
guint              sm_monitor_add_value         (SmMonitor             *monitor,
                                                 const char            *id,
                                                 const char            *name,
                                                 const char            *unit,
                                                 SmMetricKind           kind);
void               sm_monitor_set_value         (SmMonitor             *monitor,
                                                 guint                  index,
                                                 double                 value);
/* Registers the metrics of @histogram (not owned, must outlive the
 * monitor); a stage's latencies also take part in the bottleneck. Returns
 * the index of <id>.count; the others follow it in the order above. */
guint              sm_monitor_add_latency       (SmMonitor             *monitor,
                                                 const char            *id,
                                                 const char            *name,
                                                 SmHistogram           *histogram,
                                                 gboolean               is_stage);
/* Process RSS (MiB) and CPU use (% of one core) from /proc; SIMD
 * utilisation (%, vector share of the kernels' FLOPs). */
void               sm_monitor_add_process_metrics (SmMonitor *monitor);
void               sm_monitor_add_simd_metrics    (SmMonitor *monitor);

guint              sm_monitor_get_n_metrics     (SmMonitor      *monitor);
/* Valid as long as the monitor; NULL past the last metric. */
const SmMetricInfo *sm_monitor_get_metric       (SmMonitor      *monitor,
                                                 guint           index);
/* The index of metric @id (an SM_METRIC_ id), or -1 with a critical: an
 * id the monitor lacks is a bug. */
int                sm_monitor_find_metric       (SmMonitor      *monitor,
                                                 const char     *id);

guint              sm_monitor_subscribe         (SmMonitor             *monitor,
                                                 SmMonitorSnapshotFunc  func,
                                                 gpointer               user_data,
                                                 GDestroyNotify         destroy);
void               sm_monitor_unsubscribe       (SmMonitor      *monitor,
                                                 guint           subscription);

/* Ticks every @interval_ms (50 ms – 10 s) on the monitor's thread. */
gboolean           sm_monitor_set_interval      (SmMonitor      *monitor,
                                                 guint           interval_ms,
                                                 GError        **error);
guint              sm_monitor_get_interval      (SmMonitor      *monitor);
void               sm_monitor_start             (SmMonitor      *monitor);
void               sm_monitor_stop              (SmMonitor      *monitor);

typedef gint64  (*SmMonitorClockFunc)    (gpointer user_data);

/* Replaces the monotonic clock (µs) that snapshots read, before any metric
 * is added: a test drives time by hand and checks rates and trends
 * exactly.  The monitor's own thread keeps to the real clock. */
void               sm_monitor_set_clock         (SmMonitor          *monitor,
                                                 SmMonitorClockFunc  clock,
                                                 gpointer            user_data);
/* The monitor's clock: ms since it was made, the time base of snapshots. */
gint64             sm_monitor_get_time_ms       (SmMonitor      *monitor);
/* Takes one snapshot now and delivers it, as a tick does; the monitor's
 * thread calls it, and so can tests and a stopped monitor's owner. */
SmMonitorSnapshot *sm_monitor_tick              (SmMonitor      *monitor);

/* The trend of one metric over the last SM_MONITOR_TREND_WINDOW ticks. */
gboolean           sm_monitor_get_trend         (SmMonitor      *monitor,
                                                 guint           index,
                                                 SmTrend        *trend);

SmMonitorSnapshot *sm_monitor_snapshot_ref      (SmMonitorSnapshot *snapshot);
/* A copy whose time is @t_ms: a session that began later than the monitor
 * records its snapshots in its own time. */
SmMonitorSnapshot *sm_monitor_snapshot_copy_at  (SmMonitorSnapshot *snapshot,
                                                 gint64             t_ms);
void               sm_monitor_snapshot_unref    (SmMonitorSnapshot *snapshot);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SmMonitor, sm_monitor_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SmMonitorSnapshot, sm_monitor_snapshot_unref)

G_END_DECLS
