/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#define G_LOG_DOMAIN "sm-store"

#include <glib/gi18n-lib.h>

#include <json-glib/json-glib.h>

#include "sm-cpu.h"
#include "sm-error.h"
#include "sm-json.h"
#include "sm-recorder.h"

struct _SmRecorder
{
  SmStore   *store;         /* borrowed */
  SmEngine  *engine;        /* borrowed */
  SmMonitor *monitor;       /* the engine's */
  guint      subscription;

  /* The run: everything below under lock, taken on the monitor's thread
   * (ticks, recommendations) and the front-end's (events, begin, end). */
  GMutex     lock;
  gboolean   recording;
  char      *name;
  char      *model;
  char      *config;
  gint64     base_ms;       /* monitor time of the run's start: session time 0 */
  gint64     session;       /* -1 until the row is made */
};

/* The session's row, made on first use: the run's name, model and
 * configuration as they were when it began.  Under lock. */
static gint64
session_locked (SmRecorder  *recorder,
                GError     **error)
{
  if (!recorder->recording)
    {
      g_set_error_literal (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT, _("No run is being recorded"));
      return -1;
    }
  if (recorder->session < 0)
    {
      recorder->session = sm_store_begin_session (recorder->store, recorder->name, recorder->model,
                                                  recorder->config, error);
      if (recorder->session < 0)
        {
          /* Nothing more of this run is recorded rather than half of it
           * under no session. */
          recorder->recording = FALSE;
          return -1;
        }
      sm_store_add_event (recorder->store, recorder->session, 0, "model", recorder->model);
    }
  return recorder->session;
}

/* Where a tick or an event makes the row, a failure is only logged: the
 * store's status tells the front-end. */
static gint64
session_or_log_locked (SmRecorder *recorder)
{
  g_autoptr(GError) error = NULL;
  gint64 session;

  if (!recorder->recording)
    return -1;
  session = session_locked (recorder, &error);
  if (session < 0)
    g_message ("Not recording this run: %s", error->message);
  return session;
}

/* On the monitor's thread. */
static void
snapshot_cb (SmMonitorSnapshot *snapshot,
             gpointer           user_data)
{
  SmRecorder *recorder = user_data;
  gint64 session;

  g_mutex_lock (&recorder->lock);
  session = session_or_log_locked (recorder);
  /* Ticks from before the run began belong to no run. */
  if (session >= 0 && snapshot->t_ms >= recorder->base_ms)
    {
      g_autoptr(SmMonitorSnapshot) rebased = sm_monitor_snapshot_copy_at (snapshot,
                                                                         snapshot->t_ms - recorder->base_ms);

      sm_store_add_snapshot (recorder->store, session, recorder->monitor, rebased);
    }
  g_mutex_unlock (&recorder->lock);
}

SmRecorder *
sm_recorder_new (SmStore  *store,
                 SmEngine *engine)
{
  SmRecorder *recorder;

  g_return_val_if_fail (store != NULL && engine != NULL, NULL);

  recorder = g_new0 (SmRecorder, 1);
  recorder->store = store;
  recorder->engine = engine;
  recorder->monitor = sm_engine_get_monitor (engine);
  recorder->session = -1;
  g_mutex_init (&recorder->lock);
  recorder->subscription = sm_monitor_subscribe (recorder->monitor, snapshot_cb, recorder, NULL);

  return recorder;
}

void
sm_recorder_free (SmRecorder *recorder)
{
  if (recorder == NULL)
    return;

  /* After this no tick reaches the recorder. */
  sm_monitor_unsubscribe (recorder->monitor, recorder->subscription);
  sm_recorder_end (recorder);
  g_mutex_clear (&recorder->lock);
  g_free (recorder);
}

static void
add_string (JsonBuilder *builder,
            const char  *name,
            const char  *value)
{
  json_builder_set_member_name (builder, name);
  json_builder_add_string_value (builder, value);
}

static void
add_int (JsonBuilder *builder,
         const char  *name,
         gint64       value)
{
  json_builder_set_member_name (builder, name);
  json_builder_add_int_value (builder, value);
}

/* The configuration a run is stored with, as JSON: every knob, the
 * model's identity, the load offered, the machine. */
static char *
describe_config (SmEngine            *engine,
                 const SmRecorderRun *run)
{
  static const char * const gpu_modes[] = { "off", "on", "auto" };
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *description = sm_engine_dup_model_description (engine);
  g_autofree char *hash = NULL;
  const SmCpuInfo *cpu = sm_cpu_info_get ();
  SmBackend backend = sm_engine_get_backend (engine);
  const SmKernels *kernels = sm_backend_get_kernels (backend, NULL);
  SmPoolStats pool;
  guint64 model_hash;
  guint32 expert_mask;
  guint input_width, offload, offload_queue_above;
  SmGpuMode gpu = sm_engine_get_gpu_mode (engine);

  sm_engine_get_model_identity (engine, &model_hash, &expert_mask, &input_width);
  hash = g_strdup_printf ("%016" G_GINT64_MODIFIER "x", model_hash);
  sm_pool_get_stats (sm_engine_get_pool (engine), &pool);
  offload = sm_engine_get_offload_share (engine, &offload_queue_above);

  json_builder_begin_object (builder);

  /* Every knob the engine has. */
  add_string (builder, "backend", sm_backend_get_name (backend));
  add_string (builder, "kernels", kernels != NULL ? kernels->name : "none");
  add_string (builder, "precision", sm_precision_get_name (sm_engine_get_precision (engine)));
  add_int (builder, "threads", sm_engine_get_threads (engine));
  add_int (builder, "max_batch", sm_engine_get_max_batch (engine));
  add_int (builder, "max_wait_us", sm_engine_get_max_wait_us (engine));
  add_int (builder, "cache", sm_engine_get_cache_size (engine));
  json_builder_set_member_name (builder, "consensus");
  json_builder_add_boolean_value (builder, sm_engine_get_consensus (engine));
  add_int (builder, "pool_limit_mib", (gint64) (pool.limit / (1024 * 1024)));
  add_string (builder, "gpu", gpu < G_N_ELEMENTS (gpu_modes) ? gpu_modes[gpu] : "off");
  add_int (builder, "offload_percent", offload);
  add_int (builder, "refresh_ms", sm_monitor_get_interval (sm_engine_get_monitor (engine)));

  /* The model's identity: what peers compare, and what makes two runs
   * comparable. */
  add_string (builder, "model", description != NULL ? description : "");
  add_string (builder, "model_hash", hash);
  add_int (builder, "model_input_width", input_width);

  /* The load offered. */
  add_string (builder, "workload", run->workload != NULL ? run->workload : "none");
  json_builder_set_member_name (builder, "rate");
  sm_json_builder_add_number (builder, run->rate);
  json_builder_set_member_name (builder, "unique");
  json_builder_add_boolean_value (builder, run->unique);

  /* The machine it ran on. */
  add_string (builder, "cpu", cpu->model);
  add_int (builder, "cpu_threads", cpu->logical_cpus);

  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  return json_generator_to_data (generator, NULL);
}

void
sm_recorder_begin (SmRecorder          *recorder,
                   const SmRecorderRun *run)
{
  g_autofree char *config = NULL;
  g_autofree char *model = NULL;
  g_autofree char *name = NULL;

  g_return_if_fail (recorder != NULL && run != NULL);

  sm_recorder_end (recorder);

  config = describe_config (recorder->engine, run);
  model = sm_engine_dup_model_description (recorder->engine);
  if (run->name != NULL)
    name = g_strdup (run->name);
  else
    {
      g_autoptr(GDateTime) now = g_date_time_new_now_local ();

      name = g_date_time_format (now, "Session %Y-%m-%d %H:%M:%S");
    }

  g_mutex_lock (&recorder->lock);
  g_free (recorder->name);
  recorder->name = g_steal_pointer (&name);
  g_free (recorder->model);
  recorder->model = g_steal_pointer (&model);
  g_free (recorder->config);
  recorder->config = g_steal_pointer (&config);
  recorder->base_ms = sm_monitor_get_time_ms (recorder->monitor);
  recorder->session = -1;
  recorder->recording = TRUE;
  g_mutex_unlock (&recorder->lock);
}

void
sm_recorder_end (SmRecorder *recorder)
{
  g_return_if_fail (recorder != NULL);

  g_mutex_lock (&recorder->lock);
  if (recorder->session >= 0)
    sm_store_end_session (recorder->store, recorder->session);
  recorder->session = -1;
  recorder->recording = FALSE;
  g_clear_pointer (&recorder->name, g_free);
  g_clear_pointer (&recorder->model, g_free);
  g_clear_pointer (&recorder->config, g_free);
  g_mutex_unlock (&recorder->lock);
}

gint64
sm_recorder_ensure_session (SmRecorder  *recorder,
                            GError     **error)
{
  gint64 session;

  g_return_val_if_fail (recorder != NULL, -1);

  g_mutex_lock (&recorder->lock);
  session = session_locked (recorder, error);
  g_mutex_unlock (&recorder->lock);

  return session;
}

gint64
sm_recorder_get_session (SmRecorder *recorder)
{
  gint64 session;

  g_mutex_lock (&recorder->lock);
  session = recorder->session;
  g_mutex_unlock (&recorder->lock);

  return session;
}

void
sm_recorder_add_event (SmRecorder *recorder,
                       const char *kind,
                       const char *detail)
{
  gint64 session;

  g_return_if_fail (recorder != NULL && kind != NULL);

  g_mutex_lock (&recorder->lock);
  session = session_or_log_locked (recorder);
  if (session >= 0)
    sm_store_add_event (recorder->store, session,
                        MAX (0, sm_monitor_get_time_ms (recorder->monitor) - recorder->base_ms),
                        kind, detail != NULL ? detail : "");
  g_mutex_unlock (&recorder->lock);
}

void
sm_recorder_add_recommendation (SmRecorder             *recorder,
                                const SmRecommendation *recommendation)
{
  gint64 session;

  g_return_if_fail (recorder != NULL && recommendation != NULL);

  g_mutex_lock (&recorder->lock);
  session = session_or_log_locked (recorder);
  if (session >= 0)
    {
      g_autoptr(SmRecommendation) rebased = sm_recommendation_copy (recommendation);

      rebased->fired_ms = MAX (0, rebased->fired_ms - recorder->base_ms);
      sm_store_add_recommendation (recorder->store, session, rebased);
    }
  g_mutex_unlock (&recorder->lock);
}
