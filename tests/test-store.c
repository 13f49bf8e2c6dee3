/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "sm-error.h"
#include "sm-store.h"
#include "sm-store-async.h"

static char *
temp_db (void)
{
  g_autofree char *dir = g_dir_make_tmp ("synmesh-store-XXXXXX", NULL);

  return g_build_filename (dir, "synmesh.db", NULL);
}

static double ramp;

static double
read_ramp (gpointer data)
{
  return ramp;
}

static double
read_square (gpointer data)
{
  return ramp * ramp;
}

/* A monitor with two gauges whose values the test sets. */
static SmMonitor *
test_monitor (void)
{
  SmMonitor *monitor = sm_monitor_new ();

  sm_monitor_add_gauge (monitor, "test.ramp", "Ramp", "", read_ramp, NULL);
  sm_monitor_add_gauge (monitor, "test.square", "Square", "µs", read_square, NULL);
  return monitor;
}

/* @n snapshots with t_ms = 250 · i, as a 4 Hz monitor would take them. */
static void
feed (SmStore   *store,
      gint64     session,
      SmMonitor *monitor,
      guint      first,
      guint      n)
{
  for (guint i = first; i < first + n; i++)
    {
      SmMonitorSnapshot *snapshot;

      ramp = i;
      snapshot = sm_monitor_tick (monitor);
      snapshot->t_ms = 250 * (gint64) i;
      sm_store_add_snapshot (store, session, monitor, snapshot);
      sm_monitor_snapshot_unref (snapshot);
    }
}

static int
integrity (const char *path)
{
  sqlite3 *db;
  sqlite3_stmt *stmt;
  int ok = 0;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "PRAGMA integrity_check", -1, &stmt, NULL), ==, SQLITE_OK);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    ok = g_strcmp0 ((const char *) sqlite3_column_text (stmt, 0), "ok") == 0;
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return ok;
}

static gboolean
record_progress (double   fraction,
                 gpointer user_data)
{
  g_array_append_val ((GArray *) user_data, fraction);
  return TRUE;
}

static gboolean
stop_at_first (double   fraction,
               gpointer user_data)
{
  return FALSE;
}

static void
test_store_round_trip (void)
{
  g_autofree char *path = temp_db ();
  g_autoptr(GError) error = NULL;
  g_autoptr(SmMonitor) monitor = test_monitor ();   /* outlives the store's writes */
  g_autoptr(SmStore) store = sm_store_open (path, NULL, &error);
  g_autoptr(GPtrArray) sessions = NULL, recs = NULL;
  g_autoptr(GArray) points = NULL, coarse = NULL;
  g_autoptr(GArray) fractions = g_array_new (FALSE, FALSE, sizeof (double));
  SmRecommendation rec = { .id = 1, .rule = "fragmentation", .title = (char *) "Fragmented",
                           .evidence = (char *) "70 %", .action = (char *) "Compact", .status = SM_RECOMMENDATION_OPEN };
  g_autofree char *csv_path = g_strconcat (path, ".csv", NULL), *json_path = g_strconcat (path, ".json", NULL);
  g_autofree char *csv = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  SmStoreStatus status;
  gint64 session;
  guint count = 0;

  g_assert_no_error (error);
  session = sm_store_begin_session (store, "test", "preset micro", "{\"threads\": 2}", &error);
  g_assert_no_error (error);
  g_assert_cmpint (session, ==, 1);

  /* 1000 ticks: several chunks of 256 per metric. */
  feed (store, session, monitor, 0, 1000);
  sm_store_add_event (store, session, 500, "knob", "threads 2 → 1");
  /* A detail a spreadsheet would run, with quotes and a comma. */
  sm_store_add_event (store, session, 600, "note", "=1+1, \"quoted\"");
  sm_store_add_recommendation (store, session, &rec);
  rec.status = SM_RECOMMENDATION_APPLIED;
  rec.outcome = (char *) "Fragmentation 70 % → 0 %";
  rec.also_rules = (char *) "pool-pressure saturation";   /* asked for the same change */
  sm_store_add_recommendation (store, session, &rec);
  sm_store_end_session (store, session);
  sm_store_flush (store);

  sm_store_get_status (store, &status);
  g_assert_true (status.healthy);
  g_assert_cmpuint (status.committed, ==, 2000);
  sm_store_status_clear (&status);

  sessions = sm_store_list_sessions (store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sessions->len, ==, 1);
  g_assert_cmpstr (((SmSessionInfo *) g_ptr_array_index (sessions, 0))->model, ==, "preset micro");
  g_assert_cmpint (((SmSessionInfo *) g_ptr_array_index (sessions, 0))->samples, ==, 2000);
  g_assert_cmpint (((SmSessionInfo *) g_ptr_array_index (sessions, 0))->ended_ms, >, 0);

  /* Every sample, then ten buckets of 100 with their min, max and mean. */
  points = sm_store_read_metric (store, session, "test.ramp", 0, 250 * 999, 1000, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (points->len, ==, 1000);
  g_assert_cmpfloat (g_array_index (points, SmStorePoint, 700).mean, ==, 700);
  coarse = sm_store_read_metric (store, session, "test.square", 0, 250 * 999, 10, &error);
  g_assert_cmpuint (coarse->len, ==, 10);
  g_assert_cmpfloat (g_array_index (coarse, SmStorePoint, 3).min, ==, 300.0 * 300);
  g_assert_cmpfloat (g_array_index (coarse, SmStorePoint, 3).max, ==, 399.0 * 399);
  g_assert_cmpuint (g_array_index (coarse, SmStorePoint, 3).count, ==, 100);
  g_clear_pointer (&points, g_array_unref);
  points = sm_store_read_metric (store, session, "test.ramp", 250 * 300, 250 * 309, 1000, &error);
  g_assert_cmpuint (points->len, ==, 10);
  g_assert_cmpfloat (g_array_index (points, SmStorePoint, 0).mean, ==, 300);

  recs = sm_store_list_recommendations (store, session, &error);
  g_assert_cmpuint (recs->len, ==, 1);
  g_assert_cmpint (((SmRecommendation *) g_ptr_array_index (recs, 0))->status, ==, SM_RECOMMENDATION_APPLIED);
  g_assert_cmpstr (((SmRecommendation *) g_ptr_array_index (recs, 0))->outcome, ==, "Fragmentation 70 % → 0 %");
  g_assert_true (sm_recommendation_has_rule (g_ptr_array_index (recs, 0), "saturation"));
  g_assert_false (sm_recommendation_has_rule (g_ptr_array_index (recs, 0), "slow-peer"));

  g_assert_true (sm_store_export (store, session, "csv", csv_path, SM_STORE_EXPORT_NONE, NULL, NULL, &error));
  g_assert_true (g_file_get_contents (csv_path, &csv, NULL, NULL));
  for (const char *c = csv; *c; c++)
    count += *c == '\n';
  /* The header, the samples, then the event (issue 17, defect 4). */
  g_assert_cmpuint (count, ==, 2003);
  g_assert_true (g_str_has_prefix (csv, "session,metric,t_ms,value,detail\n"));
  g_assert_nonnull (strstr (csv, ",\"event.knob\",500,,\"threads 2 → 1\"\n"));
  g_assert_true (g_str_has_suffix (csv, ",\"event.note\",600,,\"'=1+1, \"\"quoted\"\"\"\n"));
  g_assert_true (sm_store_export (store, session, "json", json_path, SM_STORE_EXPORT_NONE, NULL, NULL, &error));
  g_assert_true (json_parser_load_from_file (parser, json_path, &error));
  g_assert_no_error (error);
  {
    JsonArray *recommendations = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)),
                                                               "recommendations");
    JsonArray *also = json_object_get_array_member (json_array_get_object_element (recommendations, 0), "also_rules");

    g_assert_cmpuint (json_array_get_length (also), ==, 2);
    g_assert_cmpstr (json_array_get_string_element (also, 1), ==, "saturation");
  }
  g_assert_false (sm_store_export (store, session, "xml", json_path, SM_STORE_EXPORT_OVERWRITE, NULL, NULL, &error));
  g_assert_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT);
  g_clear_error (&error);

  /* Progress along the way, and a stop that leaves the old file alone. */
  g_assert_true (sm_store_export (store, session, "csv", csv_path, SM_STORE_EXPORT_OVERWRITE,
                                  record_progress, fractions, &error));
  g_assert_cmpuint (fractions->len, ==, 2);
  g_assert_cmpfloat_with_epsilon (g_array_index (fractions, double, 0), 1024.0 / 2000, 1e-9);
  g_assert_cmpfloat (g_array_index (fractions, double, 1), ==, 1.0);
  g_assert_true (g_file_set_contents (csv_path, "keep", -1, NULL));
  g_assert_false (sm_store_export (store, session, "csv", csv_path, SM_STORE_EXPORT_OVERWRITE,
                                   stop_at_first, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_clear_pointer (&csv, g_free);
  g_assert_true (g_file_get_contents (csv_path, &csv, NULL, NULL));
  g_assert_cmpstr (csv, ==, "keep");

  /* Never over the database itself, even when told to replace: every
   * session would go. */
  for (const char * const *format = (const char * const[]) { "csv", "json", "sqlite", NULL }; *format != NULL; format++)
    {
      g_autoptr(GPtrArray) still = NULL;

      g_assert_false (sm_store_export (store, session, *format, path, SM_STORE_EXPORT_OVERWRITE, NULL, NULL, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
      still = sm_store_list_sessions (store, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (still->len, ==, 1);
    }

  /* The session as a database of its own: read back like any store,
   * never over an existing file unless asked, nothing left beside it. */
  {
    g_autofree char *db_path = g_strconcat (path, ".session.db", NULL);
    g_autofree char *dir = g_path_get_dirname (db_path);
    g_autoptr(SmStore) copy = NULL;
    g_autoptr(GPtrArray) copied = NULL, events = NULL, copied_recs = NULL, metrics = NULL;
    g_autoptr(GArray) copied_points = NULL;
    g_autoptr(GDir) listing = NULL;
    const char *name;

    g_assert_true (sm_store_export (store, session, "sqlite", db_path, SM_STORE_EXPORT_NONE, NULL, NULL, &error));
    g_assert_no_error (error);
    g_assert_false (sm_store_export (store, session, "sqlite", db_path, SM_STORE_EXPORT_NONE, NULL, NULL, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
    g_clear_error (&error);
    g_assert_true (sm_store_export (store, session, "sqlite", db_path, SM_STORE_EXPORT_OVERWRITE, NULL, NULL, &error));
    g_assert_no_error (error);
    listing = g_dir_open (dir, 0, NULL);
    while ((name = g_dir_read_name (listing)) != NULL)
      g_assert_null (strstr (name, ".partial-"));
    /* One file: no write-ahead log left beside it. */
    {
      g_autofree char *wal = g_strconcat (db_path, "-wal", NULL);

      g_assert_false (g_file_test (wal, G_FILE_TEST_EXISTS));
    }

    copy = sm_store_open (db_path, NULL, &error);
    g_assert_no_error (error);
    copied = sm_store_list_sessions (copy, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (copied->len, ==, 1);
    g_assert_cmpstr (((SmSessionInfo *) g_ptr_array_index (copied, 0))->name, ==, "test");
    g_assert_cmpint (((SmSessionInfo *) g_ptr_array_index (copied, 0))->samples, ==, 2000);
    copied_points = sm_store_read_metric (copy, session, "test.ramp", 0, 250 * 999, 1000, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (copied_points->len, ==, 1000);
    g_assert_cmpfloat (g_array_index (copied_points, SmStorePoint, 700).mean, ==, 700);
    events = sm_store_list_events (copy, session, &error);
    g_assert_cmpuint (events->len, ==, 2);
    copied_recs = sm_store_list_recommendations (copy, session, &error);
    g_assert_cmpuint (copied_recs->len, ==, 1);
    g_assert_cmpstr (((SmRecommendation *) g_ptr_array_index (copied_recs, 0))->outcome, ==, "Fragmentation 70 % → 0 %");
    metrics = sm_store_list_metrics (copy, session, "", &error);
    g_assert_cmpuint (metrics->len, ==, 2);
    g_clear_pointer (&copy, sm_store_free);
    for (const char * const *suffix = (const char * const[]) { "", "-wal", "-shm", NULL }; *suffix != NULL; suffix++)
      {
        g_autofree char *file = g_strconcat (db_path, *suffix, NULL);

        g_unlink (file);
      }
  }

  /* Renaming: trimmed, checked, and only an existing session. */
  g_assert_true (sm_store_rename_session (store, session, "  batch 64 vs 32  ", &error));
  g_assert_no_error (error);
  g_clear_pointer (&sessions, g_ptr_array_unref);
  sessions = sm_store_list_sessions (store, NULL);
  g_assert_cmpstr (((SmSessionInfo *) g_ptr_array_index (sessions, 0))->name, ==, "batch 64 vs 32");
  g_assert_false (sm_store_rename_session (store, session, "   ", &error));
  g_assert_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT);
  g_clear_error (&error);
  g_assert_false (sm_store_rename_session (store, session + 1000, "x", &error));
  g_assert_nonnull (strstr (error->message, "no session"));
  g_clear_error (&error);

  /* Deleting takes its samples and recommendations along. */
  g_assert_true (sm_store_delete_session (store, session, &error));
  g_clear_pointer (&sessions, g_ptr_array_unref);
  sessions = sm_store_list_sessions (store, NULL);
  g_assert_cmpuint (sessions->len, ==, 0);
  g_clear_pointer (&points, g_array_unref);
  points = sm_store_read_metric (store, session, "test.ramp", 0, 1000000, 100, NULL);
  g_assert_cmpuint (points->len, ==, 0);
  g_assert_false (sm_store_delete_session (store, session, &error));
  g_assert_true (integrity (path));
}

static void
read_done (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  GArray **out = user_data;
  g_autoptr(GError) error = NULL;

  *out = sm_store_read_metric_finish (NULL, result, &error);
  g_assert_no_error (error);
}

static void
list_done (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  GPtrArray **out = user_data;
  g_autoptr(GError) error = NULL;

  *out = sm_store_list_finish (NULL, result, &error);
  g_assert_no_error (error);
}

static void
cancelled_done (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  gboolean *done = user_data;
  g_autoptr(GError) error = NULL;

  g_assert_null (sm_store_list_finish (NULL, result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  *done = TRUE;
}

/* The UI reads off its main thread and gets the answer back on it. */
static void
test_store_async_read (void)
{
  g_autofree char *path = temp_db ();
  g_autoptr(SmMonitor) monitor = test_monitor ();
  g_autoptr(SmStore) store = sm_store_open (path, NULL, NULL);
  gint64 session = sm_store_begin_session (store, "async", "m", "{}", NULL);
  GArray *points = NULL;

  feed (store, session, monitor, 0, 40);
  sm_store_flush (store);
  sm_store_read_metric_async (store, session, "test.ramp", 0, 10000, 5, NULL, read_done, &points);
  while (points == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (points->len, ==, 5);
  g_array_unref (points);

  {
    GPtrArray *sessions = NULL;
    g_autoptr(GCancellable) cancellable = g_cancellable_new ();
    gboolean done = FALSE;

    sm_store_list_sessions_async (store, NULL, list_done, &sessions);
    while (sessions == NULL)
      g_main_context_iteration (NULL, TRUE);
    g_assert_cmpuint (sessions->len, ==, 1);
    g_ptr_array_unref (sessions);

    g_cancellable_cancel (cancellable);
    sm_store_list_recommendations_async (store, session, cancellable, cancelled_done, &done);
    while (!done)
      g_main_context_iteration (NULL, TRUE);
  }
}

static void
store_result (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static GAsyncResult *
wait_result (GAsyncResult **result)
{
  while (*result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *result;
}

static gboolean
count_progress (double   fraction,
                gpointer user_data)
{
  g_assert_cmpfloat (fraction, >=, 0);
  g_assert_cmpfloat (fraction, <=, 1);
  (*(guint *) user_data)++;
  return TRUE;
}

/* What the Sessions page does off its main thread: compare, rename,
 * export (with progress, and cancelled), delete; and the store outlives a
 * task still running when it is freed. */
static void
test_store_async_changes (void)
{
  g_autofree char *path = temp_db ();
  g_autofree char *csv = g_strconcat (path, ".csv", NULL);
  g_autoptr(SmMonitor) monitor = test_monitor ();
  SmStore *store = sm_store_open (path, NULL, NULL);
  gint64 a = sm_store_begin_session (store, "a", "m", "{}", NULL);
  gint64 b = sm_store_begin_session (store, "b", "m", "{}", NULL);
  const char * const metrics[] = { "test.ramp", "test.none", NULL };
  g_autoptr(GError) error = NULL;
  GAsyncResult *result = NULL;
  GPtrArray *list = NULL;

  feed (store, a, monitor, 0, 40);
  feed (store, b, monitor, 0, 20);
  sm_store_flush (store);

  {
    g_autoptr(GPtrArray) points_a = NULL, points_b = NULL;

    sm_store_compare_async (store, a, b, metrics, 10, NULL, store_result, &result);
    g_assert_true (sm_store_compare_finish (store, wait_result (&result), &points_a, &points_b, &error));
    g_assert_no_error (error);
    g_clear_object (&result);
    g_assert_cmpuint (points_a->len, ==, 2);
    g_assert_cmpuint (points_b->len, ==, 2);
    g_assert_nonnull (g_ptr_array_index (points_a, 0));
    g_assert_cmpuint (((GArray *) g_ptr_array_index (points_a, 0))->len, ==,
                      ((GArray *) g_ptr_array_index (points_b, 0))->len);
    /* Neither session has it: a row without figures, not a failure. */
    g_assert_null (g_ptr_array_index (points_a, 1));
    g_assert_null (g_ptr_array_index (points_b, 1));
  }

  sm_store_rename_session_async (store, b, "  renamed ", NULL, store_result, &result);
  g_assert_true (sm_store_rename_session_finish (store, wait_result (&result), &error));
  g_assert_no_error (error);
  g_clear_object (&result);
  sm_store_rename_session_async (store, b, "   ", NULL, store_result, &result);
  g_assert_false (sm_store_rename_session_finish (store, wait_result (&result), &error));
  g_assert_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT);
  g_clear_error (&error);
  g_clear_object (&result);

  {
    guint reports = 0;
    g_autofree char *text = NULL;
    g_autoptr(GCancellable) cancellable = g_cancellable_new ();

    sm_store_export_async (store, a, "csv", csv, SM_STORE_EXPORT_NONE, count_progress, &reports, NULL,
                           store_result, &result);
    g_assert_true (sm_store_export_finish (store, wait_result (&result), &error));
    g_assert_no_error (error);
    g_clear_object (&result);
    g_assert_true (g_file_get_contents (csv, &text, NULL, NULL));
    g_assert_true (g_str_has_prefix (text, "session,metric,t_ms,value,detail\n"));
    g_assert_cmpuint (reports, >=, 1);

    /* Cancelled: the file as it was. */
    g_cancellable_cancel (cancellable);
    sm_store_export_async (store, b, "json", csv, SM_STORE_EXPORT_OVERWRITE, count_progress, &reports, cancellable,
                           store_result, &result);
    g_assert_false (sm_store_export_finish (store, wait_result (&result), &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    g_clear_error (&error);
    g_clear_object (&result);
    {
      g_autofree char *again = NULL;

      g_assert_true (g_file_get_contents (csv, &again, NULL, NULL));
      g_assert_cmpstr (again, ==, text);
    }
  }

  sm_store_delete_session_async (store, a, NULL, store_result, &result);
  g_assert_true (sm_store_delete_session_finish (store, wait_result (&result), &error));
  g_assert_no_error (error);
  g_clear_object (&result);

  /* Freed while a read runs: the read ends first, and answers. */
  sm_store_list_sessions_async (store, NULL, list_done, &list);
  sm_store_free (store);
  while (list == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (list->len, ==, 1);
  g_assert_cmpstr (((SmSessionInfo *) g_ptr_array_index (list, 0))->name, ==, "renamed");
  g_ptr_array_unref (list);
  g_unlink (csv);
}

/* Schema 1 as version 0.1.0 wrote it: a fixture that must never change. */
static const char schema_1[] =
  "CREATE TABLE sessions (id INTEGER PRIMARY KEY, name TEXT NOT NULL, started_ms INTEGER NOT NULL,"
  "  ended_ms INTEGER, host TEXT, cpu TEXT, model TEXT, config TEXT);"
  "CREATE TABLE metrics (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, name TEXT NOT NULL,"
  "  unit TEXT NOT NULL, kind INTEGER NOT NULL);"
  "CREATE TABLE samples (session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,"
  "  metric_id INTEGER NOT NULL REFERENCES metrics (id), t0_ms INTEGER NOT NULL, n INTEGER NOT NULL,"
  "  data BLOB NOT NULL, PRIMARY KEY (session_id, metric_id, t0_ms)) WITHOUT ROWID;"
  "CREATE TABLE events (id INTEGER PRIMARY KEY, session_id INTEGER NOT NULL REFERENCES sessions (id)"
  "  ON DELETE CASCADE, t_ms INTEGER NOT NULL, kind TEXT NOT NULL, detail TEXT);"
  "CREATE INDEX events_by_session ON events (session_id, t_ms);"
  "CREATE TABLE recommendations (session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,"
  "  number INTEGER NOT NULL, t_ms INTEGER NOT NULL, rule TEXT NOT NULL, severity TEXT NOT NULL,"
  "  title TEXT NOT NULL, evidence TEXT, expected TEXT, action TEXT, knob INTEGER, old_value REAL,"
  "  new_value REAL, status TEXT NOT NULL CHECK (status IN ('open', 'applied', 'dismissed', 'reverted')),"
  "  outcome TEXT, worse INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (session_id, number));"
  "INSERT INTO sessions (name, started_ms, ended_ms) VALUES ('from 0.1.0', 1, 2);"
  "PRAGMA user_version = 1;";

/* From every earlier schema — 0 (an empty file) and 1 — to the latest,
 * keeping what was recorded. */
static void
test_store_migrate_from_1 (void)
{
  g_autofree char *path = temp_db ();
  g_autoptr(GPtrArray) sessions = NULL;
  SmStore *store;
  sqlite3 *db;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, schema_1, NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);

  store = sm_store_open (path, NULL, NULL);
  g_assert_nonnull (store);
  sessions = sm_store_list_sessions (store, NULL);
  g_assert_cmpuint (sessions->len, ==, 1);
  g_assert_cmpstr (((SmSessionInfo *) g_ptr_array_index (sessions, 0))->name, ==, "from 0.1.0");
  /* And the new column works: retention may thin it. */
  g_assert_true (sm_store_apply_retention (store, 1, 0, 10000, NULL, NULL, NULL));
  sm_store_free (store);
}

static void
test_store_migrate (void)
{
  g_autofree char *path = temp_db ();
  sqlite3 *db;
  sqlite3_stmt *stmt;
  SmStore *store;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, "PRAGMA user_version = 0; CREATE TABLE unrelated (x);", NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);

  store = sm_store_open (path, NULL, NULL);
  g_assert_nonnull (store);
  sm_store_free (store);

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "PRAGMA user_version", -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpint (sqlite3_column_int (stmt, 0), ==, SM_STORE_SCHEMA_VERSION);
  sqlite3_finalize (stmt);
  sqlite3_close (db);

}

static void
check_recovers (const char *path,
                const char *expected_contents,
                gsize       length)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *recovered = NULL, *aside = NULL, *contents = NULL;
  g_autoptr(SmStore) store = sm_store_open (path, &recovered, &error);
  const char *at;
  gsize aside_length;

  g_assert_no_error (error);
  g_assert_nonnull (store);
  g_assert_nonnull (recovered);
  g_test_message ("%s", recovered);
  at = strstr (recovered, "kept at ");
  g_assert_nonnull (at);
  aside = g_strndup (at + 8, strcspn (at + 8, ";"));
  g_assert_true (strstr (aside, ".corrupt-") != NULL);
  /* Kept, byte for byte. */
  g_assert_true (g_file_get_contents (aside, &contents, &aside_length, NULL));
  g_assert_cmpmem (contents, aside_length, expected_contents, length);
  g_assert_cmpint (sm_store_begin_session (store, "fresh", "m", "{}", NULL), ==, 1);
}

static void
test_store_corruption (void)
{
  g_autofree char *path = temp_db ();
  g_autofree char *garbage = g_strnfill (10000, 'x');
  g_autofree char *path2 = temp_db ();
  g_autofree char *good = NULL;
  gsize length;

  g_assert_true (g_file_set_contents (path, garbage, 10000, NULL));
  check_recovers (path, garbage, 10000);

  /* A real database cut in half. */
  {
    g_autoptr(SmMonitor) monitor = test_monitor ();
    g_autoptr(SmStore) store = sm_store_open (path2, NULL, NULL);
    gint64 session = sm_store_begin_session (store, "big", "m", "{}", NULL);

    feed (store, session, monitor, 0, 3000);
  }
  {
    sqlite3 *db;

    /* Fold the WAL in, so that the main file holds the data. */
    sqlite3_open (path2, &db);
    sqlite3_exec (db, "PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE;", NULL, NULL, NULL);
    sqlite3_close (db);
  }
  g_assert_true (g_file_get_contents (path2, &good, &length, NULL));
  g_assert_true (g_file_set_contents (path2, good, (gssize) length / 2, NULL));
  check_recovers (path2, good, length / 2);
}

/* The four bytes at offset 60 of the header are user_version, signed: a
 * negative one (0x80 in the first byte) indexed the migrations, a newer one
 * was refused outright.  Both are files this build cannot read, kept aside
 * byte for byte like a damaged one, and a new database is started. */
static void
check_version_kept (const guint8 version_bytes[4])
{
  g_autofree char *path = temp_db ();
  g_autofree char *contents = NULL;
  gsize length;

  {
    g_autoptr(SmMonitor) monitor = test_monitor ();
    g_autoptr(SmStore) store = sm_store_open (path, NULL, NULL);
    gint64 session = sm_store_begin_session (store, "old", "m", "{}", NULL);

    feed (store, session, monitor, 0, 10);
  }
  {
    sqlite3 *db;

    sqlite3_open (path, &db);
    sqlite3_exec (db, "PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE;", NULL, NULL, NULL);
    sqlite3_close (db);
  }
  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  memcpy (contents + 60, version_bytes, 4);
  g_assert_true (g_file_set_contents (path, contents, (gssize) length, NULL));
  check_recovers (path, contents, length);
}

static void
test_store_unknown_version (void)
{
  check_version_kept ((const guint8[]) { 0x80, 0, 0, 0 });
  check_version_kept ((const guint8[]) { 0xff, 0xff, 0xff, 0xff });
  check_version_kept ((const guint8[]) { 0, 0, 0, SM_STORE_SCHEMA_VERSION + 1 });
  check_version_kept ((const guint8[]) { 0x7f, 0xff, 0xff, 0xff });
}

/* Two damaged files kept within the same second: the second copy must not
 * overwrite the first. */
static void
test_store_kept_twice (void)
{
  g_autofree char *path = temp_db ();
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr(GDir) d = NULL;
  const char *name;
  guint kept = 0;
  gboolean seen[2] = { FALSE, FALSE };

  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *garbage = g_strnfill (5000, i == 0 ? 'a' : 'b');
      g_autoptr(SmStore) store = NULL;
      g_autofree char *recovered = NULL;

      g_assert_true (g_file_set_contents (path, garbage, -1, NULL));
      store = sm_store_open (path, &recovered, NULL);
      g_assert_nonnull (store);
      g_assert_nonnull (recovered);
    }

  d = g_dir_open (dir, 0, NULL);
  while ((name = g_dir_read_name (d)) != NULL)
    if (strstr (name, ".corrupt-") != NULL && !g_str_has_suffix (name, "-wal") && !g_str_has_suffix (name, "-shm"))
      {
        g_autofree char *kept_path = g_build_filename (dir, name, NULL);
        g_autofree char *contents = NULL;

        g_assert_true (g_file_get_contents (kept_path, &contents, NULL, NULL));
        seen[contents[0] == 'b'] = TRUE;
        kept++;
      }
  g_assert_cmpuint (kept, ==, 2);
  g_assert_true (seen[0] && seen[1]);
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return g_strcmp0 (*(char * const *) a, *(char * const *) b);
}

/* The names in @dir, sorted, joined with spaces: what an export left. */
static char *
list_dir (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  while ((name = g_dir_read_name (d)) != NULL)
    if (!g_str_has_prefix (name, "synmesh.db"))
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (" ", (char **) names->pdata);
}

/* An export replaces only a regular file, and only when allowed; a FIFO,
 * a symlink or a device is never replaced; nothing temporary stays. */
static void
test_store_export_destinations (void)
{
  g_autofree char *path = temp_db ();
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *existing = g_build_filename (dir, "existing.csv", NULL);
  g_autofree char *fifo = g_build_filename (dir, "fifo", NULL);
  g_autofree char *target = g_build_filename (dir, "target", NULL);
  g_autofree char *link = g_build_filename (dir, "link", NULL);
  g_autofree char *missing = g_build_filename (dir, "no-such-dir", "x.csv", NULL);
  g_autofree char *fresh = g_build_filename (dir, "fresh.json", NULL);
  g_autoptr(SmMonitor) monitor = test_monitor ();
  g_autoptr(SmStore) store = sm_store_open (path, NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL, *names = NULL;
  gint64 session = sm_store_begin_session (store, "dest", "m", "{}", NULL);
  GStatBuf st;

  feed (store, session, monitor, 0, 20);
  sm_store_flush (store);

  g_assert_true (g_file_set_contents (existing, "keep", -1, NULL));
  g_assert_false (sm_store_export (store, session, "csv", existing, SM_STORE_EXPORT_NONE, NULL, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_clear_error (&error);
  g_assert_true (g_file_get_contents (existing, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "keep");
  g_clear_pointer (&contents, g_free);
  g_assert_true (sm_store_export (store, session, "csv", existing, SM_STORE_EXPORT_OVERWRITE, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (existing, &contents, NULL, NULL));
  g_assert_true (g_str_has_prefix (contents, "session,metric"));

  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  g_assert_false (sm_store_export (store, session, "csv", fifo, SM_STORE_EXPORT_OVERWRITE, NULL, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE);
  g_clear_error (&error);
  g_assert_cmpint (g_lstat (fifo, &st), ==, 0);
  g_assert_true (S_ISFIFO (st.st_mode));

  g_assert_true (g_file_set_contents (target, "target", -1, NULL));
  g_assert_cmpint (symlink (target, link), ==, 0);
  g_assert_false (sm_store_export (store, session, "json", link, SM_STORE_EXPORT_OVERWRITE, NULL, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE);
  g_clear_error (&error);
  g_assert_cmpint (g_lstat (link, &st), ==, 0);
  g_assert_true (S_ISLNK (st.st_mode));
  g_clear_pointer (&contents, g_free);
  g_assert_true (g_file_get_contents (target, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "target");

  /* A device node: only where the test cannot harm one (not as root). */
  if (geteuid () != 0)
    {
      g_assert_false (sm_store_export (store, session, "csv", "/dev/null", SM_STORE_EXPORT_OVERWRITE,
                                       NULL, NULL, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE);
      g_clear_error (&error);
    }

  g_assert_false (sm_store_export (store, session, "csv", missing, SM_STORE_EXPORT_NONE, NULL, NULL, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_true (sm_store_export (store, session, "json", fresh, SM_STORE_EXPORT_NONE, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (sm_store_export (store, session, "json", fresh, SM_STORE_EXPORT_NONE, stop_at_first, NULL, &error));
  g_clear_error (&error);

  /* Nothing but what was asked for: no DEST.XXXXXX left by any failure. */
  names = list_dir (dir);
  g_assert_cmpstr (names, ==, "existing.csv fifo fresh.json link target");
}

static char *
python3_strict_check (const char *path)
{
  g_autofree char *python = g_find_program_in_path ("python3");
  g_autofree char *out = NULL, *err = NULL;
  int status = 0;
  const char *argv[] = {
    NULL, "-c",
    "import json, sys\n"
    "def bad(c): raise ValueError('not JSON: ' + c)\n"
    "json.load(open(sys.argv[1]), parse_constant=bad)\n",
    path, NULL,
  };

  if (python == NULL)
    return NULL;
  argv[0] = python;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, NULL));
  return g_spawn_check_wait_status (status, NULL) ? g_strdup ("ok") : g_strdup (err);
}

/* The JSON export is the whole record — events and every field of the
 * recommendations — and valid JSON: non-finite values are null. */
static void
test_store_export_json_complete (void)
{
  g_autofree char *path = temp_db ();
  g_autofree char *json_path = g_strconcat (path, ".json", NULL);
  g_autoptr(SmMonitor) monitor = test_monitor ();
  g_autoptr(SmStore) store = sm_store_open (path, NULL, NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *checked = NULL;
  SmRecommendation rec = { .id = 3, .rule = "cache-hit-rate", .severity = SM_SEVERITY_CRITICAL,
                           .title = (char *) "Cache", .evidence = (char *) "10 %", .expected = (char *) "more hits",
                           .action = (char *) "Cache 4096", .knob = SM_KNOB_CACHE_SIZE, .old_value = 0,
                           .new_value = 4096, .status = SM_RECOMMENDATION_APPLIED, .fired_ms = 750,
                           .outcome = (char *) "hits 10 % → 60 %", .worse = TRUE };
  gint64 session = sm_store_begin_session (store, "complete", "m", "{}", NULL);
  JsonObject *root, *r;
  JsonArray *events, *metrics, *samples;
  guint nulls = 0;

  feed (store, session, monitor, 0, 4);
  ramp = INFINITY;   /* test.ramp and test.square: +inf */
  {
    SmMonitorSnapshot *snapshot = sm_monitor_tick (monitor);

    snapshot->t_ms = 1000;
    sm_store_add_snapshot (store, session, monitor, snapshot);
    sm_monitor_snapshot_unref (snapshot);
  }
  sm_store_add_event (store, session, 0, "model", "preset micro");
  sm_store_add_event (store, session, 500, "peer", "joined b");
  sm_store_add_recommendation (store, session, &rec);
  rec.id = 4;
  rec.old_value = NAN;
  rec.new_value = -INFINITY;
  sm_store_add_recommendation (store, session, &rec);
  sm_store_end_session (store, session);
  sm_store_flush (store);

  g_assert_true (sm_store_export (store, session, "json", json_path, SM_STORE_EXPORT_NONE, NULL, NULL, &error));
  g_assert_no_error (error);

  checked = python3_strict_check (json_path);
  if (checked == NULL)
    g_test_message ("python3 not found: strict check by json-glib only");
  else
    g_assert_cmpstr (checked, ==, "ok");
  json_parser_load_from_file (parser, json_path, &error);
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));

  events = json_object_get_array_member (root, "events");
  g_assert_cmpuint (json_array_get_length (events), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (events, 1), "kind"), ==, "peer");
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (events, 1), "t_ms"), ==, 500);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (events, 1), "detail"), ==, "joined b");

  r = json_array_get_object_element (json_object_get_array_member (root, "recommendations"), 0);
  g_assert_cmpint (json_object_get_int_member (r, "number"), ==, 3);
  g_assert_cmpint (json_object_get_int_member (r, "t_ms"), ==, 750);
  g_assert_cmpstr (json_object_get_string_member (r, "severity"), ==, "critical");
  g_assert_cmpstr (json_object_get_string_member (r, "expected"), ==, "more hits");
  g_assert_cmpstr (json_object_get_string_member (r, "knob"), ==, "cache_size");
  g_assert_cmpfloat (json_object_get_double_member (r, "old_value"), ==, 0);
  g_assert_cmpfloat (json_object_get_double_member (r, "new_value"), ==, 4096);
  g_assert_cmpstr (json_object_get_string_member (r, "status"), ==, "applied");
  g_assert_true (json_object_get_boolean_member (r, "worse"));
  r = json_array_get_object_element (json_object_get_array_member (root, "recommendations"), 1);
  g_assert_true (json_object_get_null_member (r, "old_value"));
  g_assert_true (json_object_get_null_member (r, "new_value"));

  metrics = json_object_get_array_member (root, "metrics");
  g_assert_cmpuint (json_array_get_length (metrics), ==, 2);
  for (guint m = 0; m < 2; m++)
    {
      samples = json_object_get_array_member (json_array_get_object_element (metrics, m), "samples");
      g_assert_cmpuint (json_array_get_length (samples), ==, 5);
      for (guint i = 0; i < 5; i++)
        nulls += JSON_NODE_HOLDS_NULL (json_array_get_element (json_array_get_array_element (samples, i), 1));
    }
  g_assert_cmpuint (nulls, ==, 2);
}

/* A full disk: writes fail, the state says so, memory stays bounded, and
 * everything is written once there is room again. */
static void
test_store_disk_full (void)
{
  g_autofree char *path = temp_db ();
  g_autoptr(SmMonitor) monitor = test_monitor ();
  g_autoptr(SmStore) store = sm_store_open (path, NULL, NULL);
  gint64 session = sm_store_begin_session (store, "full", "m", "{}", NULL);
  SmStoreStatus status;

  feed (store, session, monitor, 0, 10);
  sm_store_flush (store);
  sm_store_set_max_pages (store, 1);    /* at or below the current size: nothing more fits */
  feed (store, session, monitor, 10, 2000);
  sm_store_flush (store);

  sm_store_get_status (store, &status);
  g_test_message ("while full: %s", status.error);
  g_assert_false (status.healthy);
  g_assert_nonnull (strstr (status.error, "full"));
  g_assert_cmpuint (status.buffered, >, 0);
  g_assert_cmpuint (status.committed, ==, 20);
  sm_store_status_clear (&status);

  sm_store_set_max_pages (store, 1000000);
  sm_store_flush (store);
  sm_store_get_status (store, &status);
  g_assert_true (status.healthy);
  g_assert_cmpuint (status.committed, ==, 2 * 2010);
  g_assert_cmpuint (status.dropped, ==, 0);
  sm_store_status_clear (&status);
  g_assert_true (integrity (path));
}

/* The start of the first chunk of samples committed to @path, or -1 while
 * none is (read as another process writes: a busy timeout, as the
 * product's readers have). */
static gint64
first_committed_ms (const char *path)
{
  sqlite3 *db;
  sqlite3_stmt *stmt;
  gint64 t0 = -1;

  if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
    {
      sqlite3_close (db);
      return -1;
    }
  sqlite3_busy_timeout (db, 5000);
  if (sqlite3_prepare_v2 (db, "SELECT min (t0_ms) FROM samples", -1, &stmt, NULL) == SQLITE_OK)
    {
      if (sqlite3_step (stmt) == SQLITE_ROW && sqlite3_column_type (stmt, 0) != SQLITE_NULL)
        t0 = sqlite3_column_int64 (stmt, 0);
      sqlite3_finalize (stmt);
    }
  sqlite3_close (db);
  return t0;
}

/* SIGKILL in the middle of a session: the file is intact and holds all but
 * the last second.  The clock starts at the first commit, not at the
 * spawn: start-up under a sanitizer on a loaded machine takes seconds. */
static void
test_store_crash (void)
{
  g_autofree char *path = temp_db ();
  const char *binary = g_getenv ("SYNMESH_BIN");
  g_autoptr(GSubprocess) child = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(SmStore) store = NULL;
  g_autoptr(GPtrArray) sessions = NULL;
  g_autoptr(GArray) points = NULL;
  gint64 first = -1, last = 0, deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  child = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error,
                            binary, "run", "--db", path, "--rate", "300", "--refresh-ms", "100", NULL);
  g_assert_no_error (error);
  while ((first = first_committed_ms (path)) < 0 && g_get_monotonic_time () < deadline)
    g_usleep (50000);
  g_assert_cmpint (first, >=, 0);
  g_usleep (2500000);
  g_subprocess_send_signal (child, SIGKILL);
  g_subprocess_wait (child, NULL, NULL);

  g_assert_true (integrity (path));
  store = sm_store_open (path, NULL, &error);
  g_assert_no_error (error);
  sessions = sm_store_list_sessions (store, &error);
  g_assert_cmpuint (sessions->len, ==, 1);
  g_assert_cmpint (((SmSessionInfo *) g_ptr_array_index (sessions, 0))->ended_ms, ==, 0);

  points = sm_store_read_metric (store, 1, "engine.throughput", 0, 1000000, 100000, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (points->len, >, 0);
  last = g_array_index (points, SmStorePoint, points->len - 1).t_ms;
  g_test_message ("samples from %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT " ms; killed 2500 ms after the first "
                  "commit", first, last);
  /* Commits come every second: of the 2.5 s recorded since, at most the
   * last second (and a commit's own time) is lost. */
  g_assert_cmpint (last, >=, first + 1000);
}

/* How many sessions in @path have samples committed, and the fewest any
 * of them has; 0 while the file or its tables are not there yet. */
static guint
sessions_recorded (const char *path,
                   gint64     *fewest)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  guint sessions = 0;

  *fewest = 0;
  if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK
      && sqlite3_prepare_v2 (db, "SELECT count (*), min (total) FROM "
                             "(SELECT sum (n) AS total FROM samples GROUP BY session_id)", -1, &stmt, NULL) == SQLITE_OK
      && sqlite3_step (stmt) == SQLITE_ROW)
    {
      sessions = (guint) sqlite3_column_int (stmt, 0);
      *fewest = sqlite3_column_int64 (stmt, 1);
    }
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return sessions;
}

/* Two processes recording into one database at once, each until both
 * have committed 500 samples (however slow the machine: ASan), then
 * interrupted as a user would. */
static void
test_store_two_processes (void)
{
  g_autofree char *path = temp_db ();
  const char *binary = g_getenv ("SYNMESH_BIN");
  g_autoptr(GSubprocess) a = NULL, b = NULL;
  g_autoptr(SmStore) store = NULL;
  g_autoptr(GPtrArray) sessions = NULL;
  gint64 deadline = g_get_monotonic_time () + 120 * G_USEC_PER_SEC, fewest = 0;

  a = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE, NULL,
                        binary, "run", "--db", path, "--duration", "300", "--rate", "300", "--refresh-ms", "100", NULL);
  b = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE, NULL,
                        binary, "run", "--db", path, "--duration", "300", "--rate", "300", "--refresh-ms", "100", NULL);
  while ((sessions_recorded (path, &fewest) < 2 || fewest <= 500) && g_get_monotonic_time () < deadline)
    g_usleep (100000);
  g_subprocess_send_signal (a, SIGINT);
  g_subprocess_send_signal (b, SIGINT);
  for (guint i = 0; i < 2; i++)
    {
      GSubprocess *p = i == 0 ? a : b;
      g_autofree char *err = NULL;

      g_subprocess_communicate_utf8 (p, NULL, NULL, NULL, &err, NULL);
      if (!g_subprocess_get_successful (p))
        g_error ("process %u failed: %s", i, err);
    }

  g_assert_true (integrity (path));
  store = sm_store_open (path, NULL, NULL);
  sessions = sm_store_list_sessions (store, NULL);
  g_assert_cmpuint (sessions->len, ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      g_assert_cmpint (((SmSessionInfo *) g_ptr_array_index (sessions, i))->ended_ms, >, 0);
      g_assert_cmpint (((SmSessionInfo *) g_ptr_array_index (sessions, i))->samples, >, 500);
    }
}

static void
test_store_compare (void)
{
  g_autofree char *path = temp_db ();
  g_autoptr(SmMonitor) monitor = test_monitor ();
  g_autoptr(SmStore) store = sm_store_open (path, NULL, NULL);
  g_autoptr(GArray) a = NULL, b = NULL;
  g_autoptr(GError) error = NULL;
  gint64 first = sm_store_begin_session (store, "long", "m", "{}", NULL);
  gint64 second;

  feed (store, first, monitor, 0, 1000);
  second = sm_store_begin_session (store, "short", "m", "{}", NULL);
  feed (store, second, monitor, 0, 600);
  sm_store_flush (store);

  /* Aligned from their starts, over the shorter session. */
  g_assert_true (sm_store_compare (store, first, second, "test.ramp", 60, &a, &b, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (a->len, ==, 60);
  g_assert_cmpuint (b->len, ==, 60);
  for (guint i = 0; i < 60; i++)
    g_assert_cmpfloat (g_array_index (a, SmStorePoint, i).mean, ==, g_array_index (b, SmStorePoint, i).mean);

  g_assert_false (sm_store_compare (store, first, 99, "test.ramp", 10, &a, &b, &error));
  g_assert_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT);
}

/* Old sessions are thinned before any is deleted; the size limit deletes
 * the oldest, never the newest. */
static void
test_store_retention (void)
{
  g_autofree char *path = temp_db ();
  g_autoptr(SmMonitor) monitor = test_monitor ();
  g_autoptr(SmStore) store = sm_store_open (path, NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) points = NULL;
  g_autoptr(GPtrArray) sessions = NULL;
  guint thinned, deleted;
  sqlite3 *db;

  for (guint s = 0; s < 3; s++)
    {
      gint64 session = sm_store_begin_session (store, "old", "m", "{}", NULL);

      feed (store, session, monitor, 0, 2000);   /* 500 s at 4 Hz */
      sm_store_end_session (store, session);
    }
  sm_store_flush (store);
  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 5000);
  g_assert_cmpint (sqlite3_exec (db, "UPDATE sessions SET ended_ms = ended_ms - 40 * 86400000 WHERE id < 3",
                                 NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);

  g_assert_true (sm_store_apply_retention (store, 30, 0, 10000, &thinned, &deleted, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (thinned, ==, 2);
  g_assert_cmpuint (deleted, ==, 0);

  /* One mean per 10 s: 50 samples of the ramp, 39.5 … the first of them. */
  points = sm_store_read_metric (store, 1, "test.ramp", 0, 1000000, 100000, &error);
  g_assert_cmpuint (points->len, ==, 50);
  g_assert_cmpfloat (g_array_index (points, SmStorePoint, 0).mean, ==, 19.5);
  g_clear_pointer (&points, g_array_unref);
  points = sm_store_read_metric (store, 3, "test.ramp", 0, 1000000, 100000, &error);
  g_assert_cmpuint (points->len, ==, 2000);   /* the recent one keeps every sample */

  /* Thinning is done once. */
  g_assert_true (sm_store_apply_retention (store, 30, 0, 10000, &thinned, &deleted, &error));
  g_assert_cmpuint (thinned, ==, 0);

  g_assert_true (sm_store_apply_retention (store, 0, 4096, 10000, &thinned, &deleted, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (deleted, ==, 2);
  sessions = sm_store_list_sessions (store, NULL);
  g_assert_cmpuint (sessions->len, ==, 1);
  g_assert_cmpint (((SmSessionInfo *) g_ptr_array_index (sessions, 0))->id, ==, 3);
  g_assert_true (integrity (path));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/engine/store/round-trip", test_store_round_trip);
  g_test_add_func ("/engine/store/async-read", test_store_async_read);
  g_test_add_func ("/engine/store/async-changes", test_store_async_changes);
  g_test_add_func ("/engine/store/migrate", test_store_migrate);
  g_test_add_func ("/engine/store/migrate-from-1", test_store_migrate_from_1);
  g_test_add_func ("/engine/store/compare", test_store_compare);
  g_test_add_func ("/engine/store/retention", test_store_retention);
  g_test_add_func ("/engine/store/corruption", test_store_corruption);
  g_test_add_func ("/engine/store/unknown-version", test_store_unknown_version);
  g_test_add_func ("/engine/store/kept-twice", test_store_kept_twice);
  g_test_add_func ("/engine/store/export-destinations", test_store_export_destinations);
  g_test_add_func ("/engine/store/export-json-complete", test_store_export_json_complete);
  g_test_add_func ("/engine/store/disk-full", test_store_disk_full);
  g_test_add_func ("/engine/store/crash", test_store_crash);
  g_test_add_func ("/engine/store/two-processes", test_store_two_processes);

  return g_test_run ();
}
