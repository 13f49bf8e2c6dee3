/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "sm-recorder.h"
#include "sm-session.h"
#include "sm-store.h"
#include "sm-workload.h"

struct _SmSession
{
  GObject     parent_instance;

  SmEngine   *engine;        /* not owned */
  SmMonitor  *monitor;       /* the engine's */
  SmWorkload *workload;
  SmAdvisor  *advisor;
  guint       subscription;

  /* Recording: while the load runs, the recorder writes every snapshot,
   * recommendation and knob change to the database, from the monitor's
   * thread or the decision's, never the main one. */
  SmStore    *store;
  SmRecorder *recorder;
  char       *store_error;
  gint64      last_t_ms;
  gint64      run_started_ms;  /* monitor time of the latest run's start; -1: none yet */
  double      rate;
  double      rate_recorded;   /* the offered rate the run last recorded */
  guint       rate_settle_id;  /* records a change of it once it rests */
  SmWorkloadMode workload_mode;
  gboolean    running;
  gint        stopping;      /* workload stops in flight */

  /* Threads of the session's own that use the engine or the store
   * (sm_session_run_in_thread): dispose waits for them, so neither is
   * freed under one of them. */
  GMutex      workers_lock;
  guint       workers;       /* under workers_lock */
  GCond       workers_done;
  gboolean    disposed;
};

enum {
  PROP_0,
  PROP_RUNNING,
  N_PROPS
};

enum {
  SNAPSHOT,
  RECOMMENDATION,
  KNOB_CHANGED,
  RUN_RECORDED,
  STORE_PRUNED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (SmSession, sm_session, G_TYPE_OBJECT)

/* What the monitor's thread hands to the main loop: a snapshot, or a
 * recommendation (fired, or with its outcome). */
typedef struct
{
  GWeakRef           session;
  SmMonitorSnapshot *snapshot;
  SmRecommendation  *recommendation;
  gboolean           outcome;
} Delivery;

static gboolean
deliver_cb (gpointer data)
{
  Delivery *delivery = data;
  g_autoptr(SmSession) self = g_weak_ref_get (&delivery->session);

  if (self == NULL)
    return G_SOURCE_REMOVE;
  if (delivery->snapshot != NULL)
    {
      self->last_t_ms = delivery->snapshot->t_ms;
      g_signal_emit (self, signals[SNAPSHOT], 0, delivery->snapshot);
    }
  else
    g_signal_emit (self, signals[RECOMMENDATION], 0, delivery->recommendation, delivery->outcome);
  return G_SOURCE_REMOVE;
}

static void
delivery_free (gpointer data)
{
  Delivery *delivery = data;

  g_weak_ref_clear (&delivery->session);
  g_clear_pointer (&delivery->snapshot, sm_monitor_snapshot_unref);
  g_clear_pointer (&delivery->recommendation, sm_recommendation_free);
  g_free (delivery);
}

static void
deliver (SmSession         *self,
         SmMonitorSnapshot *snapshot,
         SmRecommendation  *recommendation,
         gboolean           outcome)
{
  Delivery *delivery = g_new0 (Delivery, 1);

  g_weak_ref_init (&delivery->session, self);
  delivery->snapshot = snapshot != NULL ? sm_monitor_snapshot_ref (snapshot) : NULL;
  delivery->recommendation = recommendation;
  delivery->outcome = outcome;
  /* Always through the main loop: g_main_context_invoke() would run the
   * callback right here, on the monitor's thread, whenever the main
   * context happens to be free. */
  g_idle_add_full (G_PRIORITY_DEFAULT, deliver_cb, delivery, delivery_free);
}

/* On the monitor's thread. */
static void
snapshot_cb (SmMonitorSnapshot *snapshot,
             gpointer           user_data)
{
  SmSession *self = user_data;

  /* The recorder has its own subscription: this one is for the pages. */
  deliver (self, snapshot, NULL, FALSE);
}

/* On the monitor's thread; @recommendation is ours. */
static void
recommendation_cb (SmAdvisor        *advisor,
                   SmRecommendation *recommendation,
                   gboolean          outcome,
                   gpointer          user_data)
{
  SmSession *self = user_data;

  if (self->recorder != NULL)
    sm_recorder_add_recommendation (self->recorder, recommendation);
  deliver (self, NULL, recommendation, outcome);
}

static void
record_event (SmSession  *self,
              const char *kind,
              const char *detail)
{
  if (self->recorder != NULL)
    sm_recorder_add_event (self->recorder, kind, detail);
}

static void
sm_session_dispose (GObject *object)
{
  SmSession *self = SM_SESSION (object);

  /* The application disposes the session at shutdown whoever still holds
   * it, before it frees the engine: first every thread working for it
   * ends (a workload stop, a knob change, a model load, a store task). */
  self->disposed = TRUE;
  self->running = FALSE;
  g_clear_handle_id (&self->rate_settle_id, g_source_remove);
  g_mutex_lock (&self->workers_lock);
  while (self->workers > 0)
    g_cond_wait (&self->workers_done, &self->workers_lock);
  g_mutex_unlock (&self->workers_lock);

  if (self->subscription != 0)
    {
      sm_monitor_unsubscribe (self->monitor, self->subscription);
      self->subscription = 0;
    }
  /* The last reference goes at shutdown: waiting for the queries in
   * flight is what must happen then. */
  g_clear_pointer (&self->workload, sm_workload_free);
  g_clear_pointer (&self->advisor, sm_advisor_free);
  /* Ends the run; then the store commits what is queued (the monitor it
   * names outlives it). */
  g_clear_pointer (&self->recorder, sm_recorder_free);
  g_clear_pointer (&self->store, sm_store_free);

  G_OBJECT_CLASS (sm_session_parent_class)->dispose (object);
}

static void
sm_session_finalize (GObject *object)
{
  SmSession *self = SM_SESSION (object);

  g_mutex_clear (&self->workers_lock);
  g_cond_clear (&self->workers_done);
  g_free (self->store_error);
  G_OBJECT_CLASS (sm_session_parent_class)->finalize (object);
}

static void
sm_session_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  SmSession *self = SM_SESSION (object);

  switch (prop_id)
    {
    case PROP_RUNNING:
      g_value_set_boolean (value, self->running);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sm_session_class_init (SmSessionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = sm_session_dispose;
  object_class->finalize = sm_session_finalize;
  object_class->get_property = sm_session_get_property;

  properties[PROP_RUNNING] = g_param_spec_boolean ("running", NULL, NULL, FALSE,
                                                   G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * SmSession::snapshot:
   * @snapshot: (type gpointer): the SmMonitorSnapshot, valid during the emission
   *
   * A monitor tick, on the main loop.
   */
  signals[SNAPSHOT] = g_signal_new ("snapshot", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                    0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);

  /**
   * SmSession::recommendation:
   * @recommendation: (type gpointer): an SmRecommendation, valid during the emission
   * @outcome: whether this is its measured outcome rather than its firing
   */
  signals[RECOMMENDATION] = g_signal_new ("recommendation", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_POINTER, G_TYPE_BOOLEAN);

  /**
   * SmSession::knob-changed:
   * @t: the monitor time of the change, s
   * @what: the change ("Use 3 worker threads"), or the error that stopped it
   * @ok: whether it was made
   */
  /**
   * SmSession::run-recorded:
   *
   * A run of the load ended and its session is complete in the database.
   */
  signals[RUN_RECORDED] = g_signal_new ("run-recorded", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                        0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  /**
   * SmSession::store-pruned:
   * @thinned: sessions thinned to coarse samples
   * @deleted: sessions deleted
   *
   * sm_session_apply_retention() changed past sessions.
   */
  signals[STORE_PRUNED] = g_signal_new ("store-pruned", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                        0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_UINT);

  signals[KNOB_CHANGED] = g_signal_new ("knob-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                        0, NULL, NULL, NULL, G_TYPE_NONE, 3, G_TYPE_DOUBLE, G_TYPE_STRING,
                                        G_TYPE_BOOLEAN);
}

static void
sm_session_init (SmSession *self)
{
  g_mutex_init (&self->workers_lock);
  g_cond_init (&self->workers_done);
  self->workload_mode = SM_WORKLOAD_POISSON;
  self->run_started_ms = -1;
}

SmSession *
sm_session_new (SmEngine   *engine,
                const char *store_path)
{
  SmSession *self = g_object_new (SM_TYPE_SESSION, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *recovered = NULL;

  if (store_path != NULL)
    {
      self->store = sm_store_open (store_path, &recovered, &error);
      if (self->store == NULL)
        self->store_error = g_strdup (error->message);
      else if (recovered != NULL)
        self->store_error = g_steal_pointer (&recovered);
    }

  self->engine = engine;
  self->monitor = sm_engine_get_monitor (engine);
  if (self->store != NULL)
    self->recorder = sm_recorder_new (self->store, engine);
  self->workload = sm_workload_new (engine, SM_WORKLOAD_POISSON, 1000, (guint64) g_get_real_time ());
  self->advisor = sm_advisor_new (engine);
  self->subscription = sm_monitor_subscribe (self->monitor, snapshot_cb, self, NULL);
  sm_advisor_attach (self->advisor, recommendation_cb, self);
  sm_monitor_start (self->monitor);
  return self;
}

SmEngine *
sm_session_get_engine (SmSession *self)
{
  return self->engine;
}

SmMonitor *
sm_session_get_monitor (SmSession *self)
{
  return self->monitor;
}

void
sm_session_start (SmSession *self,
                  double     rate)
{
  /* After dispose (the application's shutdown) there is no load to start. */
  if (self->running || g_atomic_int_get (&self->stopping) > 0 || self->workload == NULL)
    return;
  sm_session_set_rate (self, rate);
  self->rate_recorded = rate;
  /* The monitor's clock now, not the newest snapshot handed over: those
   * still queued for the main loop are from before the run. */
  self->run_started_ms = sm_monitor_get_time_ms (self->monitor);
  if (self->recorder != NULL)
    sm_recorder_begin (self->recorder, &(SmRecorderRun) {
                         .workload = sm_workload_mode_get_name (self->workload_mode),
                         .rate = rate,
                       });
  sm_workload_start (self->workload);
  self->running = TRUE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
}

/* A burst of changes to the offered rate (clicks on its spin button) is
 * recorded once it rests this long, from the first value to the last. */
#define RATE_SETTLE_MS 400

static gboolean
rate_settled_cb (gpointer data)
{
  SmSession *self = data;

  self->rate_settle_id = 0;
  if (self->running && self->rate != self->rate_recorded)
    {
      g_autofree char *what = g_strdup_printf ("Offered rate: %g → %g queries/s", self->rate_recorded, self->rate);

      /* A change of load explains a change of figures: it is marked on
       * the charts and kept with the session like a knob. */
      record_event (self, "load", what);
      self->rate_recorded = self->rate;
      g_signal_emit (self, signals[KNOB_CHANGED], 0, sm_session_get_time (self), what, TRUE);
    }
  return G_SOURCE_REMOVE;
}

void
sm_session_set_rate (SmSession *self,
                     double     rate)
{
  self->rate = rate;
  if (self->workload != NULL)
    sm_workload_set_rate (self->workload, rate);
  if (self->running)
    {
      g_clear_handle_id (&self->rate_settle_id, g_source_remove);
      self->rate_settle_id = g_timeout_add (RATE_SETTLE_MS, rate_settled_cb, self);
    }
}

double
sm_session_get_rate (SmSession *self)
{
  return self->rate;
}

typedef struct
{
  GTaskThreadFunc func;
} Worker;

static void
worker_thread (GTask        *task,
               gpointer      source,
               gpointer      task_data,
               GCancellable *cancellable)
{
  SmSession *self = source;
  Worker *worker = g_object_get_data (G_OBJECT (task), "sm-session-worker");

  worker->func (task, source, task_data, cancellable);

  g_mutex_lock (&self->workers_lock);
  if (--self->workers == 0)
    g_cond_broadcast (&self->workers_done);
  g_mutex_unlock (&self->workers_lock);
}

/* Runs @task (whose source object is @self) on a thread; the session's
 * engine and store stay valid until it returns, even when the application
 * disposes the session at shutdown meanwhile.  The pages' store work goes
 * through sm-store-async.c instead, whose tasks the store waits for. */
static void
sm_session_run_in_thread (SmSession       *self,
                          GTask           *task,
                          GTaskThreadFunc  func)
{
  Worker *worker = g_new (Worker, 1);

  g_return_if_fail (SM_IS_SESSION (self));
  g_return_if_fail (g_task_get_source_object (task) == self);

  /* Disposed: the engine and the store are gone or going. */
  if (self->disposed)
    {
      g_free (worker);
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CLOSED, "The session has ended");
      return;
    }
  worker->func = func;
  g_object_set_data_full (G_OBJECT (task), "sm-session-worker", worker, g_free);
  g_mutex_lock (&self->workers_lock);
  self->workers++;
  g_mutex_unlock (&self->workers_lock);
  g_task_run_in_thread (task, worker_thread);
}

static void
stop_thread (GTask        *task,
             gpointer      source,
             gpointer      task_data,
             GCancellable *cancellable)
{
  SmSession *self = source;

  sm_workload_stop (task_data);
  if (self->recorder != NULL)
    sm_recorder_end (self->recorder);
  /* "run-recorded" promises the whole run is readable. */
  if (self->store != NULL)
    sm_store_flush (self->store);
  g_task_return_boolean (task, TRUE);
}

static void
stopped_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  SmSession *self = SM_SESSION (source);

  g_atomic_int_add (&self->stopping, -1);
  if (self->store != NULL)
    g_signal_emit (self, signals[RUN_RECORDED], 0);
}

void
sm_session_stop (SmSession *self)
{
  g_autoptr(GTask) task = NULL;

  if (!self->running)
    return;
  self->running = FALSE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);

  /* Stopping waits for the queries in flight: off the main thread. */
  g_atomic_int_inc (&self->stopping);
  task = g_task_new (self, NULL, stopped_cb, NULL);
  g_task_set_task_data (task, self->workload, NULL);
  sm_session_run_in_thread (self, task, stop_thread);
}

gboolean
sm_session_get_running (SmSession *self)
{
  return self->running;
}

SmAdvisor *
sm_session_get_advisor (SmSession *self)
{
  return self->advisor;
}

gboolean
sm_session_get_run_start (SmSession *self,
                          double    *t)
{
  if (self->run_started_ms < 0)
    return FALSE;
  *t = self->run_started_ms / 1000.0;
  return TRUE;
}

double
sm_session_get_time (SmSession *self)
{
  return self->last_t_ms / 1000.0;
}

typedef struct
{
  guint            id;
  SmSessionVerdict verdict;
  char            *action;
  gboolean         by_hand;      /* a knob set from the panel, not a recommendation */
  SmKnob           knob;
  double           value;
} Decision;

static void
decision_free (gpointer data)
{
  Decision *decision = data;

  g_free (decision->action);
  g_free (decision);
}

/* The recommendation's new status, in the database at once. */
static void
record_decision (SmSession *self,
                 guint      id)
{
  g_autoptr(GPtrArray) list = sm_advisor_list (self->advisor);

  for (guint i = 0; self->recorder != NULL && i < list->len; i++)
    if (((SmRecommendation *) g_ptr_array_index (list, i))->id == id)
      sm_recorder_add_recommendation (self->recorder, g_ptr_array_index (list, i));
}

/* What a change was and who made it, as its marker and event say it. */
static char *
decision_label (const Decision *decision)
{
  if (decision->by_hand)
    return g_strdup_printf (_("%s, by hand"), decision->action);
  if (decision->verdict == SM_SESSION_REVERT)
    return g_strdup_printf (_("Reverted: %s"), decision->action);
  return g_strdup_printf (_("%s, as recommended"), decision->action);
}

static void
decide_thread (GTask        *task,
               gpointer      source,
               gpointer      task_data,
               GCancellable *cancellable)
{
  SmSession *self = source;
  Decision *decision = task_data;
  GError *error = NULL;
  gboolean ok;

  if (decision->by_hand)
    {
      if (sm_advisor_set_knob (self->advisor, decision->knob, decision->value, &error))
        {
          g_autofree char *label = decision_label (decision);

          record_event (self, "knob", label);
          g_task_return_boolean (task, TRUE);
        }
      else
        g_task_return_error (task, error);
      return;
    }

  switch (decision->verdict)
    {
    case SM_SESSION_APPLY:
      ok = sm_advisor_apply (self->advisor, decision->id, &error);
      break;
    case SM_SESSION_REVERT:
      ok = sm_advisor_revert (self->advisor, decision->id, &error);
      break;
    case SM_SESSION_DISMISS:
    default:
      ok = sm_advisor_dismiss (self->advisor, decision->id, &error);
      break;
    }
  if (ok && decision->verdict != SM_SESSION_DISMISS)
    {
      g_autofree char *label = decision_label (decision);

      record_event (self, "knob", label);
    }
  if (ok)
    record_decision (self, decision->id);
  if (ok)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
decided_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  SmSession *self = SM_SESSION (source);
  Decision *decision = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  g_autofree char *what = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    g_signal_emit (self, signals[KNOB_CHANGED], 0, sm_session_get_time (self), error->message, FALSE);
  else if (decision->verdict != SM_SESSION_DISMISS)
    {
      what = decision_label (decision);
      g_signal_emit (self, signals[KNOB_CHANGED], 0, sm_session_get_time (self), what, TRUE);
    }
}

void
sm_session_decide (SmSession        *self,
                   guint             id,
                   SmSessionVerdict  verdict)
{
  g_autoptr(GTask) task = g_task_new (self, NULL, decided_cb, NULL);
  g_autoptr(GPtrArray) list = sm_advisor_list (self->advisor);
  Decision *decision = g_new0 (Decision, 1);

  decision->id = id;
  decision->verdict = verdict;
  for (guint i = 0; i < list->len; i++)
    if (((SmRecommendation *) g_ptr_array_index (list, i))->id == id)
      decision->action = g_strdup (((SmRecommendation *) g_ptr_array_index (list, i))->action);
  if (decision->action == NULL)
    decision->action = g_strdup ("");
  g_task_set_task_data (task, decision, decision_free);
  sm_session_run_in_thread (self, task, decide_thread);
}

typedef struct
{
  double max_age_days;
  gint64 max_bytes;
  guint  thinned;
  guint  deleted;
} Retention;

static void
retention_thread (GTask        *task,
                  gpointer      source,
                  gpointer      task_data,
                  GCancellable *cancellable)
{
  SmSession *self = source;
  Retention *retention = task_data;
  GError *error = NULL;

  /* Old sessions are read whole to be thinned: never while the main
   * thread waits. */
  if (sm_store_apply_retention (self->store, retention->max_age_days, retention->max_bytes, 10000,
                                &retention->thinned, &retention->deleted, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
retention_done_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  Retention *retention = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    g_warning ("Retention not applied: %s", error->message);
  else if (retention->thinned + retention->deleted > 0)
    g_signal_emit (source, signals[STORE_PRUNED], 0, retention->thinned, retention->deleted);
}

void
sm_session_apply_retention (SmSession *self,
                            double     max_age_days,
                            gint64     max_bytes)
{
  g_autoptr(GTask) task = NULL;
  Retention *retention;

  if (self->store == NULL || (max_age_days <= 0 && max_bytes <= 0))
    return;
  task = g_task_new (self, NULL, retention_done_cb, NULL);
  retention = g_new0 (Retention, 1);
  retention->max_age_days = max_age_days;
  retention->max_bytes = max_bytes;
  g_task_set_task_data (task, retention, g_free);
  sm_session_run_in_thread (self, task, retention_thread);
}

SmStore *
sm_session_get_store (SmSession *self)
{
  return self->store;
}

const char *
sm_session_get_store_error (SmSession *self)
{
  return self->store_error;
}

void
sm_session_set_knob (SmSession  *self,
                     SmKnob      knob,
                     double      value,
                     const char *description)
{
  g_autoptr(GTask) task = g_task_new (self, NULL, decided_cb, NULL);
  Decision *decision = g_new0 (Decision, 1);

  decision->by_hand = TRUE;
  decision->verdict = SM_SESSION_APPLY;
  decision->knob = knob;
  decision->value = value;
  decision->action = g_strdup (description);
  g_task_set_task_data (task, decision, decision_free);
  sm_session_run_in_thread (self, task, decide_thread);
}

void
sm_session_set_workload (SmSession      *self,
                         SmWorkloadMode  mode,
                         const double   *mix)
{
  g_autofree char *what = g_strdup_printf ("Workload: %s", sm_workload_mode_get_name (mode));

  if (self->workload == NULL)
    return;
  self->workload_mode = mode;
  sm_workload_set_mode (self->workload, mode);
  sm_workload_set_mix (self->workload, mix);
  record_event (self, "workload", what);
}

typedef struct
{
  SmPreset  preset;
  char     *path;
} ModelLoad;

static void
model_load_free (gpointer data)
{
  ModelLoad *load = data;

  g_free (load->path);
  g_free (load);
}

static void
load_thread (GTask        *task,
             gpointer      source,
             gpointer      task_data,
             GCancellable *cancellable)
{
  SmSession *self = source;
  ModelLoad *load = task_data;
  GError *error = NULL;
  gboolean ok = load->path != NULL ? sm_engine_load_model (self->engine, load->path, &error)
                                   : sm_engine_load_preset (self->engine, load->preset, &error);

  if (ok)
    {
      g_autofree char *model = sm_engine_dup_model_description (self->engine);

      record_event (self, "model", model);
      g_task_return_pointer (task, g_strdup_printf ("Model: %s", model), g_free);
    }
  else
    g_task_return_error (task, error);
}

static void
loaded_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  SmSession *self = SM_SESSION (source);
  g_autoptr(GError) error = NULL;
  g_autofree char *what = g_task_propagate_pointer (G_TASK (result), &error);

  g_signal_emit (self, signals[KNOB_CHANGED], 0, sm_session_get_time (self),
                 what != NULL ? what : error->message, what != NULL);
}

void
sm_session_load_model (SmSession  *self,
                       SmPreset    preset,
                       const char *path)
{
  g_autoptr(GTask) task = g_task_new (self, NULL, loaded_cb, NULL);
  ModelLoad *load = g_new0 (ModelLoad, 1);

  load->preset = preset;
  load->path = g_strdup (path);
  g_task_set_task_data (task, load, model_load_free);
  sm_session_run_in_thread (self, task, load_thread);
}

gboolean
sm_session_watch (SmSession **slot,
                  SmSession  *session,
                  gpointer    watcher)
{
  if (*slot != NULL)
    g_signal_handlers_disconnect_by_data (*slot, watcher);
  g_set_object (slot, session);
  return session != NULL;
}
