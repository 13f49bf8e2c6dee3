/* SPDX-License-Identifier: GPL-3.0-or-later */

/* libFuzzer target for opening a session database: any bytes as synmesh.db
 * are either read — sessions listed, every reader and both exports run,
 * retention thins, a new session is recorded into it — or kept aside as
 * damaged; never a crash, a sanitizer report or a critical warning.
 * Without -Dfuzzing the suite runs it over tests/data/store/ (made by
 * tests/data/make-store-corpus.py).  To fuzz:
 *   CC=clang meson setup _build-fuzz -Dfuzzing=true -Db_sanitize=address,undefined -Db_lundef=false
 *   _build-fuzz/tests/fuzz/fuzz-store -max_len=16384 CORPUS tests/data/store */

#include "config.h"

#include <stdint.h>
#include <glib/gstdio.h>

#include "sm-store.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static double
read_one (gpointer data)
{
  return 1.0;
}

static void
count_sample (const char *metric,
              gint64      t_ms,
              double      value,
              gpointer    user_data)
{
  (*(guint64 *) user_data)++;
}

/* Empties the folder between inputs: the database, its WAL, the copies
 * kept aside and the exports. */
static void
clear_dir (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      g_unlink (path);
    }
}

static void
read_everything (SmStore    *store,
                 const char *dir)
{
  g_autoptr(GPtrArray) sessions = sm_store_list_sessions (store, NULL);
  g_autofree char *csv = g_build_filename (dir, "export.csv", NULL);
  g_autofree char *json = g_build_filename (dir, "export.json", NULL);

  for (guint i = 0; sessions != NULL && i < MIN (sessions->len, 4); i++)
    {
      SmSessionInfo *info = g_ptr_array_index (sessions, i);
      g_autoptr(GPtrArray) recs = sm_store_list_recommendations (store, info->id, NULL);
      g_autoptr(GArray) points = sm_store_read_metric (store, info->id, "test.ramp", G_MININT64 / 2,
                                                       G_MAXINT64 / 2, 100, NULL);
      GArray *a = NULL, *b = NULL;
      guint64 n = 0;

      sm_store_replay (store, info->id, count_sample, &n, NULL);
      sm_store_export (store, info->id, "csv", csv, SM_STORE_EXPORT_OVERWRITE, NULL, NULL, NULL);
      sm_store_export (store, info->id, "json", json, SM_STORE_EXPORT_OVERWRITE, NULL, NULL, NULL);
      if (sm_store_compare (store, info->id, info->id, "test.ramp", 10, &a, &b, NULL))
        {
          g_array_unref (a);
          g_array_unref (b);
        }
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  static char *dir;
  g_autofree char *path = NULL;
  g_autofree char *recovered = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(SmMonitor) monitor = NULL;
  SmStore *store;

  if (dir == NULL)
    {
      /* A critical or a warning is a finding too. */
      g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
      dir = g_dir_make_tmp ("fuzz-store-XXXXXX", NULL);
    }
  g_assert (dir != NULL);
  clear_dir (dir);
  path = g_build_filename (dir, "synmesh.db", NULL);
  if (!g_file_set_contents (path, (const char *) data, (gssize) size, NULL))
    return 0;

  store = sm_store_open (path, &recovered, &error);
  if (store == NULL)
    {
      g_assert (error != NULL);
      return 0;
    }

  read_everything (store, dir);
  sm_store_apply_retention (store, 1e-9, 0, 1000, NULL, NULL, NULL);
  read_everything (store, dir);

  /* And it still records. */
  monitor = sm_monitor_new ();
  sm_monitor_add_gauge (monitor, "test.ramp", "Ramp", "", read_one, NULL);
  {
    gint64 session = sm_store_begin_session (store, "fuzz", "m", "{}", NULL);

    if (session > 0)
      {
        SmMonitorSnapshot *snapshot = sm_monitor_tick (monitor);

        sm_store_add_snapshot (store, session, monitor, snapshot);
        sm_monitor_snapshot_unref (snapshot);
        sm_store_add_event (store, session, 0, "model", "m");
        sm_store_end_session (store, session);
      }
  }
  sm_store_free (store);

  return 0;
}

#include "fuzz-standalone.h"
