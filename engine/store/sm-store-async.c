/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "sm-store-async.h"
#include "sm-store-private.h"

/* Why the store, and not SmSession, runs these tasks: every blocking call
 * they make opens its own SQLite connection (reads in WAL beside the
 * writer's commits; a delete or rename is one statement that SQLite's
 * lock and busy timeout order against the writer), so the calls need no
 * serializing by their caller and may run side by side.  What the pages
 * relied on SmSession's worker count for was lifetime: that the store was
 * not freed under a thread still using it.  The store keeps that promise
 * itself (sm_store_free() waits for its tasks), which holds for the app
 * and for the CLI or a test alike, and leaves one place — this file —
 * where a store call goes onto a thread. */

typedef void (*OpFunc) (GTask        *task,
                        SmStore      *store,
                        gpointer      data,
                        GCancellable *cancellable);

/* A task's data: the store it uses, and what the operation needs. */
typedef struct
{
  SmStore        *store;
  OpFunc          func;
  gpointer        data;
  GDestroyNotify  data_free;
} Op;

static void
op_free (gpointer user_data)
{
  Op *op = user_data;

  if (op->data_free != NULL)
    op->data_free (op->data);
  g_free (op);
}

static void
op_thread (GTask        *task,
           gpointer      source,
           gpointer      task_data,
           GCancellable *cancellable)
{
  Op *op = task_data;

  if (!g_task_return_error_if_cancelled (task))
    op->func (task, op->store, op->data, cancellable);
  /* Last: after this the store may be freed. */
  sm_store_task_end (op->store);
}

/* A change (a delete, a rename, an export) answers with what happened,
 * even when it was cancelled too late to stop it; a read answers
 * G_IO_ERROR_CANCELLED once cancelled, whatever it read. */
static void
run_op (SmStore             *store,
        gpointer             source_tag,
        gboolean             is_change,
        OpFunc               func,
        gpointer             data,
        GDestroyNotify       data_free,
        GCancellable        *cancellable,
        GAsyncReadyCallback  callback,
        gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  Op *op = g_new0 (Op, 1);

  op->store = store;
  op->func = func;
  op->data = data;
  op->data_free = data_free;
  g_task_set_source_tag (task, source_tag);
  g_task_set_check_cancellable (task, !is_change);
  g_task_set_task_data (task, op, op_free);
  sm_store_task_begin (store);
  g_task_run_in_thread (task, op_thread);
}

static gpointer
op_data (GAsyncResult *result)
{
  return ((Op *) g_task_get_task_data (G_TASK (result)))->data;
}

static void
return_boolean (GTask    *task,
                gboolean  ok,
                GError   *error)
{
  if (ok)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

/* ---- reading a metric ---- */

typedef struct
{
  gint64  session;
  char   *metric;
  gint64  from_ms, to_ms;
  guint   max_points;
} ReadRequest;

static void
read_request_free (gpointer data)
{
  ReadRequest *r = data;

  g_free (r->metric);
  g_free (r);
}

static void
read_op (GTask        *task,
         SmStore      *store,
         gpointer      data,
         GCancellable *cancellable)
{
  ReadRequest *r = data;
  GError *error = NULL;
  GArray *points = sm_store_read_metric (store, r->session, r->metric, r->from_ms, r->to_ms, r->max_points, &error);

  if (points == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, points, (GDestroyNotify) g_array_unref);
}

void
sm_store_read_metric_async (SmStore             *store,
                            gint64               session,
                            const char          *metric,
                            gint64               from_ms,
                            gint64               to_ms,
                            guint                max_points,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  ReadRequest *r;

  g_return_if_fail (store != NULL);
  g_return_if_fail (metric != NULL);

  r = g_new0 (ReadRequest, 1);
  r->session = session;
  r->metric = g_strdup (metric);
  r->from_ms = from_ms;
  r->to_ms = to_ms;
  r->max_points = max_points;
  run_op (store, sm_store_read_metric_async, FALSE, read_op, r, read_request_free, cancellable, callback, user_data);
}

GArray *
sm_store_read_metric_finish (SmStore       *store,
                             GAsyncResult  *result,
                             GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == sm_store_read_metric_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- lists: of sessions, or of one session's recommendations or
 * events ---- */

typedef enum {
  LIST_SESSIONS,
  LIST_RECOMMENDATIONS,
  LIST_EVENTS,
  LIST_METRICS,
} ListKind;

typedef struct
{
  ListKind  kind;
  gint64    session;
  char     *prefix;     /* LIST_METRICS */
} ListRequest;

static void
list_request_free (gpointer data)
{
  ListRequest *r = data;

  g_free (r->prefix);
  g_free (r);
}

static void
list_op (GTask        *task,
         SmStore      *store,
         gpointer      data,
         GCancellable *cancellable)
{
  ListRequest *r = data;
  GError *error = NULL;
  GPtrArray *list = NULL;

  switch (r->kind)
    {
    case LIST_SESSIONS:
      list = sm_store_list_sessions (store, &error);
      break;
    case LIST_RECOMMENDATIONS:
      list = sm_store_list_recommendations (store, r->session, &error);
      break;
    case LIST_EVENTS:
      list = sm_store_list_events (store, r->session, &error);
      break;
    case LIST_METRICS:
      list = sm_store_list_metrics (store, r->session, r->prefix, &error);
      break;
    default:
      g_assert_not_reached ();
    }
  if (list == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, list, (GDestroyNotify) g_ptr_array_unref);
}

static void
run_list (SmStore             *store,
          ListKind             kind,
          gint64               session,
          const char          *prefix,
          GCancellable        *cancellable,
          GAsyncReadyCallback  callback,
          gpointer             user_data)
{
  ListRequest *request = g_new0 (ListRequest, 1);

  request->kind = kind;
  request->session = session;
  request->prefix = g_strdup (prefix);
  run_op (store, sm_store_list_finish, FALSE, list_op, request, list_request_free, cancellable,
          callback, user_data);
}

void
sm_store_list_sessions_async (SmStore             *store,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_return_if_fail (store != NULL);

  run_list (store, LIST_SESSIONS, -1, NULL, cancellable, callback, user_data);
}

void
sm_store_list_recommendations_async (SmStore             *store,
                                     gint64               session,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data)
{
  g_return_if_fail (store != NULL);
  g_return_if_fail (session >= 0);

  run_list (store, LIST_RECOMMENDATIONS, session, NULL, cancellable, callback, user_data);
}

void
sm_store_list_events_async (SmStore             *store,
                            gint64               session,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_return_if_fail (store != NULL);
  g_return_if_fail (session >= 0);

  run_list (store, LIST_EVENTS, session, NULL, cancellable, callback, user_data);
}

void
sm_store_list_metrics_async (SmStore             *store,
                             gint64               session,
                             const char          *prefix,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_return_if_fail (store != NULL);
  g_return_if_fail (session >= 0 && prefix != NULL);

  run_list (store, LIST_METRICS, session, prefix, cancellable, callback, user_data);
}

GPtrArray *
sm_store_list_finish (SmStore       *store,
                      GAsyncResult  *result,
                      GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == sm_store_list_finish, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- deleting and renaming ---- */

typedef struct
{
  gint64  session;
  char   *name;       /* NULL: delete */
} Change;

static void
change_free (gpointer data)
{
  Change *change = data;

  g_free (change->name);
  g_free (change);
}

static void
change_op (GTask        *task,
           SmStore      *store,
           gpointer      data,
           GCancellable *cancellable)
{
  Change *change = data;
  GError *error = NULL;
  gboolean ok = change->name != NULL ? sm_store_rename_session (store, change->session, change->name, &error)
                                     : sm_store_delete_session (store, change->session, &error);

  return_boolean (task, ok, error);
}

void
sm_store_delete_session_async (SmStore             *store,
                               gint64               session,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  Change *change;

  g_return_if_fail (store != NULL);

  change = g_new0 (Change, 1);
  change->session = session;
  run_op (store, sm_store_delete_session_async, TRUE, change_op, change, change_free, cancellable, callback, user_data);
}

gboolean
sm_store_delete_session_finish (SmStore       *store,
                                GAsyncResult  *result,
                                GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == sm_store_delete_session_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

void
sm_store_rename_session_async (SmStore             *store,
                               gint64               session,
                               const char          *name,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  Change *change;

  g_return_if_fail (store != NULL);
  g_return_if_fail (name != NULL);

  change = g_new0 (Change, 1);
  change->session = session;
  change->name = g_strdup (name);
  run_op (store, sm_store_rename_session_async, TRUE, change_op, change, change_free, cancellable, callback, user_data);
}

gboolean
sm_store_rename_session_finish (SmStore       *store,
                                GAsyncResult  *result,
                                GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == sm_store_rename_session_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- comparing ---- */

typedef struct
{
  gint64      sessions[2];
  GStrv       metrics;
  guint       max_points;
  GPtrArray  *points[2];     /* per metric, NULL where a session lacks it */
} Comparison;

static void
comparison_free (gpointer data)
{
  Comparison *comparison = data;

  g_strfreev (comparison->metrics);
  g_clear_pointer (&comparison->points[0], g_ptr_array_unref);
  g_clear_pointer (&comparison->points[1], g_ptr_array_unref);
  g_free (comparison);
}

/* GPtrArray hands its free function the NULL entries too. */
static void
points_free (gpointer points)
{
  if (points != NULL)
    g_array_unref (points);
}

static void
compare_op (GTask        *task,
            SmStore      *store,
            gpointer      data,
            GCancellable *cancellable)
{
  Comparison *comparison = data;

  for (guint k = 0; k < 2; k++)
    comparison->points[k] = g_ptr_array_new_with_free_func (points_free);
  for (guint m = 0; comparison->metrics[m] != NULL; m++)
    {
      GArray *a = NULL, *b = NULL;

      if (g_cancellable_is_cancelled (cancellable))
        break;
      /* A metric a session lacks is one row of "no figures", not a
       * comparison that failed. */
      if (!sm_store_compare (store, comparison->sessions[0], comparison->sessions[1], comparison->metrics[m],
                             comparison->max_points, &a, &b, NULL))
        {
          g_clear_pointer (&a, g_array_unref);
          g_clear_pointer (&b, g_array_unref);
        }
      g_ptr_array_add (comparison->points[0], a);
      g_ptr_array_add (comparison->points[1], b);
    }
  if (!g_task_return_error_if_cancelled (task))
    g_task_return_boolean (task, TRUE);
}

void
sm_store_compare_async (SmStore             *store,
                        gint64               session_a,
                        gint64               session_b,
                        const char * const  *metrics,
                        guint                max_points,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  Comparison *comparison;

  g_return_if_fail (store != NULL);
  g_return_if_fail (metrics != NULL);

  comparison = g_new0 (Comparison, 1);
  comparison->sessions[0] = session_a;
  comparison->sessions[1] = session_b;
  comparison->metrics = g_strdupv ((char **) metrics);
  comparison->max_points = max_points;
  run_op (store, sm_store_compare_async, FALSE, compare_op, comparison, comparison_free, cancellable, callback, user_data);
}

gboolean
sm_store_compare_finish (SmStore       *store,
                         GAsyncResult  *result,
                         GPtrArray    **points_a,
                         GPtrArray    **points_b,
                         GError       **error)
{
  Comparison *comparison;

  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == sm_store_compare_async, FALSE);
  g_return_val_if_fail (points_a != NULL && points_b != NULL, FALSE);

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return FALSE;
  comparison = op_data (result);
  *points_a = g_steal_pointer (&comparison->points[0]);
  *points_b = g_steal_pointer (&comparison->points[1]);
  return TRUE;
}

/* ---- exporting ---- */

typedef struct
{
  gint64               session;
  char                *format;
  char                *path;
  SmStoreExportFlags   flags;
  SmStoreProgressFunc  progress;
  gpointer             progress_data;
  GMainContext        *context;     /* where @progress is called */
  int                  permille;    /* written by the thread, read in @context */
  int                  queued;      /* a report is on its way to @context */
  int                  stopped;     /* @progress said stop */
} Export;

static void
export_free (gpointer data)
{
  Export *export = data;

  g_main_context_unref (export->context);
  g_free (export->format);
  g_free (export->path);
  g_free (export);
}

/* In the caller's context, with a reference on the task. */
static gboolean
report_progress_cb (gpointer user_data)
{
  GTask *task = user_data;
  Export *export = op_data (G_ASYNC_RESULT (task));

  g_atomic_int_set (&export->queued, 0);
  /* The answer came first: the last word is the callback's. */
  if (!g_task_get_completed (task)
      && !export->progress (g_atomic_int_get (&export->permille) / 1000.0, export->progress_data))
    g_atomic_int_set (&export->stopped, 1);
  return G_SOURCE_REMOVE;
}

typedef struct
{
  GTask        *task;
  Export       *export;
  GCancellable *cancellable;
} ExportRun;

/* On the export's thread: the figure is kept, and one report at a time
 * goes to the caller's context however often the store reports. */
static gboolean
export_progress_cb (double   fraction,
                    gpointer user_data)
{
  ExportRun *run = user_data;
  Export *export = run->export;

  g_atomic_int_set (&export->permille, (int) (1000 * fraction));
  if (export->progress != NULL && g_atomic_int_compare_and_exchange (&export->queued, 0, 1))
    {
      GSource *source = g_idle_source_new ();

      g_source_set_priority (source, G_PRIORITY_DEFAULT);
      g_source_set_callback (source, report_progress_cb, g_object_ref (run->task), g_object_unref);
      g_source_set_static_name (source, "[synmesh] export progress");
      g_source_attach (source, export->context);
      g_source_unref (source);
    }
  return !g_atomic_int_get (&export->stopped) && !g_cancellable_is_cancelled (run->cancellable);
}

static void
export_op (GTask        *task,
           SmStore      *store,
           gpointer      data,
           GCancellable *cancellable)
{
  ExportRun run = { task, data, cancellable };
  Export *export = data;
  GError *error = NULL;
  gboolean ok = sm_store_export (store, export->session, export->format, export->path, export->flags,
                                 export_progress_cb, &run, &error);

  return_boolean (task, ok, error);
}

void
sm_store_export_async (SmStore             *store,
                       gint64               session,
                       const char          *format,
                       const char          *path,
                       SmStoreExportFlags   flags,
                       SmStoreProgressFunc  progress,
                       gpointer             progress_data,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  Export *export;

  g_return_if_fail (store != NULL);
  g_return_if_fail (format != NULL);
  g_return_if_fail (path != NULL);

  export = g_new0 (Export, 1);
  export->session = session;
  export->format = g_strdup (format);
  export->path = g_strdup (path);
  export->flags = flags;
  export->progress = progress;
  export->progress_data = progress_data;
  export->context = g_main_context_ref_thread_default ();
  run_op (store, sm_store_export_async, TRUE, export_op, export, export_free, cancellable, callback, user_data);
}

gboolean
sm_store_export_finish (SmStore       *store,
                        GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == sm_store_export_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
