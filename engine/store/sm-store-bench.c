/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>

#include "sm-engine.h"
#include "sm-store.h"
#include "sm-store-bench.h"
#include "sm-workload.h"

#define METRICS 40
#define HOUR_TICKS (3600 * 4)   /* one hour at 4 Hz */

static double
constant_gauge (gpointer data)
{
  return 0;
}

/* A monitor with METRICS gauges: the shape of the snapshots, not their
 * source, is what the store sees. */
static SmMonitor *
bench_monitor (void)
{
  SmMonitor *monitor = sm_monitor_new ();

  for (guint i = 0; i < METRICS; i++)
    {
      g_autofree char *id = g_strdup_printf ("bench.metric%02u", i);

      sm_monitor_add_gauge (monitor, id, id, "", constant_gauge, NULL);
    }
  return monitor;
}

static void
ingest (SmStore   *store,
        gint64     session,
        SmMonitor *monitor,
        guint      ticks)
{
  for (guint t = 0; t < ticks; t++)
    {
      SmMonitorSnapshot *s = g_new0 (SmMonitorSnapshot, 1);

      s->ref_count = 1;
      s->t_ms = 250 * (gint64) t;
      s->n_values = METRICS;
      s->values = g_new (double, METRICS);
      for (guint i = 0; i < METRICS; i++)
        s->values[i] = (double) ((t * 7 + i * 13) % 1000);
      sm_store_add_snapshot (store, session, monitor, s);
      sm_monitor_snapshot_unref (s);
    }
}

static void
count_sample (const char *metric,
              gint64      t_ms,
              double      value,
              gpointer    user_data)
{
  (*(guint64 *) user_data)++;
}

typedef struct
{
  SmStore *store;
  gint64   session;
} Read;

static void
run_read (gpointer data)
{
  Read *r = data;
  GArray *points = sm_store_read_metric (r->store, r->session, "bench.metric17", 0, 250 * (HOUR_TICKS - 1), 1000, NULL);

  g_assert (points != NULL && points->len == 1000);
  g_array_unref (points);
}

static void
run_replay (gpointer data)
{
  Read *r = data;
  guint64 samples = 0;

  sm_store_replay (r->store, r->session, count_sample, &samples, NULL);
  g_assert (samples == (guint64) HOUR_TICKS * METRICS);
}

typedef struct
{
  SmStore   *store;
  gint64     session;
  SmMonitor *monitor;
} Recording;

static void
record_cb (SmMonitorSnapshot *snapshot,
           gpointer           user_data)
{
  Recording *r = user_data;

  if (r->store != NULL)
    sm_store_add_snapshot (r->store, r->session, r->monitor, snapshot);
}


void
sm_store_bench (SmBenchReport *report)
{
  g_autofree char *dir = g_dir_make_tmp ("synmesh-bench-store-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "bench.db", NULL);
  g_autoptr(SmMonitor) monitor = bench_monitor ();
  g_autoptr(SmStore) store = sm_store_open (path, NULL, NULL);
  Read read = { store, 0 };
  double t0, seconds;

  /* Ingest: a one-hour session's snapshots as fast as they come. */
  read.session = sm_store_begin_session (store, "bench", "none", "{}", NULL);
  t0 = sm_bench_now ();
  ingest (store, read.session, monitor, HOUR_TICKS);
  sm_store_flush (store);
  seconds = sm_bench_now () - t0;
  sm_bench_report_add_target (report, "store-ingest", "metrics=40 ticks=14400 through=writer",
                              (double) HOUR_TICKS * METRICS / seconds, "samples/s", ">= 200000");

  sm_bench_report_add_target (report, "store-read", "session=1h rate=4Hz metrics=40 points=1000",
                              sm_bench_time_best (run_read, &read) * 1e3, "ms", "<= 20");
  sm_bench_report_add_target (report, "store-replay", "session=1h rate=4Hz metrics=40",
                              sm_bench_time_best (run_replay, &read) * 1e3, "ms", "<= 200");

  /* The engine with recording on and off, alternating halves. */
  {
    g_autoptr(SmEngine) engine = sm_engine_new (SM_POOL_DEFAULT_LIMIT, 2, NULL);
    g_autoptr(SmWorkload) workload = sm_workload_new (engine, SM_WORKLOAD_CLOSED, 256, 13);
    SmMonitor *engine_monitor = sm_engine_get_monitor (engine);
    Recording recording = { NULL, 0, engine_monitor };
    double on = 0, off = 0;
    guint baseline;
    gint64 session = sm_store_begin_session (store, "bench-engine", "preset standard", "{}", NULL);

    sm_workload_set_unique (workload, TRUE);
    sm_monitor_subscribe (engine_monitor, record_cb, &recording, NULL);
    sm_monitor_start (engine_monitor);
    sm_workload_start (workload);
    g_usleep (300000);
    for (guint round = 0; round < 8; round++)
      {
        g_atomic_pointer_set (&recording.store, NULL);
        off += sm_workload_measure_rate (workload, 0.4);
        recording.session = session;
        g_atomic_pointer_set (&recording.store, store);
        on += sm_workload_measure_rate (workload, 0.4);
      }
    sm_workload_stop (workload);
    sm_monitor_stop (engine_monitor);
    sm_store_flush (store);

    baseline = sm_bench_report_add (report, "engine-throughput", "recording=off monitor=on", off / 8, "queries/s");
    sm_bench_report_compare (report, "engine-throughput", "recording=on monitor=on", on / 8, "queries/s",
                             baseline, ">= 0.98");
  }

  g_clear_pointer (&store, sm_store_free);
  {
    const char *suffixes[] = { "", "-wal", "-shm" };

    for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
      {
        g_autofree char *file = g_strconcat (path, suffixes[i], NULL);
        g_unlink (file);
      }
    g_rmdir (dir);
  }
}
