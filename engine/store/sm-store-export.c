/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#define G_LOG_DOMAIN "sm-store"

#include <glib/gi18n-lib.h>
#include <inttypes.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <sqlite3.h>

#include "sm-error.h"
#include "sm-json.h"
#include "sm-paths.h"
#include "sm-store-private.h"

/* Exports: a session as CSV or JSON, written whole or not at all, and
 * only over a regular file, only when allowed. */

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

      g_string_append_printf (e->csv, "%" G_GINT64_FORMAT ",%s,%" G_GINT64_FORMAT ",%s,\n", e->session, metric, t_ms,
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
  g_autoptr(GPtrArray) events = sm_store_list_events (store, session, error);

  if (events == NULL)
    return FALSE;
  json_builder_begin_array (builder);
  for (guint i = 0; i < events->len; i++)
    {
      SmStoreEvent *event = g_ptr_array_index (events, i);

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "t_ms");
      json_builder_add_int_value (builder, event->t_ms);
      json_builder_set_member_name (builder, "kind");
      add_string (builder, event->kind);
      json_builder_set_member_name (builder, "detail");
      add_string (builder, event->detail);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  return TRUE;
}

/* @text as one CSV field (RFC 4180): quoted, its quotes doubled; one
 * that a spreadsheet would take for a formula (=, +, -, @ first) gets a
 * leading apostrophe, so that opening the file runs nothing. */
static void
append_csv_text (GString    *csv,
                 const char *text)
{
  g_string_append_c (csv, '"');
  if (text[0] == '=' || text[0] == '+' || text[0] == '-' || text[0] == '@')
    g_string_append_c (csv, '\'');
  for (const char *c = text; *c != '\0'; c++)
    {
      if (*c == '"')
        g_string_append_c (csv, '"');
      g_string_append_c (csv, *c);
    }
  g_string_append_c (csv, '"');
}

/* The events after the samples, in time order: "event.<kind>" in the
 * metric column, no value, what changed in the detail column. */
static gboolean
export_csv_events (SmStore  *store,
                   gint64    session,
                   GString  *csv,
                   GError  **error)
{
  g_autoptr(GPtrArray) events = sm_store_list_events (store, session, error);

  if (events == NULL)
    return FALSE;
  for (guint i = 0; i < events->len; i++)
    {
      SmStoreEvent *event = g_ptr_array_index (events, i);
      g_autofree char *metric = g_strconcat ("event.", event->kind ?: "", NULL);

      g_string_append_printf (csv, "%" G_GINT64_FORMAT ",", session);
      append_csv_text (csv, metric);
      g_string_append_printf (csv, ",%" G_GINT64_FORMAT ",,", event->t_ms);
      append_csv_text (csv, event->detail ?: "");
      g_string_append_c (csv, '\n');
    }
  return TRUE;
}

/* Runs each of @sql (NULL-terminated; ?1 is @session) on @db. */
static gboolean
run_with_session (sqlite3            *db,
                  const char * const *sql,
                  gint64              session,
                  GError            **error)
{
  for (guint i = 0; sql[i] != NULL; i++)
    {
      sqlite3_stmt *stmt = NULL;
      int rc = sqlite3_prepare_v2 (db, sql[i], -1, &stmt, NULL);

      if (rc == SQLITE_OK)
        {
          sqlite3_bind_int64 (stmt, 1, session);
          rc = sqlite3_step (stmt);
        }
      sqlite3_finalize (stmt);
      if (rc != SQLITE_OK && rc != SQLITE_DONE)
        return sm_store_fail (db, _("Cannot copy the session"), error);
    }
  return TRUE;
}

/* The session as a database of its own, which `synmesh sessions --db
 * FILE` and the app read like any other: the schema made as a new store
 * makes it, the session's rows copied in one transaction (its metrics
 * only), one file (no write-ahead log beside it), moved into place whole
 * or not at all. */
static gboolean
export_sqlite (SmStore             *store,
               gint64               session,
               const char          *path,
               SmStoreExportFlags   flags,
               SmStoreProgressFunc  progress,
               gpointer             progress_data,
               GError             **error)
{
  static const char * const copy[] = {
    /* Deferred: the source is only read, and its writer keeps writing. */
    "BEGIN",
    "INSERT INTO main.sessions SELECT * FROM source.sessions WHERE id = ?1",
    "INSERT INTO main.metrics SELECT * FROM source.metrics "
    "WHERE id IN (SELECT DISTINCT metric_id FROM source.samples WHERE session_id = ?1)",
    "INSERT INTO main.samples SELECT * FROM source.samples WHERE session_id = ?1",
    "INSERT INTO main.events SELECT * FROM source.events WHERE session_id = ?1",
    "INSERT INTO main.recommendations SELECT * FROM source.recommendations WHERE session_id = ?1",
    "COMMIT",
    NULL
  };
  g_autofree char *partial = g_strconcat (path, ".partial-XXXXXX", NULL);
  sqlite3 *db = NULL;
  sqlite3_stmt *attach = NULL;
  gboolean ok = FALSE, overwrite = (flags & SM_STORE_EXPORT_OVERWRITE) != 0;
  int fd;

  /* Before the copy: no work for a file that will not be replaced. */
  if (!sm_paths_check_destination (path, overwrite, error))
    return FALSE;
  fd = g_mkstemp_full (partial, O_RDWR | O_CLOEXEC, 0644);
  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), _("Cannot write beside %s: %s"), path,
                   g_strerror (saved_errno));
      return FALSE;
    }
  close (fd);

  db = sm_store_open_file (partial, NULL, error);
  if (db == NULL)
    goto out;
  if (sqlite3_prepare_v2 (db, "ATTACH DATABASE ?1 AS source", -1, &attach, NULL) != SQLITE_OK)
    {
      sm_store_fail (db, _("Cannot read the session"), error);
      goto out;
    }
  sqlite3_bind_text (attach, 1, sm_store_get_path (store), -1, SQLITE_TRANSIENT);
  if (sqlite3_step (attach) != SQLITE_DONE)
    {
      sm_store_fail (db, _("Cannot read the session"), error);
      goto out;
    }
  if (!run_with_session (db, copy, session, error))
    {
      sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL);
      goto out;
    }
  if (progress != NULL && !progress (1.0, progress_data))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, _("The export was cancelled"));
      goto out;
    }
  if (sqlite3_exec (db, "DETACH DATABASE source; PRAGMA journal_mode = DELETE;", NULL, NULL, NULL) != SQLITE_OK)
    {
      sm_store_fail (db, _("Cannot finish the export"), error);
      goto out;
    }
  sqlite3_finalize (attach);
  attach = NULL;
  if (sqlite3_close (db) != SQLITE_OK)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("Cannot finish the export"));
      db = NULL;
      goto out;
    }
  db = NULL;

  /* Only a regular file is replaced, and only when asked (checked again
   * now: the copy took a while). */
  if (!sm_paths_check_destination (path, overwrite, error))
    goto out;
  if (overwrite ? g_rename (partial, path) != 0 : sm_paths_rename_noreplace (partial, path) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), _("Cannot write %s: %s"), path,
                   g_strerror (saved_errno));
      goto out;
    }
  ok = TRUE;

out:
  sqlite3_finalize (attach);
  if (db != NULL)
    sqlite3_close (db);
  if (!ok)
    for (const char * const *suffix = (const char * const[]) { "", "-wal", "-shm", "-journal", NULL };
         *suffix != NULL; suffix++)
      {
        g_autofree char *leftover = g_strconcat (partial, *suffix, NULL);

        g_unlink (leftover);
      }
  return ok;
}

/* What SmKnob values are called in an export (docs/storage.md). */
static const char * const knob_names[] = {
  "backend", "threads", "max_batch", "max_wait_us", "cache_size", "pool_limit", "compact_pool",
  "offload_share", "gpu_mode", "precision",
};
G_STATIC_ASSERT (G_N_ELEMENTS (knob_names) == SM_KNOB_PRECISION + 1);

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
  json_builder_set_member_name (builder, "also_rules");
  json_builder_begin_array (builder);
  if (r->also_rules != NULL)
    {
      g_auto(GStrv) also = g_strsplit (r->also_rules, " ", -1);

      for (guint i = 0; also[i] != NULL; i++)
        json_builder_add_string_value (builder, also[i]);
    }
  json_builder_end_array (builder);
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

/* Whether @path is the database itself or one of its companions (its
 * write-ahead log, shared memory, journal): an export there, with
 * --force, would replace every session with one. */
static gboolean
is_own_file (SmStore    *store,
             const char *path)
{
  GStatBuf target;

  if (g_stat (path, &target) != 0)
    return FALSE;
  for (const char * const *suffix = (const char * const[]) { "", "-wal", "-shm", "-journal", NULL };
       *suffix != NULL; suffix++)
    {
      g_autofree char *own = g_strconcat (sm_store_get_path (store), *suffix, NULL);
      GStatBuf st;

      if (g_stat (own, &st) == 0 && st.st_dev == target.st_dev && st.st_ino == target.st_ino)
        return TRUE;
    }
  return FALSE;
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
  if (is_own_file (store, path))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("%s is the session database itself: export to another file"), path);
      return FALSE;
    }
  for (guint i = 0; i < sessions->len; i++)
    if (((SmSessionInfo *) g_ptr_array_index (sessions, i))->id == session)
      info = g_ptr_array_index (sessions, i);
  if (info == NULL)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT, _("There is no session %" PRId64), session);
      return FALSE;
    }
  e.total = info->samples;

  if (g_str_equal (format, "sqlite"))
    return export_sqlite (store, session, path, flags, progress, progress_data, error);
  if (g_str_equal (format, "csv"))
    {
      e.csv = g_string_new ("session,metric,t_ms,value,detail\n");
      if (!sm_store_replay (store, session, export_sample, &e, error)
          || !export_csv_events (store, session, e.csv, error))
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
                   _("Unknown export format “%s” (csv, json or sqlite)"), format);
      return FALSE;
    }

  if (e.stopped || (progress != NULL && !progress (1.0, progress_data)))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, _("The export was cancelled"));
      return FALSE;
    }
  return sm_paths_write_file (path, text, strlen (text), 0644, (flags & SM_STORE_EXPORT_OVERWRITE) != 0, error);
}

