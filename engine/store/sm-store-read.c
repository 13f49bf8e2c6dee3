/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>
#include <json-glib/json-glib.h>

#include "sm-error.h"
#include "sm-json.h"
#include "sm-store-private.h"

/* Reads open their own connection: they never wait for the writer's
 * thread, and WAL lets them run while it commits. */

void
sm_store_decode_chunk (const guint8 *blob,
                       guint         n,
                       gint64        t0_ms,
                       gint64       *t_ms,
                       double       *values)
{
  for (guint i = 0; i < n; i++)
    {
      guint32 dt;

      memcpy (&dt, blob + i * SM_STORE_SAMPLE_BYTES, 4);
      memcpy (&values[i], blob + i * SM_STORE_SAMPLE_BYTES + 4, 8);
      t_ms[i] = t0_ms + GUINT32_FROM_LE (dt);
    }
}

gboolean
sm_store_chunk_usable (sqlite3_stmt *stmt,
                       int           t0_column,
                       int           n_column,
                       int           data_column,
                       guint        *n)
{
  gint64 count = sqlite3_column_int64 (stmt, n_column);
  gint64 t0_ms = sqlite3_column_int64 (stmt, t0_column);

  /* What a damaged or foreign file holds decides no size and no sum:
   * t0 + a uint32 offset must not overflow. */
  if (count < 0 || count > SM_STORE_CHUNK ||
      sqlite3_column_bytes (stmt, data_column) != count * SM_STORE_SAMPLE_BYTES ||
      t0_ms < 0 || t0_ms > G_MAXINT64 - G_MAXUINT32)
    return FALSE;
  *n = (guint) count;
  return TRUE;
}

void
sm_session_info_free (SmSessionInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->name);
  g_free (info->host);
  g_free (info->cpu);
  g_free (info->model);
  g_free (info->config);
  g_free (info);
}

static char *
column_text (sqlite3_stmt *stmt,
             int           column)
{
  return g_strdup ((const char *) sqlite3_column_text (stmt, column));
}

/* A read-only connection of its own with @sql prepared on it, or NULL with
 * @error saying "@what: …": how every reader below starts. */
static sqlite3 *
open_query (SmStore        *store,
            const char     *sql,
            sqlite3_stmt  **stmt,
            const char     *what,
            GError        **error)
{
  sqlite3 *db = sm_store_connect (sm_store_get_path (store), TRUE, error);

  if (db == NULL)
    return NULL;
  if (sqlite3_prepare_v2 (db, sql, -1, stmt, NULL) != SQLITE_OK)
    {
      sm_store_fail (db, what, error);
      sqlite3_close (db);
      return NULL;
    }
  return db;
}

GPtrArray *
sm_store_list_sessions (SmStore  *store,
                        GError  **error)
{
  g_autoptr(GPtrArray) sessions = g_ptr_array_new_with_free_func ((GDestroyNotify) sm_session_info_free);
  sqlite3_stmt *stmt = NULL;
  sqlite3 *db = open_query (store,
                            "SELECT s.id, s.name, s.started_ms, s.ended_ms, s.host, s.cpu, s.model, s.config,"
                            "  (SELECT coalesce (sum (n), 0) FROM samples WHERE session_id = s.id) "
                            "FROM sessions s ORDER BY s.id",
                            &stmt, "Cannot list sessions", error);
  int rc;

  if (db == NULL)
    return NULL;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      SmSessionInfo *info = g_new0 (SmSessionInfo, 1);

      info->id = sqlite3_column_int64 (stmt, 0);
      info->name = column_text (stmt, 1);
      /* NOT NULL in the schema, but the file is not ours to trust. */
      if (info->name == NULL)
        info->name = g_strdup ("");
      info->started_ms = sqlite3_column_int64 (stmt, 2);
      info->ended_ms = sqlite3_column_int64 (stmt, 3);
      info->host = column_text (stmt, 4);
      info->cpu = column_text (stmt, 5);
      info->model = column_text (stmt, 6);
      info->config = column_text (stmt, 7);
      info->samples = sqlite3_column_int64 (stmt, 8);
      g_ptr_array_add (sessions, info);
    }
  if (rc != SQLITE_DONE)
    sm_store_fail (db, "Cannot list sessions", error);
  sqlite3_finalize (stmt);
  sqlite3_close (db);

  return rc == SQLITE_DONE ? g_steal_pointer (&sessions) : NULL;
}

GArray *
sm_store_read_metric (SmStore     *store,
                      gint64       session,
                      const char  *metric,
                      gint64       from_ms,
                      gint64       to_ms,
                      guint        max_points,
                      GError     **error)
{
  g_autoptr(GArray) points = g_array_new (FALSE, TRUE, sizeof (SmStorePoint));
  sqlite3_stmt *stmt = NULL;
  /* The chunks of the range, and the last one starting before it (it may
   * reach into the range): both index range scans on (session, metric, t0). */
  sqlite3 *db = open_query (store,
                            "SELECT t0_ms, n, data FROM samples "
                            "WHERE session_id = ?1 AND metric_id = (SELECT id FROM metrics WHERE key = ?2) "
                            "AND t0_ms <= ?4 AND t0_ms >= coalesce ((SELECT max (t0_ms) FROM samples "
                            "  WHERE session_id = ?1 AND metric_id = (SELECT id FROM metrics WHERE key = ?2) "
                            "  AND t0_ms <= ?3), ?3) ORDER BY t0_ms",
                            &stmt, "Cannot read the metric", error);
  gint64 t[SM_STORE_CHUNK];
  double v[SM_STORE_CHUNK];
  double span;
  int rc;

  if (db == NULL)
    return NULL;
  max_points = MAX (1, max_points);
  /* In doubles: the width of any range of int64 fits, its difference may not. */
  span = MAX (1.0, (double) to_ms - (double) from_ms + 1) / max_points;
  g_array_set_size (points, max_points);
  sqlite3_bind_int64 (stmt, 1, session);
  sqlite3_bind_text (stmt, 2, metric, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 3, from_ms);
  sqlite3_bind_int64 (stmt, 4, to_ms);

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      guint n;

      if (!sm_store_chunk_usable (stmt, 0, 1, 2, &n))
        continue;   /* a chunk this version cannot read is skipped, not trusted */
      sm_store_decode_chunk (sqlite3_column_blob (stmt, 2), n, sqlite3_column_int64 (stmt, 0), t, v);

      /* Min, max and mean per time bucket: drawing 1 000 points of an
       * hour at 4 Hz shows every spike. */
      for (guint i = 0; i < n; i++)
        {
          SmStorePoint *p;
          guint bucket;

          if (t[i] < from_ms || t[i] > to_ms)
            continue;
          bucket = (guint) MIN ((double) (max_points - 1), ((double) t[i] - (double) from_ms) / span);
          p = &g_array_index (points, SmStorePoint, bucket);
          if (p->count == 0)
            {
              p->min = p->max = v[i];
              p->t_ms = t[i];
            }
          p->min = MIN (p->min, v[i]);
          p->max = MAX (p->max, v[i]);
          p->mean += (v[i] - p->mean) / (p->count + 1);
          p->count++;
        }
    }
  if (rc != SQLITE_DONE)
    sm_store_fail (db, "Cannot read the metric", error);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  if (rc != SQLITE_DONE)
    return NULL;

  /* Empty buckets are left out. */
  for (guint i = points->len; i-- > 0; )
    if (g_array_index (points, SmStorePoint, i).count == 0)
      g_array_remove_index (points, i);

  return g_steal_pointer (&points);
}

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
read_thread (GTask        *task,
             gpointer      source,
             gpointer      task_data,
             GCancellable *cancellable)
{
  ReadRequest *r = task_data;
  GError *error = NULL;
  GArray *points;

  if (g_task_return_error_if_cancelled (task))
    return;
  points = sm_store_read_metric (g_object_get_data (G_OBJECT (task), "store"), r->session, r->metric,
                                 r->from_ms, r->to_ms, r->max_points, &error);
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
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  ReadRequest *r = g_new0 (ReadRequest, 1);

  r->session = session;
  r->metric = g_strdup (metric);
  r->from_ms = from_ms;
  r->to_ms = to_ms;
  r->max_points = max_points;
  g_task_set_source_tag (task, sm_store_read_metric_async);
  g_task_set_task_data (task, r, read_request_free);
  g_object_set_data (G_OBJECT (task), "store", store);
  g_task_run_in_thread (task, read_thread);
}

GArray *
sm_store_read_metric_finish (SmStore       *store,
                             GAsyncResult  *result,
                             GError       **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* List reads off the calling thread: session < 0 lists sessions, else the
 * recommendations of that session. */
static void
list_thread (GTask        *task,
             gpointer      source,
             gpointer      task_data,
             GCancellable *cancellable)
{
  SmStore *store = g_object_get_data (G_OBJECT (task), "store");
  gint64 session = *(gint64 *) task_data;
  GError *error = NULL;
  GPtrArray *list;

  if (g_task_return_error_if_cancelled (task))
    return;
  list = session < 0 ? sm_store_list_sessions (store, &error)
                     : sm_store_list_recommendations (store, session, &error);
  if (list == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, list, (GDestroyNotify) g_ptr_array_unref);
}

static void
list_async (SmStore             *store,
            gint64               session,
            GCancellable        *cancellable,
            GAsyncReadyCallback  callback,
            gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_task_data (task, g_memdup2 (&session, sizeof session), g_free);
  g_object_set_data (G_OBJECT (task), "store", store);
  g_task_run_in_thread (task, list_thread);
}

void
sm_store_list_sessions_async (SmStore             *store,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  list_async (store, -1, cancellable, callback, user_data);
}

void
sm_store_list_recommendations_async (SmStore             *store,
                                     gint64               session,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data)
{
  list_async (store, session, cancellable, callback, user_data);
}

GPtrArray *
sm_store_list_finish (SmStore       *store,
                      GAsyncResult  *result,
                      GError       **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

gboolean
sm_store_replay (SmStore           *store,
                 gint64             session,
                 SmStoreSampleFunc  func,
                 gpointer           user_data,
                 GError           **error)
{
  sqlite3_stmt *stmt = NULL;
  sqlite3 *db = open_query (store,
                            "SELECT m.key, s.t0_ms, s.n, s.data FROM samples s JOIN metrics m ON m.id = s.metric_id "
                            "WHERE s.session_id = ? ORDER BY s.metric_id, s.t0_ms",
                            &stmt, "Cannot replay the session", error);
  gint64 t[SM_STORE_CHUNK];
  double v[SM_STORE_CHUNK];
  int rc;

  if (db == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, session);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      const char *key = (const char *) sqlite3_column_text (stmt, 0);
      guint n;

      if (key == NULL || !sm_store_chunk_usable (stmt, 1, 2, 3, &n))
        continue;
      sm_store_decode_chunk (sqlite3_column_blob (stmt, 3), n, sqlite3_column_int64 (stmt, 1), t, v);
      for (guint i = 0; i < n; i++)
        func (key, t[i], v[i], user_data);
    }
  if (rc != SQLITE_DONE)
    sm_store_fail (db, "Cannot replay the session", error);
  sqlite3_finalize (stmt);
  sqlite3_close (db);

  return rc == SQLITE_DONE;
}

GPtrArray *
sm_store_list_recommendations (SmStore  *store,
                               gint64    session,
                               GError  **error)
{
  static const char * const statuses[] = { "open", "applied", "dismissed", "reverted" };
  static const char * const severities[] = { "info", "warning", "critical" };
  g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func ((GDestroyNotify) sm_recommendation_free);
  sqlite3_stmt *stmt = NULL;
  sqlite3 *db = open_query (store,
                            "SELECT number, t_ms, rule, severity, title, evidence, expected, action, knob, old_value,"
                            "  new_value, status, outcome, worse FROM recommendations WHERE session_id = ? ORDER BY number",
                            &stmt, "Cannot read recommendations", error);
  int rc;

  if (db == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, session);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      SmRecommendation *r;
      const char *status = (const char *) sqlite3_column_text (stmt, 11);
      const char *severity = (const char *) sqlite3_column_text (stmt, 3);
      gint64 number = sqlite3_column_int64 (stmt, 0);
      gint64 knob = sqlite3_column_int64 (stmt, 8);

      /* A row this version cannot use is skipped, not trusted: the knob
       * indexes the advisor's tables when a recommendation is applied. */
      if (number < 0 || number > G_MAXUINT || knob < 0 || knob > SM_KNOB_GPU_MODE ||
          sqlite3_column_text (stmt, 2) == NULL || sqlite3_column_text (stmt, 4) == NULL)
        continue;
      r = g_new0 (SmRecommendation, 1);

      r->id = (guint) number;
      r->fired_ms = sqlite3_column_int64 (stmt, 1);
      r->rule = g_intern_string ((const char *) sqlite3_column_text (stmt, 2));
      for (guint i = 0; i < G_N_ELEMENTS (severities); i++)
        if (g_strcmp0 (severity, severities[i]) == 0)
          r->severity = i;
      r->title = column_text (stmt, 4);
      r->evidence = column_text (stmt, 5);
      r->expected = column_text (stmt, 6);
      r->action = column_text (stmt, 7);
      r->knob = (SmKnob) knob;
      /* SQLite stores a NaN as NULL: it reads back as NaN, not 0. */
      r->old_value = sqlite3_column_type (stmt, 9) == SQLITE_NULL ? NAN : sqlite3_column_double (stmt, 9);
      r->new_value = sqlite3_column_type (stmt, 10) == SQLITE_NULL ? NAN : sqlite3_column_double (stmt, 10);
      for (guint i = 0; i < G_N_ELEMENTS (statuses); i++)
        if (g_strcmp0 (status, statuses[i]) == 0)
          r->status = i;
      r->outcome = column_text (stmt, 12);
      r->worse = sqlite3_column_int (stmt, 13);
      r->before = r->after = NAN;
      g_ptr_array_add (list, r);
    }
  if (rc != SQLITE_DONE)
    sm_store_fail (db, "Cannot read recommendations", error);
  sqlite3_finalize (stmt);
  sqlite3_close (db);

  return rc == SQLITE_DONE ? g_steal_pointer (&list) : NULL;
}

/* Runs @sql (its ?1 the session id, ?2 @text when given) on one session;
 * a session that is not there is an error, not a silent no-op. */
static gboolean
change_session (SmStore     *store,
                const char  *sql,
                gint64       session,
                const char  *text,
                const char  *what,
                GError     **error)
{
  sqlite3 *db = sm_store_connect (sm_store_get_path (store), FALSE, error);
  sqlite3_stmt *stmt = NULL;
  gboolean ok;

  if (db == NULL)
    return FALSE;
  ok = sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) == SQLITE_OK;
  if (ok)
    {
      sqlite3_bind_int64 (stmt, 1, session);
      if (text != NULL)
        sqlite3_bind_text (stmt, 2, text, -1, SQLITE_TRANSIENT);
      ok = sqlite3_step (stmt) == SQLITE_DONE;
    }
  if (!ok)
    sm_store_fail (db, what, error);
  else if (sqlite3_changes (db) == 0)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT, "There is no session %" G_GINT64_FORMAT, session);
      ok = FALSE;
    }
  sqlite3_finalize (stmt);
  sqlite3_close (db);

  return ok;
}

gboolean
sm_store_delete_session (SmStore  *store,
                         gint64    session,
                         GError  **error)
{
  /* Samples, events and recommendations go with it (ON DELETE CASCADE). */
  return change_session (store, "DELETE FROM sessions WHERE id = ?1", session, NULL,
                         "Cannot delete the session", error);
}

gboolean
sm_store_rename_session (SmStore     *store,
                         gint64       session,
                         const char  *name,
                         GError     **error)
{
  g_autofree char *trimmed = g_strstrip (g_strdup (name));

  if (trimmed[0] == '\0' || !g_utf8_validate (trimmed, -1, NULL) || g_utf8_strlen (trimmed, -1) > 200)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT,
                   "A session's name is 1 to 200 characters of text");
      return FALSE;
    }
  return change_session (store, "UPDATE sessions SET name = ?2 WHERE id = ?1", session, trimmed,
                         "Cannot rename the session", error);
}

/* ---- export ---- */

typedef struct
{
  GString            *csv;
  JsonBuilder        *json;
  const char         *current;
  gint64              session;
  SmStoreProgressFunc progress;
  gpointer            progress_data;
  gint64              done;
  gint64              total;
  gboolean            stopped;
} Export;

/* A text column may be NULL in a file we did not write: null, not a crash. */
static void
add_string (JsonBuilder *builder,
            const char  *value)
{
  if (value != NULL)
    json_builder_add_string_value (builder, value);
  else
    json_builder_add_null_value (builder);
}

/* Every this many samples the export says how far it is. */
#define EXPORT_PROGRESS_STEP 1024

static void
export_sample (const char *metric,
               gint64      t_ms,
               double      value,
               gpointer    user_data)
{
  Export *e = user_data;

  /* Replay cannot be stopped midway; what is left is only skipped. */
  if (e->stopped)
    return;
  if (e->progress != NULL && ++e->done % EXPORT_PROGRESS_STEP == 0 &&
      !e->progress (MIN (1.0, (double) e->done / MAX (e->total, 1)), e->progress_data))
    {
      e->stopped = TRUE;
      return;
    }

  if (e->csv != NULL)
    {
      char number[G_ASCII_DTOSTR_BUF_SIZE];

      g_string_append_printf (e->csv, "%" G_GINT64_FORMAT ",%s,%" G_GINT64_FORMAT ",%s\n", e->session, metric, t_ms,
                              g_ascii_dtostr (number, sizeof number, value));
      return;
    }

  if (e->current == NULL || !g_str_equal (e->current, metric))
    {
      if (e->current != NULL)
        {
          json_builder_end_array (e->json);
          json_builder_end_object (e->json);
        }
      e->current = g_intern_string (metric);
      json_builder_begin_object (e->json);
      json_builder_set_member_name (e->json, "metric");
      json_builder_add_string_value (e->json, metric);
      json_builder_set_member_name (e->json, "samples");
      json_builder_begin_array (e->json);
    }
  json_builder_begin_array (e->json);
  json_builder_add_int_value (e->json, t_ms);
  sm_json_builder_add_number (e->json, value);
  json_builder_end_array (e->json);
}

/* The events of a session, in time order, as JSON objects. */
static gboolean
export_events (SmStore      *store,
               gint64        session,
               JsonBuilder  *builder,
               GError      **error)
{
  sqlite3_stmt *stmt = NULL;
  sqlite3 *db = open_query (store, "SELECT t_ms, kind, detail FROM events WHERE session_id = ? ORDER BY t_ms, id",
                            &stmt, "Cannot read the events", error);
  int rc;

  if (db == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, session);
  json_builder_begin_array (builder);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "t_ms");
      json_builder_add_int_value (builder, sqlite3_column_int64 (stmt, 0));
      json_builder_set_member_name (builder, "kind");
      add_string (builder, (const char *) sqlite3_column_text (stmt, 1));
      json_builder_set_member_name (builder, "detail");
      add_string (builder, (const char *) sqlite3_column_text (stmt, 2));
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  if (rc != SQLITE_DONE)
    sm_store_fail (db, "Cannot read the events", error);
  sqlite3_finalize (stmt);
  sqlite3_close (db);

  return rc == SQLITE_DONE;
}

/* What SmKnob values are called in an export (docs/storage.md). */
static const char * const knob_names[] = {
  "backend", "threads", "max_batch", "max_wait_us", "cache_size", "pool_limit", "compact_pool",
  "offload_share", "gpu_mode",
};
G_STATIC_ASSERT (G_N_ELEMENTS (knob_names) == SM_KNOB_GPU_MODE + 1);

static void
export_recommendation (JsonBuilder            *builder,
                       const SmRecommendation *r)
{
  static const char * const statuses[] = { "open", "applied", "dismissed", "reverted" };

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "number");
  json_builder_add_int_value (builder, r->id);
  json_builder_set_member_name (builder, "t_ms");
  json_builder_add_int_value (builder, r->fired_ms);
  json_builder_set_member_name (builder, "rule");
  add_string (builder, r->rule);
  json_builder_set_member_name (builder, "severity");
  add_string (builder, sm_severity_get_name (r->severity));
  json_builder_set_member_name (builder, "title");
  add_string (builder, r->title);
  json_builder_set_member_name (builder, "evidence");
  add_string (builder, r->evidence);
  json_builder_set_member_name (builder, "expected");
  add_string (builder, r->expected);
  json_builder_set_member_name (builder, "action");
  add_string (builder, r->action);
  json_builder_set_member_name (builder, "knob");
  add_string (builder, knob_names[r->knob]);
  json_builder_set_member_name (builder, "old_value");
  sm_json_builder_add_number (builder, r->old_value);
  json_builder_set_member_name (builder, "new_value");
  sm_json_builder_add_number (builder, r->new_value);
  json_builder_set_member_name (builder, "status");
  add_string (builder, statuses[r->status]);
  json_builder_set_member_name (builder, "outcome");
  add_string (builder, r->outcome);
  json_builder_set_member_name (builder, "worse");
  json_builder_add_boolean_value (builder, r->worse);
  json_builder_end_object (builder);
}

gboolean
sm_store_export (SmStore            *store,
                 gint64              session,
                 const char         *format,
                 const char         *path,
                 SmStoreExportFlags  flags,
                 SmStoreProgressFunc progress,
                 gpointer            progress_data,
                 GError            **error)
{
  g_autoptr(GPtrArray) sessions = sm_store_list_sessions (store, error);
  g_autoptr(GPtrArray) recommendations = NULL;
  g_autofree char *text = NULL;
  SmSessionInfo *info = NULL;
  Export e = { .session = session, .progress = progress, .progress_data = progress_data };

  if (sessions == NULL)
    return FALSE;
  for (guint i = 0; i < sessions->len; i++)
    if (((SmSessionInfo *) g_ptr_array_index (sessions, i))->id == session)
      info = g_ptr_array_index (sessions, i);
  if (info == NULL)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT, "There is no session %" G_GINT64_FORMAT, session);
      return FALSE;
    }
  e.total = info->samples;

  if (g_str_equal (format, "csv"))
    {
      e.csv = g_string_new ("session,metric,t_ms,value\n");
      if (!sm_store_replay (store, session, export_sample, &e, error))
        {
          g_string_free (e.csv, TRUE);
          return FALSE;
        }
      text = g_string_free (e.csv, FALSE);
    }
  else if (g_str_equal (format, "json"))
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      g_autoptr(JsonGenerator) generator = json_generator_new ();
      g_autoptr(JsonNode) root = NULL;

      recommendations = sm_store_list_recommendations (store, session, error);
      if (recommendations == NULL)
        return FALSE;
      e.json = builder;
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "session");
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "id");
      json_builder_add_int_value (builder, info->id);
      json_builder_set_member_name (builder, "name");
      add_string (builder, info->name);
      json_builder_set_member_name (builder, "started_ms");
      json_builder_add_int_value (builder, info->started_ms);
      json_builder_set_member_name (builder, "ended_ms");
      json_builder_add_int_value (builder, info->ended_ms);
      json_builder_set_member_name (builder, "host");
      add_string (builder, info->host);
      json_builder_set_member_name (builder, "cpu");
      add_string (builder, info->cpu);
      json_builder_set_member_name (builder, "model");
      add_string (builder, info->model);
      json_builder_set_member_name (builder, "config");
      add_string (builder, info->config);
      json_builder_set_member_name (builder, "samples");
      json_builder_add_int_value (builder, info->samples);
      json_builder_end_object (builder);

      json_builder_set_member_name (builder, "metrics");
      json_builder_begin_array (builder);
      if (!sm_store_replay (store, session, export_sample, &e, error))
        return FALSE;
      if (e.current != NULL)
        {
          json_builder_end_array (builder);
          json_builder_end_object (builder);
        }
      json_builder_end_array (builder);

      json_builder_set_member_name (builder, "events");
      if (!export_events (store, session, builder, error))
        return FALSE;

      json_builder_set_member_name (builder, "recommendations");
      json_builder_begin_array (builder);
      for (guint i = 0; i < recommendations->len; i++)
        export_recommendation (builder, g_ptr_array_index (recommendations, i));
      json_builder_end_array (builder);
      json_builder_end_object (builder);

      root = json_builder_get_root (builder);
      json_generator_set_root (generator, root);
      json_generator_set_pretty (generator, TRUE);
      text = json_generator_to_data (generator, NULL);
    }
  else
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT,
                   "Unknown export format “%s” (csv or json)", format);
      return FALSE;
    }

  if (e.stopped || (progress != NULL && !progress (1.0, progress_data)))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "The export was cancelled");
      return FALSE;
    }
  return sm_store_write_file (path, text, strlen (text), (flags & SM_STORE_EXPORT_OVERWRITE) != 0, error);
}

/* ---- comparing ---- */

/* The time of a session's last sample of @metric, or -1 when it has none. */
static gint64
last_sample_ms (sqlite3    *db,
                gint64      session,
                const char *metric)
{
  sqlite3_stmt *stmt = NULL;
  gint64 last = -1;

  if (sqlite3_prepare_v2 (db, "SELECT t0_ms, n, data FROM samples WHERE session_id = ? "
                          "AND metric_id = (SELECT id FROM metrics WHERE key = ?) ORDER BY t0_ms DESC LIMIT 1",
                          -1, &stmt, NULL) == SQLITE_OK)
    {
      sqlite3_bind_int64 (stmt, 1, session);
      sqlite3_bind_text (stmt, 2, metric, -1, SQLITE_STATIC);
      if (sqlite3_step (stmt) == SQLITE_ROW)
        {
          guint n;
          gint64 t[SM_STORE_CHUNK];
          double v[SM_STORE_CHUNK];

          if (sm_store_chunk_usable (stmt, 0, 1, 2, &n) && n > 0)
            {
              sm_store_decode_chunk (sqlite3_column_blob (stmt, 2), n, sqlite3_column_int64 (stmt, 0), t, v);
              last = t[n - 1];
            }
        }
    }
  sqlite3_finalize (stmt);
  return last;
}

gboolean
sm_store_compare (SmStore     *store,
                  gint64       session_a,
                  gint64       session_b,
                  const char  *metric,
                  guint        max_points,
                  GArray     **points_a,
                  GArray     **points_b,
                  GError     **error)
{
  sqlite3 *db = sm_store_connect (sm_store_get_path (store), TRUE, error);
  gint64 end_a, end_b;

  if (db == NULL)
    return FALSE;
  end_a = last_sample_ms (db, session_a, metric);
  end_b = last_sample_ms (db, session_b, metric);
  sqlite3_close (db);
  if (end_a < 0 || end_b < 0)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT,
                   "Session %" G_GINT64_FORMAT " has no samples of %s", end_a < 0 ? session_a : session_b, metric);
      return FALSE;
    }

  /* Both from their starts, over the shorter one: the same buckets. */
  *points_a = sm_store_read_metric (store, session_a, metric, 0, MIN (end_a, end_b), max_points, error);
  if (*points_a == NULL)
    return FALSE;
  *points_b = sm_store_read_metric (store, session_b, metric, 0, MIN (end_a, end_b), max_points, error);
  if (*points_b == NULL)
    {
      g_clear_pointer (points_a, g_array_unref);
      return FALSE;
    }
  return TRUE;
}

/* ---- retention ---- */

static gint64
database_bytes (sqlite3 *db)
{
  sqlite3_stmt *stmt = NULL;
  gint64 bytes = 0;

  if (sqlite3_prepare_v2 (db, "SELECT page_count * page_size FROM pragma_page_count (), pragma_page_size ()",
                          -1, &stmt, NULL) == SQLITE_OK && sqlite3_step (stmt) == SQLITE_ROW)
    bytes = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  return bytes;
}

/* Rewrites one session's samples as one mean per @coarse_ms per metric. */
static gboolean
thin_session (sqlite3  *db,
              gint64    session,
              gint64    coarse_ms,
              GError  **error)
{
  g_autoptr(GArray) rows = g_array_new (FALSE, FALSE, sizeof (gint64) * 2);
  g_autoptr(GByteArray) chunk = g_byte_array_new ();
  sqlite3_stmt *select = NULL, *insert = NULL;
  gint64 metric = -1, bucket = G_MININT64, chunk_t0 = 0;
  double sum = 0;
  guint count = 0, n = 0;
  gboolean ok;
  int rc;

  ok = sqlite3_exec (db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK &&
       sqlite3_exec (db, "CREATE TEMP TABLE IF NOT EXISTS thinned (metric_id INTEGER, t0_ms INTEGER, n INTEGER, data BLOB);"
                         "DELETE FROM thinned;", NULL, NULL, NULL) == SQLITE_OK &&
       sqlite3_prepare_v2 (db, "SELECT metric_id, t0_ms, n, data FROM samples WHERE session_id = ? "
                           "ORDER BY metric_id, t0_ms", -1, &select, NULL) == SQLITE_OK &&
       sqlite3_prepare_v2 (db, "INSERT INTO thinned VALUES (?, ?, ?, ?)", -1, &insert, NULL) == SQLITE_OK;
  if (ok)
    sqlite3_bind_int64 (select, 1, session);

#define EMIT_SAMPLE() G_STMT_START {                                                    \
    double mean = sum / count;                                                           \
    guint32 dt = GUINT32_TO_LE ((guint32) (bucket * coarse_ms - chunk_t0));             \
    if (n == 0) chunk_t0 = bucket * coarse_ms, dt = 0;                                   \
    g_byte_array_append (chunk, (const guint8 *) &dt, 4);                                \
    g_byte_array_append (chunk, (const guint8 *) &mean, 8);                              \
    n++; } G_STMT_END
#define EMIT_CHUNK() G_STMT_START {                                                     \
    sqlite3_reset (insert);                                                              \
    sqlite3_bind_int64 (insert, 1, metric);                                              \
    sqlite3_bind_int64 (insert, 2, chunk_t0);                                            \
    sqlite3_bind_int (insert, 3, (int) n);                                               \
    sqlite3_bind_blob (insert, 4, chunk->data, (int) chunk->len, SQLITE_TRANSIENT);      \
    ok = ok && sqlite3_step (insert) == SQLITE_DONE;                                     \
    g_byte_array_set_size (chunk, 0); n = 0; } G_STMT_END

  while (ok && (rc = sqlite3_step (select)) == SQLITE_ROW)
    {
      gint64 m = sqlite3_column_int64 (select, 0);
      guint rn;
      gint64 t[SM_STORE_CHUNK];
      double v[SM_STORE_CHUNK];

      if (!sm_store_chunk_usable (select, 1, 2, 3, &rn))
        continue;
      sm_store_decode_chunk (sqlite3_column_blob (select, 3), rn, sqlite3_column_int64 (select, 1), t, v);
      for (guint i = 0; i < rn; i++)
        {
          gint64 b = t[i] / coarse_ms;

          if (m != metric || b != bucket)
            {
              if (count > 0)
                EMIT_SAMPLE ();
              if ((m != metric && n > 0) || n == SM_STORE_CHUNK)
                EMIT_CHUNK ();
              metric = m;
              bucket = b;
              sum = 0;
              count = 0;
            }
          sum += v[i];
          count++;
        }
    }
  if (ok && count > 0)
    EMIT_SAMPLE ();
  if (ok && n > 0)
    EMIT_CHUNK ();
#undef EMIT_SAMPLE
#undef EMIT_CHUNK
  sqlite3_finalize (select);
  sqlite3_finalize (insert);

  if (ok)
    {
      g_autofree char *sql = g_strdup_printf ("DELETE FROM samples WHERE session_id = %" G_GINT64_FORMAT ";"
                                              "INSERT INTO samples SELECT %" G_GINT64_FORMAT ", metric_id, t0_ms, n, data "
                                              "FROM thinned;"
                                              "UPDATE sessions SET thinned_ms = %" G_GINT64_FORMAT " WHERE id = %"
                                              G_GINT64_FORMAT "; COMMIT;", session, session, coarse_ms, session);
      ok = sqlite3_exec (db, sql, NULL, NULL, NULL) == SQLITE_OK;
    }
  if (!ok)
    {
      sm_store_fail (db, "Cannot thin an old session", error);
      sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL);
    }
  return ok;
}

gboolean
sm_store_apply_retention (SmStore  *store,
                          double    max_age_days,
                          gint64    max_bytes,
                          gint64    coarse_ms,
                          guint    *thinned,
                          guint    *deleted,
                          GError  **error)
{
  g_autoptr(GArray) old = g_array_new (FALSE, FALSE, sizeof (gint64));
  sqlite3_stmt *stmt = NULL;
  sqlite3 *db;
  gint64 cutoff;
  guint n_thinned = 0, n_deleted = 0;
  gboolean ok = TRUE;

  /* Checked before any arithmetic: a day count converted to ms must fit. */
  if (!(max_age_days >= 0 && max_age_days <= SM_STORE_MAX_AGE_DAYS) || max_bytes < 0)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT,
                   "Retention limits are an age of 0 to %g days and a size of 0 or more bytes",
                   SM_STORE_MAX_AGE_DAYS);
      return FALSE;
    }
  cutoff = g_get_real_time () / 1000 - (gint64) (max_age_days * 86400000.0);
  db = sm_store_connect (sm_store_get_path (store), FALSE, error);
  if (db == NULL)
    return FALSE;
  coarse_ms = MAX (1, coarse_ms);

  /* Thin first: old sessions stay, in less detail, and are thinned once
   * (thinned_ms records the interval). */
  if (max_age_days > 0 &&
      sqlite3_prepare_v2 (db, "SELECT id FROM sessions WHERE ended_ms > 0 AND ended_ms < ? "
                          "AND coalesce (thinned_ms, 0) < ?", -1, &stmt, NULL) == SQLITE_OK)
    {
      sqlite3_bind_int64 (stmt, 1, cutoff);
      sqlite3_bind_int64 (stmt, 2, coarse_ms);
      while (sqlite3_step (stmt) == SQLITE_ROW)
        {
          gint64 id = sqlite3_column_int64 (stmt, 0);
          g_array_append_val (old, id);
        }
    }
  sqlite3_finalize (stmt);
  for (guint i = 0; ok && i < old->len; i++)
    {
      ok = thin_session (db, g_array_index (old, gint64, i), coarse_ms, error);
      n_thinned += ok;
    }

  /* Then, over the size limit, the oldest sessions go (never the newest). */
  if (ok && max_bytes > 0)
    {
      sqlite3_exec (db, "PRAGMA wal_checkpoint(TRUNCATE); VACUUM;", NULL, NULL, NULL);
      while (ok && database_bytes (db) > max_bytes)
        {
          gint64 oldest = -1;

          if (sqlite3_prepare_v2 (db, "SELECT id FROM sessions WHERE id < (SELECT max (id) FROM sessions) "
                                  "ORDER BY started_ms LIMIT 1", -1, &stmt, NULL) == SQLITE_OK &&
              sqlite3_step (stmt) == SQLITE_ROW)
            oldest = sqlite3_column_int64 (stmt, 0);
          sqlite3_finalize (stmt);
          if (oldest < 0)
            break;
          sqlite3_close (db);
          db = NULL;
          ok = sm_store_delete_session (store, oldest, error);
          n_deleted += ok;
          db = sm_store_connect (sm_store_get_path (store), FALSE, error);
          ok = ok && db != NULL && sqlite3_exec (db, "VACUUM", NULL, NULL, NULL) == SQLITE_OK;
        }
    }

  sqlite3_close (db);
  if (thinned != NULL)
    *thinned = n_thinned;
  if (deleted != NULL)
    *deleted = n_deleted;
  return ok;
}
