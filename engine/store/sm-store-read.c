/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <inttypes.h>

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
sqlite3 *
sm_store_open_query (SmStore        *store,
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
  sqlite3 *db = sm_store_open_query (store,
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
  sqlite3 *db = sm_store_open_query (store,
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

gboolean
sm_store_replay (SmStore           *store,
                 gint64             session,
                 SmStoreSampleFunc  func,
                 gpointer           user_data,
                 GError           **error)
{
  sqlite3_stmt *stmt = NULL;
  sqlite3 *db = sm_store_open_query (store,
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
  sqlite3 *db = sm_store_open_query (store,
                                     "SELECT number, t_ms, rule, severity, title, evidence, expected, action, knob, old_value,"
                                     "  new_value, status, outcome, worse, also_rules FROM recommendations WHERE session_id = ? ORDER BY number",
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
      if (number < 0 || number > G_MAXUINT || knob < 0 || knob > SM_KNOB_PRECISION ||
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
      r->also_rules = column_text (stmt, 14);
      r->before = r->after = NAN;
      g_ptr_array_add (list, r);
    }
  if (rc != SQLITE_DONE)
    sm_store_fail (db, "Cannot read recommendations", error);
  sqlite3_finalize (stmt);
  sqlite3_close (db);

  return rc == SQLITE_DONE ? g_steal_pointer (&list) : NULL;
}

void
sm_store_event_free (SmStoreEvent *event)
{
  if (event == NULL)
    return;
  g_free (event->kind);
  g_free (event->detail);
  g_free (event);
}

GPtrArray *
sm_store_list_events (SmStore  *store,
                      gint64    session,
                      GError  **error)
{
  g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func ((GDestroyNotify) sm_store_event_free);
  sqlite3_stmt *stmt = NULL;
  sqlite3 *db = sm_store_open_query (store, "SELECT t_ms, kind, detail FROM events WHERE session_id = ? ORDER BY t_ms, id",
                                     &stmt, "Cannot read the events", error);
  int rc;

  if (db == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, session);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      SmStoreEvent *event = g_new0 (SmStoreEvent, 1);

      event->t_ms = sqlite3_column_int64 (stmt, 0);
      event->kind = column_text (stmt, 1);
      event->detail = column_text (stmt, 2);
      g_ptr_array_add (list, event);
    }
  if (rc != SQLITE_DONE)
    sm_store_fail (db, "Cannot read the events", error);
  sqlite3_finalize (stmt);
  sqlite3_close (db);

  return rc == SQLITE_DONE ? g_steal_pointer (&list) : NULL;
}

void
sm_store_metric_free (SmStoreMetric *metric)
{
  if (metric == NULL)
    return;
  g_free (metric->key);
  g_free (metric->name);
  g_free (metric->unit);
  g_free (metric);
}

GPtrArray *
sm_store_list_metrics (SmStore     *store,
                       gint64       session,
                       const char  *prefix,
                       GError     **error)
{
  g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func ((GDestroyNotify) sm_store_metric_free);
  sqlite3_stmt *stmt = NULL;
  /* substr, not LIKE: a key's "_" and "%" are not patterns. */
  sqlite3 *db = sm_store_open_query (store,
                                     "SELECT key, name, unit FROM metrics WHERE substr (key, 1, length (?2)) = ?2 "
                                     "AND EXISTS (SELECT 1 FROM samples WHERE session_id = ?1 AND metric_id = metrics.id) "
                                     "ORDER BY key",
                                     &stmt, "Cannot read the metrics", error);
  int rc;

  if (db == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, session);
  sqlite3_bind_text (stmt, 2, prefix, -1, SQLITE_TRANSIENT);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      SmStoreMetric *metric = g_new0 (SmStoreMetric, 1);

      metric->key = column_text (stmt, 0);
      metric->name = column_text (stmt, 1);
      metric->unit = column_text (stmt, 2);
      g_ptr_array_add (list, metric);
    }
  if (rc != SQLITE_DONE)
    sm_store_fail (db, "Cannot read the metrics", error);
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
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT, _("There is no session %" PRId64), session);
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
                   _("A session's name is 1 to 200 characters of text"));
      return FALSE;
    }
  return change_session (store, "UPDATE sessions SET name = ?2 WHERE id = ?1", session, trimmed,
                         "Cannot rename the session", error);
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
                   _("Session %" PRId64 " has no samples of %s"), end_a < 0 ? session_a : session_b, metric);
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

