/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <signal.h>
#include <string.h>
#include <sqlite3.h>
#include <json-glib/json-glib.h>

#include "gtk-test-util.h"
#include "sm-comparison.h"
#include "sm-recorder.h"
#include "sm-session.h"
#include "sm-store.h"

/* A session looks the same whoever recorded it: one run through
 * `synmesh run`, one through the app's session, into one database; both
 * have the same configuration keys, start at time 0, carry the model event
 * at 0, and compare the same way from the CLI and from the store (the rule
 * the Sessions page shows). */

#define RATE "300"

/* Throughput samples committed to the newest session of @db, once it
 * holds @sessions sessions; 0 before.  Each recording goes on until it has
 * enough (however slow the machine: ASan), not for a fixed time. */
#define SAMPLES_WANTED 12

static gint64
throughput_samples (const char *db,
                    guint       sessions)
{
  sqlite3 *handle = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 n = 0;

  if (sqlite3_open_v2 (db, &handle, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK
      && sqlite3_prepare_v2 (handle, "SELECT coalesce (sum (n), 0) FROM samples JOIN metrics ON metrics.id = metric_id "
                             "WHERE key = 'engine.throughput' AND session_id = (SELECT max (id) FROM sessions) "
                             "AND (SELECT count (*) FROM sessions) = ?", -1, &stmt, NULL) == SQLITE_OK)
    {
      sqlite3_bind_int (stmt, 1, (int) sessions);
      if (sqlite3_step (stmt) == SQLITE_ROW)
        n = sqlite3_column_int64 (stmt, 0);
    }
  sqlite3_finalize (stmt);
  sqlite3_close (handle);
  return n;
}

static void
record_with_cli (const char *db)
{
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL, *err = NULL;
  gint64 deadline = g_get_monotonic_time () + 120 * G_USEC_PER_SEC;

  process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error,
                              g_getenv ("SYNMESH_BIN"), "run", "--duration", "300", "--rate", RATE,
                              "--refresh-ms", "100", "--threads", "1", "--db", db, NULL);
  g_assert_no_error (error);
  while (throughput_samples (db, 1) < SAMPLES_WANTED && g_get_monotonic_time () < deadline)
    g_usleep (100000);
  g_subprocess_send_signal (process, SIGINT);
  g_subprocess_communicate_utf8 (process, NULL, NULL, &out, &err, &error);
  g_assert_no_error (error);
  if (g_subprocess_get_exit_status (process) != 0)
    g_error ("synmesh run failed: %s", err);
  g_assert_nonnull (strstr (out, "Recorded as session"));
}

static void
flag_cb (gboolean *flag)
{
  *flag = TRUE;
}

static void
record_with_app (const char *db)
{
  g_autoptr(GError) error = NULL;
  SmEngine *engine = sm_engine_new (64 * 1024 * 1024, 1, &error);
  SmSession *session;
  gboolean recorded = FALSE;
  gint64 deadline;

  g_assert_no_error (error);
  g_assert_true (sm_monitor_set_interval (sm_engine_get_monitor (engine), 100, NULL));
  session = sm_session_new (engine, db);
  g_assert_null (sm_session_get_store_error (session));
  g_signal_connect_swapped (session, "run-recorded", G_CALLBACK (flag_cb), &recorded);

  sm_session_start (session, g_ascii_strtod (RATE, NULL));
  deadline = g_get_monotonic_time () + 120 * G_USEC_PER_SEC;
  while (throughput_samples (db, 2) < SAMPLES_WANTED && g_get_monotonic_time () < deadline)
    drain_main_loop (100);
  sm_session_stop (session);
  deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (!recorded && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (recorded);

  g_object_run_dispose (G_OBJECT (session));
  g_object_unref (session);
  sm_engine_free (engine);
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

static GStrv
config_keys (const char *config)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GList) members = NULL;
  GPtrArray *keys = g_ptr_array_new ();

  json_parser_load_from_data (parser, config, -1, &error);
  g_assert_no_error (error);
  members = json_object_get_members (json_node_get_object (json_parser_get_root (parser)));
  for (GList *l = members; l != NULL; l = l->next)
    g_ptr_array_add (keys, g_strdup (l->data));
  g_ptr_array_sort (keys, compare_strings);
  g_ptr_array_add (keys, NULL);
  return (GStrv) g_ptr_array_free (keys, FALSE);
}

/* The session's events as "kind@t_ms" lines, in time order. */
static char *
events_of (const char *db_path,
           gint64      session)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  GString *events = g_string_new (NULL);

  g_assert_cmpint (sqlite3_open_v2 (db_path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT kind, t_ms FROM events WHERE session_id = ? ORDER BY t_ms, id",
                                       -1, &stmt, NULL), ==, SQLITE_OK);
  sqlite3_bind_int64 (stmt, 1, session);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_string_append_printf (events, "%s@%lld ", sqlite3_column_text (stmt, 0), sqlite3_column_int64 (stmt, 1));
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return g_string_free (events, FALSE);
}

static void
test_recorder_same_from_both (void)
{
  g_autofree char *dir = g_dir_make_tmp ("synmesh-recorder-XXXXXX", NULL);
  g_autofree char *db = g_build_filename (dir, "synmesh.db", NULL);
  g_autoptr(SmStore) store = NULL;
  g_autoptr(GPtrArray) sessions = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) cli_keys = NULL, app_keys = NULL;
  g_autofree char *cli_events = NULL, *app_events = NULL;
  g_autoptr(GArray) a = NULL, b = NULL;
  const SmSessionInfo *cli = NULL, *app = NULL;
  SmComparison comparison;

  record_with_cli (db);
  record_with_app (db);

  store = sm_store_open (db, NULL, &error);
  g_assert_no_error (error);
  sessions = sm_store_list_sessions (store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sessions->len, ==, 2);
  for (guint i = 0; i < sessions->len; i++)
    {
      const SmSessionInfo *info = g_ptr_array_index (sessions, i);

      if (g_str_has_prefix (info->name, "synmesh run"))
        cli = info;
      else
        app = info;
    }
  g_assert_nonnull (cli);
  g_assert_nonnull (app);

  /* One configuration: the same keys, the same workload. */
  cli_keys = config_keys (cli->config);
  app_keys = config_keys (app->config);
  g_assert_cmpstrv (cli_keys, app_keys);
  g_assert_true (g_strv_contains ((const char * const *) cli_keys, "rate"));
  g_assert_true (g_strv_contains ((const char * const *) cli_keys, "model_hash"));
  g_assert_cmpstr (cli->model, ==, app->model);

  /* One time base: each run's first sample near 0 (ms since the session
   * began, not the epoch); a second leaves room for a first tick that a
   * loaded machine delays. */
  for (guint k = 0; k < 2; k++)
    {
      g_autoptr(GArray) points = sm_store_read_metric (store, (k ? app : cli)->id, "engine.throughput",
                                                       0, 5000, 50, &error);

      g_assert_no_error (error);
      g_assert_cmpuint (points->len, >, 5);
      g_assert_cmpint (g_array_index (points, SmStorePoint, 0).t_ms, >=, 0);
      g_assert_cmpint (g_array_index (points, SmStorePoint, 0).t_ms, <=, 1000);
    }

  /* The same events: the model at 0, nothing else unasked for. */
  cli_events = events_of (db, cli->id);
  app_events = events_of (db, app->id);
  g_assert_cmpstr (cli_events, ==, "model@0 ");
  g_assert_cmpstr (app_events, ==, cli_events);

  /* One comparison: what `synmesh sessions compare` prints is the store's
   * rule over the same points. */
  g_assert_true (sm_store_compare (store, cli->id, app->id, "engine.throughput", 20, &a, &b, &error));
  sm_comparison_compute ("engine.throughput", a, b, &comparison);
  g_assert_cmpint (comparison.verdict, !=, SM_VERDICT_UNKNOWN);
  {
    g_autofree char *cli_id = g_strdup_printf ("%" G_GINT64_FORMAT, cli->id);
    g_autofree char *app_id = g_strdup_printf ("%" G_GINT64_FORMAT, app->id);
    g_autofree char *expected = isnan (comparison.change_low)
                                ? g_strdup_printf ("%+7.1f%% %s", comparison.change,
                                                   sm_verdict_get_name (comparison.verdict))
                                : g_strdup_printf ("%+7.1f%% [%+.1f, %+.1f] %s", comparison.change,
                                                   comparison.change_low, comparison.change_high,
                                                   sm_verdict_get_name (comparison.verdict));
    g_autoptr(GSubprocess) process = NULL;
    g_autofree char *out = NULL;

    process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, g_getenv ("SYNMESH_BIN"), "sessions",
                                "compare", cli_id, app_id, "--metric", "engine.throughput", "--db", db, NULL);
    g_assert_no_error (error);
    g_subprocess_communicate_utf8 (process, NULL, NULL, &out, NULL, &error);
    g_assert_no_error (error);
    g_assert_nonnull (strstr (out, expected));
  }

  g_clear_pointer (&store, sm_store_free);
  remove_tmp_dir (dir);
}

int
main (int   argc,
      char *argv[])
{
  gtk_test_init (&argc, &argv, NULL);

  g_test_add_func ("/recorder/same-from-both", test_recorder_same_from_both);

  return g_test_run ();
}
