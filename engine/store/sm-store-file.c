/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#define G_LOG_DOMAIN "sm-store"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "sm-error.h"
#include "sm-paths.h"
#include "sm-store-private.h"

/* The database file: opened, checked, migrated forward, and kept aside
 * (never deleted, never overwritten) when it is damaged or of a schema
 * this build cannot read. */

/* Forward migrations: entry i takes a database from user_version i to i+1. */
static const char * const migrations[SM_STORE_SCHEMA_VERSION] = {
  /* 0 → 1 */
  "CREATE TABLE sessions ("
  "  id INTEGER PRIMARY KEY,"
  "  name TEXT NOT NULL,"
  "  started_ms INTEGER NOT NULL,"
  "  ended_ms INTEGER,"
  "  host TEXT, cpu TEXT, model TEXT, config TEXT);"
  "CREATE TABLE metrics ("
  "  id INTEGER PRIMARY KEY,"
  "  key TEXT NOT NULL UNIQUE,"
  "  name TEXT NOT NULL,"
  "  unit TEXT NOT NULL,"
  "  kind INTEGER NOT NULL);"
  /* One row per chunk of one metric; the key makes a time range one scan. */
  "CREATE TABLE samples ("
  "  session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,"
  "  metric_id INTEGER NOT NULL REFERENCES metrics (id),"
  "  t0_ms INTEGER NOT NULL,"
  "  n INTEGER NOT NULL,"
  "  data BLOB NOT NULL,"
  "  PRIMARY KEY (session_id, metric_id, t0_ms)) WITHOUT ROWID;"
  "CREATE TABLE events ("
  "  id INTEGER PRIMARY KEY,"
  "  session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,"
  "  t_ms INTEGER NOT NULL,"
  "  kind TEXT NOT NULL,"
  "  detail TEXT);"
  "CREATE INDEX events_by_session ON events (session_id, t_ms);"
  "CREATE TABLE recommendations ("
  "  session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,"
  "  number INTEGER NOT NULL,"
  "  t_ms INTEGER NOT NULL,"
  "  rule TEXT NOT NULL,"
  "  severity TEXT NOT NULL,"
  "  title TEXT NOT NULL,"
  "  evidence TEXT,"
  "  expected TEXT,"
  "  action TEXT,"
  "  knob INTEGER, old_value REAL, new_value REAL,"
  "  status TEXT NOT NULL CHECK (status IN ('open', 'applied', 'dismissed', 'reverted')),"
  "  outcome TEXT,"
  "  worse INTEGER NOT NULL DEFAULT 0,"
  "  PRIMARY KEY (session_id, number));",
  /* 1 → 2: retention remembers which sessions it thinned, and how much */
  "ALTER TABLE sessions ADD COLUMN thinned_ms INTEGER;",
  /* 2 → 3: the other rules that proposed a recommendation's change */
  "ALTER TABLE recommendations ADD COLUMN also_rules TEXT;",
};

/* ---- connections ---- */

gboolean
sm_store_fail (sqlite3     *db,
               const char  *what,
               GError     **error)
{
  int code = db != NULL ? sqlite3_errcode (db) : SQLITE_ERROR;

  g_set_error (error, SM_ENGINE_ERROR,
               code == SQLITE_FULL ? SM_ENGINE_ERROR_NO_MEMORY : SM_ENGINE_ERROR_IO,
               "%s: %s", what, db != NULL ? sqlite3_errmsg (db) : "out of memory");
  return FALSE;
}

/* Runs @sql, retrying while another process holds a lock SQLite will not
 * wait for by itself (switching a new file to WAL needs it exclusively). */
static int
exec_retrying (sqlite3    *db,
               const char *sql)
{
  int rc;

  for (guint attempt = 0; attempt < 100; attempt++)
    {
      rc = sqlite3_exec (db, sql, NULL, NULL, NULL);
      if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
        break;
      g_usleep (50000);
    }
  return rc;
}

sqlite3 *
sm_store_connect (const char  *path,
                  gboolean     read_only,
                  GError     **error)
{
  sqlite3 *db = NULL;
  int flags = (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
              SQLITE_OPEN_NOMUTEX;

  if (sqlite3_open_v2 (path, &db, flags, NULL) != SQLITE_OK)
    {
      sm_store_fail (db, path, error);
      sqlite3_close (db);
      return NULL;
    }

  /* Another process (the app and the CLI) may be writing: wait, do not fail. */
  sqlite3_busy_timeout (db, 5000);
  if (exec_retrying (db, read_only ? "PRAGMA foreign_keys = ON;"
                                  : "PRAGMA journal_mode = WAL;"
                                    "PRAGMA synchronous = NORMAL;"
                                    "PRAGMA foreign_keys = ON;"
                                    /* Appends need little cache: keep the
                                     * headless session's memory small. */
                                    "PRAGMA cache_size = -128;") != SQLITE_OK)
    {
      sm_store_fail (db, path, error);
      sqlite3_close (db);
      return NULL;
    }

  return db;
}

static int
user_version (sqlite3 *db)
{
  sqlite3_stmt *stmt;
  int version = -1;

  if (sqlite3_prepare_v2 (db, "PRAGMA user_version", -1, &stmt, NULL) == SQLITE_OK &&
      sqlite3_step (stmt) == SQLITE_ROW)
    version = sqlite3_column_int (stmt, 0);
  sqlite3_finalize (stmt);

  return version;
}

typedef enum { PROBE_HEALTHY, PROBE_DAMAGED, PROBE_UNKNOWN_VERSION, PROBE_UNREADABLE } Probe;

/* Whether an existing file is a database SQLite can read and check; only a
 * damaged one is moved aside, never one we merely may not open.  A schema
 * version this build has no migration for — newer than it knows, or
 * negative (the header's four bytes at offset 60 are signed) — is kept
 * aside too: nothing read from the file indexes anything unchecked. */
static Probe
probe (const char  *path,
       int         *version,
       GError     **error)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  Probe result = PROBE_DAMAGED;
  int rc;

  *version = 0;
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return PROBE_HEALTHY;

  if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
    {
      sm_store_fail (db, path, error);
      sqlite3_close (db);
      return PROBE_UNREADABLE;
    }
  sqlite3_busy_timeout (db, 5000);

  for (guint attempt = 0; attempt < 100; attempt++)
    {
      sqlite3_finalize (stmt);
      stmt = NULL;
      rc = sqlite3_prepare_v2 (db, "PRAGMA quick_check", -1, &stmt, NULL);
      if (rc == SQLITE_OK)
        rc = sqlite3_step (stmt);
      if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
        break;
      g_usleep (50000);
    }
  if (rc == SQLITE_ROW && g_strcmp0 ((const char *) sqlite3_column_text (stmt, 0), "ok") == 0)
    {
      *version = user_version (db);
      result = *version >= 0 && *version <= SM_STORE_SCHEMA_VERSION ? PROBE_HEALTHY : PROBE_UNKNOWN_VERSION;
    }
  else if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED || rc == SQLITE_CANTOPEN || rc == SQLITE_PERM ||
           rc == SQLITE_IOERR || rc == SQLITE_READONLY)
    {
      sm_store_fail (db, path, error);
      result = PROBE_UNREADABLE;
    }
  sqlite3_finalize (stmt);
  sqlite3_close (db);

  return result;
}

static gboolean
migrate (sqlite3  *db,
         GError  **error)
{
  int version = user_version (db);

  /* probe() kept such a file aside; another process may have written it
   * since, and migrations[] is indexed with what it holds. */
  if (version < 0 || version > SM_STORE_SCHEMA_VERSION)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_NOT_SUPPORTED,
                   _("The database has a schema this Synaptic Mesh cannot read (version %d, this one knows 0 to %d)"),
                   version, SM_STORE_SCHEMA_VERSION);
      return FALSE;
    }

  /* Each step in its own write transaction, deciding inside it: another
   * process opening the same new file may be migrating at the same time. */
  for (; version < SM_STORE_SCHEMA_VERSION; version++)
    {
      g_autofree char *sql = g_strdup_printf ("%s PRAGMA user_version = %d;", migrations[version], version + 1);

      if (exec_retrying (db, "BEGIN IMMEDIATE") != SQLITE_OK)
        return sm_store_fail (db, "Cannot update the database schema", error);
      if (user_version (db) <= version &&
          sqlite3_exec (db, sql, NULL, NULL, NULL) != SQLITE_OK)
        {
          sm_store_fail (db, "Cannot update the database schema", error);
          sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL);
          return FALSE;
        }
      if (sqlite3_exec (db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        return sm_store_fail (db, "Cannot update the database schema", error);
    }

  return TRUE;
}

/* Moves a damaged database (and its WAL and shared-memory files) aside,
 * under a name nothing has: two files kept in the same second must not
 * overwrite one another. */
static char *
move_aside (const char  *path,
            GError     **error)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *stamp = g_date_time_format (now, "%Y%m%d-%H%M%S");
  g_autofree char *aside = NULL;
  const char *suffixes[] = { "-wal", "-shm" };
  int saved_errno = EEXIST;

  for (guint attempt = 1; attempt <= 1000 && saved_errno == EEXIST; attempt++)
    {
      g_free (aside);
      aside = attempt == 1 ? g_strdup_printf ("%s.corrupt-%s", path, stamp)
                           : g_strdup_printf ("%s.corrupt-%s-%u", path, stamp, attempt);
      /* A -wal or -shm kept with an earlier copy holds the name as well. */
      for (guint i = 0; i < G_N_ELEMENTS (suffixes) && saved_errno == EEXIST; i++)
        {
          g_autofree char *taken = g_strconcat (aside, suffixes[i], NULL);

          if (g_file_test (taken, G_FILE_TEST_EXISTS))
            saved_errno = -1;
        }
      saved_errno = saved_errno == -1 ? EEXIST
                                      : sm_paths_rename_noreplace (path, aside) == 0 ? 0 : errno;
    }
  if (saved_errno != 0)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_IO,
                   _("The database %s is damaged and cannot be moved aside: %s"), path, g_strerror (saved_errno));
      return NULL;
    }
  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *from = g_strconcat (path, suffixes[i], NULL);
      g_autofree char *to = g_strconcat (aside, suffixes[i], NULL);

      if (g_file_test (from, G_FILE_TEST_EXISTS) && sm_paths_rename_noreplace (from, to) != 0)
        g_warning ("Cannot keep %s with %s: %s", from, aside, g_strerror (errno));
    }

  return g_steal_pointer (&aside);
}

char *
sm_store_default_path (void)
{
  const char *env = g_getenv (SM_STORE_ENV);
  g_autofree char *dir = NULL;

  if (env != NULL && env[0] != '\0')
    return g_strdup (env);
  dir = sm_paths_get_data_dir ();
  return g_build_filename (dir, "synmesh.db", NULL);
}

gboolean
sm_store_check_file (const char  *path,
                     GError     **error)
{
  int version;

  switch (probe (path, &version, error))
    {
    case PROBE_HEALTHY:
      return TRUE;
    case PROBE_UNKNOWN_VERSION:
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT,
                   _("%s has a schema this version cannot read (version %d, this one knows 0 to %d)"), path,
                   version, SM_STORE_SCHEMA_VERSION);
      return FALSE;
    case PROBE_DAMAGED:
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT,
                   _("%s is not a session database, or it is damaged"), path);
      return FALSE;
    case PROBE_UNREADABLE:
    default:
      return FALSE;
    }
}

sqlite3 *
sm_store_open_file (const char  *path,
                    char       **recovered,
                    GError     **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  sqlite3 *db;
  Probe result;
  int version;

  if (recovered != NULL)
    *recovered = NULL;
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_IO,
                   _("Cannot create %s: %s"), dir, g_strerror (saved_errno));
      return NULL;
    }

  result = probe (path, &version, error);
  switch (result)
    {
    case PROBE_UNREADABLE:
      return NULL;
    case PROBE_DAMAGED:
    case PROBE_UNKNOWN_VERSION:
      {
        g_autofree char *aside = move_aside (path, error);

        if (aside == NULL)
          return NULL;
        if (recovered == NULL)
          break;
        if (result == PROBE_DAMAGED)
          *recovered = g_strdup_printf ("Your previous database was damaged and has been kept at %s; "
                                        "a new one was started.", aside);
        else
          *recovered = g_strdup_printf ("Your previous database has a schema this version cannot read "
                                        "(version %d, this one knows 0 to %d) and has been kept at %s; "
                                        "a new one was started.", version, SM_STORE_SCHEMA_VERSION, aside);
      }
      break;
    case PROBE_HEALTHY:
    default:
      break;
    }

  db = sm_store_connect (path, FALSE, error);
  if (db == NULL)
    return NULL;

  if (!migrate (db, error))
    {
      sqlite3_close (db);
      return NULL;
    }

  return db;
}
