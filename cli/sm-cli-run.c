/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <sys/resource.h>
#include <glib-unix.h>
#include <glib/gi18n.h>

#include "sm-cli.h"
#include "sm-advisor.h"
#include "sm-engine.h"
#include "sm-metric-ids.h"
#include "sm-recorder.h"
#include "sm-store.h"
#include "sm-workload.h"

/* The metrics the live line shows, looked up once. */
typedef struct
{
  int throughput, p50, p99, queue, batch, pool, fragmentation, simd, cpu, failures;
  guint lines;
} Columns;

static void
print_header (void)
{
  g_print ("%7s %9s %9s %9s %6s %6s %9s %6s %6s %6s %7s\n",
           _("time s"), _("ops/s"), _("p50 µs"), _("p99 µs"), _("queue"), _("batch"),
           _("pool MiB"), _("frag%"), _("simd%"), _("cpu%"), _("fail/s"));
}

static void
snapshot_cb (SmMonitorSnapshot *snapshot,
             gpointer           user_data)
{
  Columns *c = user_data;
  const double *v = snapshot->values;

  /* Runs on the monitor's thread: print and return. */
  if (c->lines++ % 20 == 0)
    print_header ();
  g_print ("%7.1f %9.0f %9.1f %9.1f %6.0f %6.1f %9.2f %6.1f %6.1f %6.0f %7.0f\n",
           snapshot->t_ms / 1e3, v[c->throughput], v[c->p50], v[c->p99], v[c->queue], v[c->batch],
           v[c->pool], v[c->fragmentation], v[c->simd], v[c->cpu], v[c->failures]);
}

/* What the user was last told about recording. */
typedef struct
{
  SmStore   *store;
  gboolean   failing;
  guint64    dropped;
} StoreWatch;

/* The store writes on a thread of its own and keeps what it cannot write:
 * the user hears when recording starts failing and when it works again,
 * not only at the end. */
static gboolean
watch_store_cb (gpointer user_data)
{
  StoreWatch *w = user_data;
  SmStoreStatus status;

  sm_store_get_status (w->store, &status);
  if (!status.healthy && !w->failing)
    g_printerr (_("synmesh run: recording fails: %s; %" G_GUINT64_FORMAT " samples are held until it works again\n"),
                status.error, status.buffered);
  else if (status.healthy && w->failing)
    g_printerr (_("synmesh run: recording works again; %" G_GUINT64_FORMAT " samples saved so far\n"),
                status.committed);
  if (status.dropped > w->dropped)
    g_printerr (_("synmesh run: %" G_GUINT64_FORMAT " samples lost: too many were waiting to be saved\n"),
                status.dropped - w->dropped);
  w->failing = !status.healthy;
  w->dropped = status.dropped;
  sm_store_status_clear (&status);

  return G_SOURCE_CONTINUE;
}

/* Recommendations as they fire, and their outcomes once measured; on the
 * monitor's thread, like the live lines. */
static void
recommendation_cb (SmAdvisor        *advisor,
                   SmRecommendation *rec,
                   gboolean          outcome,
                   gpointer          user_data)
{
  SmRecorder *recorder = user_data;

  /* NULL with --no-store. */
  if (recorder != NULL)
    {
      sm_recorder_add_recommendation (recorder, rec);
      if (!outcome && rec->status == SM_RECOMMENDATION_APPLIED)
        sm_recorder_add_event (recorder, "knob", rec->action);
    }

  if (!outcome)
    {
      /* Each rule's reason on a line of its own, indented like the rest. */
      g_auto(GStrv) reasons = g_strsplit (rec->evidence, "\n", -1);
      g_autofree char *evidence = g_strjoinv ("\n    ", reasons);

      g_print (_("▶ [%s] %s\n    %s\n    %s: %s%s\n"), sm_severity_get_name (rec->severity), rec->title,
               evidence, rec->status == SM_RECOMMENDATION_APPLIED ? _("applied") : _("suggested"),
               rec->action, rec->status == SM_RECOMMENDATION_APPLIED ? "" : _(" (--auto-apply applies it)"));
      g_print (_("    expected: %s\n"), rec->expected);
    }
  else
    g_print (_("◀ outcome of “%s”: %s%s\n"), rec->action, rec->outcome,
             rec->worse ? _(" — worse than before: consider reverting") : "");
  sm_recommendation_free (rec);
}

static gboolean
quit_cb (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

int
sm_cli_run (int    argc,
            char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(SmEngine) engine = NULL;
  g_autoptr(SmWorkload) workload = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(SmHistogramSnapshot) latency = NULL;
  g_autofree char *model_path = NULL, *preset_name = NULL, *backend_name = NULL, *mode_name = NULL, *gpu_name = NULL;
  g_autofree char *precision_name = NULL;
  g_autofree char *description = NULL;
  double rate = 2000, duration = 0;
  int threads = 2, max_batch = SM_ENGINE_DEFAULT_BATCH, max_wait = SM_ENGINE_DEFAULT_WAIT_US;
  int cache = 0, pool_mib = SM_POOL_DEFAULT_LIMIT / (1024 * 1024), refresh_ms = 1000;
  gboolean consensus = FALSE, unique = FALSE, auto_apply = FALSE, no_store = FALSE;
  g_autofree char *db_path = NULL, *recovered = NULL;
  g_autoptr(SmStore) store = NULL;
  g_autoptr(SmRecorder) recorder = NULL;
  double latency_target = SM_ADVISOR_DEFAULT_TARGET_US;
  g_autoptr(SmAdvisor) advisor = NULL;
  /* Freed by hand once the workload has stopped, before the engine. */
  g_autoptr(SmCliMesh) mesh = NULL;
  g_auto(SmCliMeshOptions) mesh_options = SM_CLI_MESH_OPTIONS_INIT;
  SmPreset preset = SM_PRESET_STANDARD;
  SmBackend backend = SM_BACKEND_AUTO;
  SmPrecision precision = SM_PRECISION_F32;
  SmWorkloadMode mode = SM_WORKLOAD_POISSON;
  SmMonitor *monitor;
  SmWorkloadCounts counts;
  Columns columns;
  gboolean saved = TRUE, totals_ok;
  StoreWatch watch = { 0 };
  guint watch_id = 0;
  gint64 started;
  double elapsed;
  const GOptionEntry entries[] = {
    { "duration", 'd', 0, G_OPTION_ARG_DOUBLE, &duration, N_("Stop after this many seconds (default: at Ctrl-C)"), N_("S") },
    { "rate", 'r', 0, G_OPTION_ARG_DOUBLE, &rate, N_("Queries per second, or queries outstanding when closed (default 2000)"), N_("N") },
    { "mode", 0, 0, G_OPTION_ARG_STRING, &mode_name, N_("Arrivals: poisson (default), constant, closed"), N_("MODE") },
    { "unique", 0, 0, G_OPTION_ARG_NONE, &unique, N_("Make every query unique (no cache hits)"), NULL },
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model_path, N_("Load this .safetensors model"), N_("FILE") },
    { "preset", 'p', 0, G_OPTION_ARG_STRING, &preset_name, N_("Use a preset: micro, standard (default), large"), N_("NAME") },
    { "backend", 'b', 0, G_OPTION_ARG_STRING, &backend_name, N_("Kernels: auto, generic, avx2, avx512, neon"), N_("NAME") },
    { "precision", 0, 0, G_OPTION_ARG_STRING, &precision_name, N_("Weights: f32 (default), bf16 (half the bytes) or int8 (a quarter)"), N_("NAME") },
    { "gpu", 0, 0, G_OPTION_ARG_STRING, &gpu_name, N_("The Vulkan GPU: off (default), on, or auto (from the batch size where it beats the CPU)"), N_("MODE") },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, N_("Worker threads (default 2)"), N_("N") },
    { "max-batch", 0, 0, G_OPTION_ARG_INT, &max_batch, N_("Largest micro-batch (default 32)"), N_("N") },
    { "max-wait-us", 0, 0, G_OPTION_ARG_INT, &max_wait, N_("Longest wait for a batch to fill, µs (default 200)"), N_("US") },
    { "cache", 0, 0, G_OPTION_ARG_INT, &cache, N_("Result cache entries (default 0: off)"), N_("N") },
    { "consensus", 0, 0, G_OPTION_ARG_NONE, &consensus, N_("Ask up to three experts per query"), NULL },
    { "pool-limit", 0, 0, G_OPTION_ARG_INT, &pool_mib, N_("Memory pool limit in MiB (default 25)"), N_("MIB") },
    { "refresh-ms", 0, 0, G_OPTION_ARG_INT, &refresh_ms, N_("Interval of the live lines (default 1000)"), N_("MS") },
    { "auto-apply", 0, 0, G_OPTION_ARG_NONE, &auto_apply, N_("Apply each recommendation as it fires, then report its measured outcome"), NULL },
    { "latency-target", 0, 0, G_OPTION_ARG_DOUBLE, &latency_target, N_("p99 latency target for the advisor, µs (default 1000)"), N_("US") },
    { "db", 0, 0, G_OPTION_ARG_FILENAME, &db_path, N_("Record into this database (default: $SYNMESH_DB or the data folder)"), N_("FILE") },
    { "no-store", 0, 0, G_OPTION_ARG_NONE, &no_store, N_("Do not record the session"), NULL },
    { "peer", 0, 0, G_OPTION_ARG_STRING_ARRAY, &mesh_options.peers, N_("Start a mesh node and connect to this peer, trusting its key for this run (repeatable)"), N_("[NAME@]ENDPOINT=KEY") },
    { "offload", 0, 0, G_OPTION_ARG_INT, &mesh_options.offload, N_("Share of the single-expert queries to run on the peers (0–100, default 0)"), N_("PERCENT") },
    { "offload-queue", 0, 0, G_OPTION_ARG_INT, &mesh_options.offload_queue, N_("Also offload every query while more than N wait locally"), N_("N") },
    { "bind", 0, 0, G_OPTION_ARG_STRING, &mesh_options.bind, N_("With --peer: where this run's node listens (default tcp://127.0.0.1:*, a free port)"), N_("ENDPOINT") },
    { "name", 0, 0, G_OPTION_ARG_STRING, &mesh_options.name, N_("With --peer: the name peers see (default: the host name)"), N_("NAME") },
    { "heartbeat", 0, 0, G_OPTION_ARG_INT, &mesh_options.heartbeat_ms, N_("With --peer: heartbeat interval; a peer silent for three is gone (default 1000)"), N_("MS") },
    { "key", 0, 0, G_OPTION_ARG_FILENAME, &mesh_options.key_path, N_("With --peer: the key file (default: node.key in the data directory; made when missing)"), N_("FILE") },
    { "trust", 0, 0, G_OPTION_ARG_FILENAME, &mesh_options.trust_path, N_("With --peer: the trusted-peers file (default: trusted-peers in the data directory)"), N_("FILE") },
    { NULL }
  };

  g_option_context_set_summary (context,
    _("Runs a headless tuning session: the built-in workload (queries of every\n"
      "domain, open loop by default) against the engine, one line of measured\n"
      "figures per interval, and a summary at the end.  With --peer it starts a mesh\n"
      "node (as “synmesh node” does, with this data folder's key) and sends --offload\n"
      "percent of the single-expert queries to the peers; the summary says how many\n"
      "went there, were answered there, and were rerun here when a peer went away."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!sm_cli_parse_options (context, &argc, &argv))
    return SM_CLI_EXIT_USAGE;

  if (!sm_cli_mesh_check_options (&mesh_options, "synmesh run"))
    return SM_CLI_EXIT_USAGE;
  if (mesh_options.peers == NULL && (mesh_options.offload > 0 || mesh_options.offload_queue > 0))
    {
      g_printerr (_("synmesh run: --offload sends queries to peers: name them with --peer\n"));
      return SM_CLI_EXIT_USAGE;
    }
  {
    /* The first wrong value, named: "invalid option value" alone leaves
     * one guessing which. */
    const char *wrong = (preset_name != NULL && !sm_preset_from_name (preset_name, &preset)) ? "--preset"
                        : (backend_name != NULL && !sm_backend_from_name (backend_name, &backend)) ? "--backend"
                        : (precision_name != NULL && !sm_precision_from_name (precision_name, &precision)) ? "--precision"
                        : (mode_name != NULL && !sm_workload_mode_from_name (mode_name, &mode)) ? "--mode"
                        : (gpu_name != NULL
                           && !g_strv_contains ((const char * const[]) { "off", "on", "auto", NULL }, gpu_name)) ? "--gpu"
                        : !(rate > 0) ? "--rate (more than 0)"
                        : duration < 0 ? "--duration (0 or more seconds)"
                        : pool_mib <= 0 ? "--pool-limit (more than 0 MiB)"
                        : cache < 0 ? "--cache (0 or more)"
                        : NULL;

    if (wrong != NULL)
      {
        g_printerr (_("synmesh run: invalid value for %s. Try “synmesh run --help”.\n"), wrong);
        return SM_CLI_EXIT_USAGE;
      }
  }

  engine = sm_engine_new ((gsize) pool_mib * 1024 * 1024, (guint) CLAMP (threads, 0, 1000), &error);
  if (engine == NULL ||
      !sm_engine_set_backend (engine, backend, &error) ||
      !sm_engine_set_max_batch (engine, (guint) CLAMP (max_batch, 0, 100000), &error) ||
      !sm_monitor_set_interval (sm_engine_get_monitor (engine), (guint) CLAMP (refresh_ms, 0, 100000), &error) ||
      /* The precision first: a BF16 model then loads without an f32 copy. */
      !sm_engine_set_precision (engine, precision, &error) ||
      (model_path != NULL && !sm_engine_load_model (engine, model_path, &error)) ||
      (model_path == NULL && preset != SM_PRESET_STANDARD && !sm_engine_load_preset (engine, preset, &error)) ||
      (gpu_name != NULL && !g_str_equal (gpu_name, "off")
       && !sm_engine_set_gpu_mode (engine, g_str_equal (gpu_name, "on") ? SM_GPU_ON : SM_GPU_AUTO, &error)))
    {
      g_printerr ("synmesh run: %s\n", error->message);
      return SM_CLI_EXIT_FAILED;
    }
  sm_engine_set_max_wait_us (engine, (guint) MAX (0, max_wait));
  sm_engine_set_cache_size (engine, (guint) cache);
  sm_engine_set_consensus (engine, consensus);

  if (mesh_options.peers != NULL)
    {
      mesh = sm_cli_mesh_start (engine, &mesh_options, "tcp://127.0.0.1:*", "synmesh run", &error);
      if (mesh == NULL)
        {
          g_printerr ("synmesh run: %s\n", error->message);
          return SM_CLI_EXIT_FAILED;
        }
    }

  monitor = sm_engine_get_monitor (engine);
  columns = (Columns) {
    sm_monitor_find_metric (monitor, SM_METRIC_ID_THROUGHPUT),
    sm_monitor_find_metric (monitor, SM_METRIC_ID_LATENCY_P50),
    sm_monitor_find_metric (monitor, SM_METRIC_ID_LATENCY_P99),
    sm_monitor_find_metric (monitor, SM_METRIC_ID_QUEUE_DEPTH),
    sm_monitor_find_metric (monitor, SM_METRIC_ID_MEAN_BATCH),
    sm_monitor_find_metric (monitor, SM_METRIC_ID_POOL_IN_USE),
    sm_monitor_find_metric (monitor, SM_METRIC_ID_POOL_FRAGMENTATION),
    sm_monitor_find_metric (monitor, SM_METRIC_ID_SIMD_UTILISATION),
    sm_monitor_find_metric (monitor, SM_METRIC_ID_PROCESS_CPU),
    sm_monitor_find_metric (monitor, SM_METRIC_ID_FAILURES),
    0,
  };

  description = sm_engine_dup_model_description (engine);
  g_print (_("Synaptic Mesh headless session: %s, %s kernels, %u threads, %s arrivals at %g%s\n"),
           description, sm_backend_get_kernels (backend, NULL)->name, sm_engine_get_threads (engine),
           sm_workload_mode_get_name (mode), rate, mode == SM_WORKLOAD_CLOSED ? _(" outstanding") : _("/s"));
  if (precision != SM_PRECISION_F32)
    {
      SmPrecisionError cost;

      if (sm_engine_get_precision_error (engine, precision, &cost))
        g_print (_("Weights in %s: on the calibration batch, outputs differ from f32 by up to %.3g "
                   "(%.2g %% of the largest output)\n"), sm_precision_get_name (precision), cost.max_abs,
                 100 * cost.max_rel);
      else
        g_print (_("Weights in %s: what that costs was not measured (no room in the pool for a copy of an expert)\n"),
                 sm_precision_get_name (precision));
    }
  g_print (_("Latency is measured from each query's intended start (open loop). Ctrl-C stops.\n\n"));

  if (!no_store)
    {
      g_autofree char *path = db_path != NULL ? g_strdup (db_path) : sm_store_default_path ();
      g_autofree char *name = NULL;
      g_autoptr(GDateTime) now = g_date_time_new_now_local ();

      store = sm_store_open (path, &recovered, &error);
      if (store == NULL)
        {
          g_printerr ("synmesh run: %s\n", error->message);
          return SM_CLI_EXIT_FAILED;
        }
      if (recovered != NULL)
        g_printerr ("synmesh run: %s\n", recovered);
      name = g_date_time_format (now, "synmesh run %Y-%m-%d %H:%M:%S");
      recorder = sm_recorder_new (store, engine);
      sm_recorder_begin (recorder, &(SmRecorderRun) {
                           .name = name,
                           .workload = sm_workload_mode_get_name (mode),
                           .rate = rate,
                           .unique = unique,
                         });
      /* Here, unlike in the app, waiting for the row is fine: a database
       * that cannot take the session stops the run before it starts. */
      if (sm_recorder_ensure_session (recorder, &error) < 0)
        {
          g_printerr ("synmesh run: %s\n", error->message);
          return SM_CLI_EXIT_FAILED;
        }
    }

  loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGINT, quit_cb, loop);
  g_unix_signal_add (SIGTERM, quit_cb, loop);
  if (duration > 0)
    g_timeout_add ((guint) (duration * 1000), quit_cb, loop);
  if (store != NULL)
    {
      watch.store = store;
      watch_id = g_timeout_add (250, watch_store_cb, &watch);
    }

  workload = sm_workload_new (engine, mode, rate, (guint64) g_get_real_time ());
  sm_workload_set_unique (workload, unique);
  sm_monitor_subscribe (monitor, snapshot_cb, &columns, NULL);
  advisor = sm_advisor_new (engine);
  sm_advisor_set_latency_target (advisor, latency_target);
  sm_advisor_set_auto_apply (advisor, auto_apply);
  /* Rules look at a few seconds of history whatever the refresh interval. */
  sm_advisor_set_window (advisor, MAX (2, 2000 / MAX (1, refresh_ms)));
  sm_advisor_attach (advisor, recommendation_cb, recorder);
  started = g_get_monotonic_time ();
  sm_monitor_start (monitor);
  sm_workload_start (workload);

  g_main_loop_run (loop);
  g_clear_handle_id (&watch_id, g_source_remove);

  sm_workload_stop (workload);
  sm_monitor_stop (monitor);
  elapsed = (g_get_monotonic_time () - started) / 1e6;
  /* A change applied too near the end has no measured outcome: said so,
   * rather than left out as if nothing had been applied. */
  {
    g_autoptr(GPtrArray) recommendations = sm_advisor_list (advisor);
    double window_s = MAX (2, 2000 / MAX (1, refresh_ms)) * refresh_ms / 1e3;

    for (guint i = 0; i < recommendations->len; i++)
      {
        SmRecommendation *rec = g_ptr_array_index (recommendations, i);

        if (rec->status == SM_RECOMMENDATION_APPLIED && rec->outcome == NULL)
          g_print (_("◀ outcome of “%s”: not measured, the run ended less than %.1f s after the change "
                     "(a longer --duration measures it)\n"), rec->action, window_s + refresh_ms / 1e3);
      }
  }
  g_clear_pointer (&advisor, sm_advisor_free);
  if (recorder != NULL)
    {
      gint64 session = sm_recorder_get_session (recorder);
      SmStoreStatus status;

      sm_recorder_end (recorder);
      sm_store_flush (store);
      sm_store_get_status (store, &status);
      /* One more try for a commit that failed a moment ago. */
      if (!status.healthy)
        {
          sm_store_status_clear (&status);
          sm_store_flush (store);
          sm_store_get_status (store, &status);
        }
      saved = status.healthy && status.dropped == 0;
      if (saved)
        g_print (_("Recorded as session %" G_GINT64_FORMAT " in %s (%" G_GUINT64_FORMAT " samples).\n"),
                 session, sm_store_get_path (store), status.committed);
      else if (!status.healthy)
        g_printerr (_("synmesh run: the session could not be saved completely: %s; %" G_GUINT64_FORMAT
                      " samples saved, %" G_GUINT64_FORMAT " not saved, %" G_GUINT64_FORMAT " lost\n"),
                    status.error, status.committed, status.buffered, status.dropped);
      else
        g_printerr (_("synmesh run: the session could not be saved completely: %" G_GUINT64_FORMAT
                      " samples saved, %" G_GUINT64_FORMAT " lost while recording failed\n"),
                    status.committed, status.dropped);
      sm_store_status_clear (&status);
      /* Before the engine whose monitor the store names. */
      g_clear_pointer (&recorder, sm_recorder_free);
      g_clear_pointer (&store, sm_store_free);
    }

  sm_workload_get_counts (workload, &counts);
  latency = sm_workload_get_latency (workload);
  g_print (_("\nSummary over %.1f s\n"), elapsed);
  totals_ok = sm_cli_print_query_totals (&counts, "synmesh run");
  if (mesh != NULL)
    {
      sm_cli_mesh_print_summary (mesh);
      /* Says BYE to the peers; before the engine it offloads for. */
      g_clear_pointer (&mesh, sm_cli_mesh_free);
    }
  g_print (_("  throughput %.0f queries/s\n"), counts.completed / elapsed);
  {
    struct rusage usage;

    getrusage (RUSAGE_SELF, &usage);
    g_print (_("  memory     peak RSS %.1f MiB\n"), usage.ru_maxrss / 1024.0);
  if (gpu_name != NULL)
    {
      g_autofree char *status = sm_engine_dup_gpu_status (engine);

      g_print (_("  gpu        %s\n"), status);
    }
  }
  g_print (_("  latency    p50 %.1f µs, p90 %.1f µs, p99 %.1f µs, p99.9 %.1f µs, max %.1f µs\n"),
           sm_histogram_snapshot_get_percentile (latency, 50) / 1e3,
           sm_histogram_snapshot_get_percentile (latency, 90) / 1e3,
           sm_histogram_snapshot_get_percentile (latency, 99) / 1e3,
           sm_histogram_snapshot_get_percentile (latency, 99.9) / 1e3,
           sm_histogram_snapshot_get_max (latency) / 1e3);

  return !totals_ok || !saved ? SM_CLI_EXIT_FAILED : SM_CLI_EXIT_OK;
}
