/* SPDX-License-Identifier: GPL-3.0-or-later */
/* renameat2 (RENAME_NOREPLACE) and O_TMPFILE */
#define _GNU_SOURCE

#include "config.h"

#define G_LOG_DOMAIN "sm-store"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <gio/gio.h>
#include <glib/gstdio.h>

#include "sm-cpu.h"
#include "sm-error.h"
#include "sm-paths.h"
#include "sm-store-private.h"

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
};

typedef enum {
  MESSAGE_BEGIN,
  MESSAGE_END,
  MESSAGE_SNAPSHOT,
  MESSAGE_EVENT,
  MESSAGE_RECOMMENDATION,
  MESSAGE_FLUSH,
  MESSAGE_MAX_PAGES,
  MESSAGE_QUIT,
} MessageKind;

typedef struct
{
  MessageKind        kind;
  gint64             session;
  SmMonitorSnapshot *snapshot;
  SmMonitor         *monitor;
  SmRecommendation  *recommendation;
  char              *a, *b, *c;       /* name/model/config, or kind/detail */
  gint64             t_ms;
  /* A reply, for begin and flush */
  GMutex            *lock;
  GCond             *cond;
  gboolean          *done;
  gint64            *id;
  GError           **error;
} Message;

/* The samples of one metric not yet in a full chunk on disk. */
/* A chunk names its metric rather than holding the metric's row id: the id
 * comes from the transaction that writes the chunk, and only a committed
 * one is cached (a rolled-back INSERT … RETURNING leaves an id that no row
 * has, and every later chunk would fail its foreign key). */
typedef struct
{
  gint64  session;
  char   *key;
  char   *name;
  char   *unit;
  int     kind;
  gint64  t0_ms;
  guint   n;
  guint   saved;         /* samples already committed */
  gboolean dirty;
  guint8  data[SM_STORE_CHUNK * SM_STORE_SAMPLE_BYTES];
} Chunk;

struct _SmStore
{
  char         *path;
  GAsyncQueue  *queue;
  GThread      *writer;

  /* The writer thread's own */
  sqlite3      *db;
  GHashTable   *chunks;        /* "session:metric index" → Chunk* */
  GHashTable   *metric_ids;    /* metric key → row id, committed ones only */
  GPtrArray    *full;          /* Chunk*, filled, awaiting commit */
  GPtrArray    *pending;       /* Message*, events and recommendations awaiting commit */
  gint64        last_commit_us;

  GMutex        status_lock;
  SmStoreStatus status;
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
                   "The database has a schema this Synaptic Mesh cannot read (version %d, this one knows 0 to %d)",
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

int
sm_store_rename_noreplace (const char *from,
                           const char *to)
{
  if (renameat2 (AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
    return 0;
  if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
    return -1;

  /* A file system without RENAME_NOREPLACE: link() fails on an existing
   * name just as surely. */
  if (link (from, to) != 0)
    return -1;
  g_unlink (from);
  return 0;
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
                                      : sm_store_rename_noreplace (path, aside) == 0 ? 0 : errno;
    }
  if (saved_errno != 0)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_IO,
                   "The database %s is damaged and cannot be moved aside: %s", path, g_strerror (saved_errno));
      return NULL;
    }
  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *from = g_strconcat (path, suffixes[i], NULL);
      g_autofree char *to = g_strconcat (aside, suffixes[i], NULL);

      if (g_file_test (from, G_FILE_TEST_EXISTS) && sm_store_rename_noreplace (from, to) != 0)
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

/* ---- the writer ---- */

static void
message_free (Message *m)
{
  g_clear_pointer (&m->snapshot, sm_monitor_snapshot_unref);
  g_clear_pointer (&m->recommendation, sm_recommendation_free);
  g_free (m->a);
  g_free (m->b);
  g_free (m->c);
  g_free (m);
}

static void
reply (Message *m)
{
  g_mutex_lock (m->lock);
  *m->done = TRUE;
  g_cond_signal (m->cond);
  g_mutex_unlock (m->lock);
}

static void
set_status (SmStore    *store,
            const char *error)
{
  g_mutex_lock (&store->status_lock);
  store->status.healthy = error == NULL;
  g_free (store->status.error);
  store->status.error = g_strdup (error);
  g_mutex_unlock (&store->status_lock);
}

/* The row id of @chunk's metric, inserting it when new; inside the commit's
 * transaction, so the id is remembered in @resolved and cached for good
 * only once that transaction commits. */
static gint64
metric_id (SmStore    *store,
           GHashTable *resolved,
           Chunk      *chunk)
{
  gpointer id;
  sqlite3_stmt *stmt = NULL;
  gint64 row = -1;

  if (g_hash_table_lookup_extended (store->metric_ids, chunk->key, NULL, &id) ||
      g_hash_table_lookup_extended (resolved, chunk->key, NULL, &id))
    return GPOINTER_TO_SIZE (id);

  if (sqlite3_prepare_v2 (store->db,
                          "INSERT INTO metrics (key, name, unit, kind) VALUES (?, ?, ?, ?) "
                          "ON CONFLICT (key) DO UPDATE SET name = excluded.name RETURNING id",
                          -1, &stmt, NULL) != SQLITE_OK)
    return -1;
  sqlite3_bind_text (stmt, 1, chunk->key, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, chunk->name, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 3, chunk->unit, -1, SQLITE_STATIC);
  sqlite3_bind_int (stmt, 4, chunk->kind);
  /* RETURNING hands the row over before the statement has finished: it is
   * done only at SQLITE_DONE. */
  if (sqlite3_step (stmt) == SQLITE_ROW)
    row = sqlite3_column_int64 (stmt, 0);
  if (sqlite3_step (stmt) != SQLITE_DONE)
    row = -1;
  sqlite3_finalize (stmt);

  if (row >= 0)
    g_hash_table_insert (resolved, chunk->key, GSIZE_TO_POINTER (row));
  return row;
}

static Chunk *
chunk_new (gint64              session,
           const SmMetricInfo *info,
           gint64              t0_ms)
{
  Chunk *chunk = g_new0 (Chunk, 1);

  chunk->session = session;
  chunk->key = g_strdup (info->id);
  chunk->name = g_strdup (info->name);
  chunk->unit = g_strdup (info->unit);
  chunk->kind = info->kind;
  chunk->t0_ms = t0_ms;
  return chunk;
}

static void
chunk_free (gpointer data)
{
  Chunk *chunk = data;

  g_free (chunk->key);
  g_free (chunk->name);
  g_free (chunk->unit);
  g_free (chunk);
}

static guint64
buffered_samples (SmStore *store)
{
  GHashTableIter iter;
  gpointer value;
  guint64 n = 0;

  g_hash_table_iter_init (&iter, store->chunks);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    n += ((Chunk *) value)->dirty ? ((Chunk *) value)->n : 0;
  for (guint i = 0; i < store->full->len; i++)
    n += ((Chunk *) g_ptr_array_index (store->full, i))->n;

  return n;
}

static void
add_snapshot (SmStore *store,
              Message *m)
{
  guint64 buffered = buffered_samples (store), dropped = 0;

  for (guint i = 0; i < m->snapshot->n_values; i++)
    {
      double value = m->snapshot->values[i];
      g_autofree char *key = NULL;
      Chunk *chunk;
      guint32 dt;

      if (isnan (value))
        continue;
      /* Writes have been failing: hold no more than the limit. */
      if (buffered >= SM_STORE_MAX_BUFFERED)
        {
          dropped++;
          continue;
        }

      key = g_strdup_printf ("%" G_GINT64_FORMAT ":%u", m->session, i);
      chunk = g_hash_table_lookup (store->chunks, key);
      if (chunk == NULL || chunk->n == SM_STORE_CHUNK)
        {
          if (chunk != NULL)
            {
              gpointer stored_key;

              /* The full chunk moves to the commit list; its key goes. */
              g_hash_table_steal_extended (store->chunks, key, &stored_key, NULL);
              g_free (stored_key);
              g_ptr_array_add (store->full, chunk);
            }
          chunk = chunk_new (m->session, sm_monitor_get_metric (m->monitor, i), m->snapshot->t_ms);
          g_hash_table_insert (store->chunks, g_strdup (key), chunk);
        }

      dt = (guint32) (m->snapshot->t_ms - chunk->t0_ms);
      dt = GUINT32_TO_LE (dt);
      memcpy (chunk->data + chunk->n * SM_STORE_SAMPLE_BYTES, &dt, 4);
      memcpy (chunk->data + chunk->n * SM_STORE_SAMPLE_BYTES + 4, &value, 8);
      chunk->n++;
      chunk->dirty = TRUE;
      buffered++;
    }

  if (dropped > 0)
    {
      g_mutex_lock (&store->status_lock);
      store->status.dropped += dropped;
      g_mutex_unlock (&store->status_lock);
    }
}

static gboolean
write_chunk (SmStore      *store,
             sqlite3_stmt *stmt,
             GHashTable   *resolved,
             Chunk        *chunk)
{
  gint64 metric = metric_id (store, resolved, chunk);

  if (metric < 0)
    return FALSE;
  sqlite3_reset (stmt);
  sqlite3_bind_int64 (stmt, 1, chunk->session);
  sqlite3_bind_int64 (stmt, 2, metric);
  sqlite3_bind_int64 (stmt, 3, chunk->t0_ms);
  sqlite3_bind_int (stmt, 4, (int) chunk->n);
  sqlite3_bind_blob (stmt, 5, chunk->data, (int) (chunk->n * SM_STORE_SAMPLE_BYTES), SQLITE_STATIC);

  return sqlite3_step (stmt) == SQLITE_DONE;
}

static gboolean
write_message (SmStore  *store,
               Message  *m)
{
  sqlite3_stmt *stmt = NULL;
  gboolean ok;

  if (m->kind == MESSAGE_EVENT)
    {
      ok = sqlite3_prepare_v2 (store->db, "INSERT INTO events (session_id, t_ms, kind, detail) VALUES (?, ?, ?, ?)",
                               -1, &stmt, NULL) == SQLITE_OK;
      if (ok)
        {
          sqlite3_bind_int64 (stmt, 1, m->session);
          sqlite3_bind_int64 (stmt, 2, m->t_ms);
          sqlite3_bind_text (stmt, 3, m->a, -1, SQLITE_STATIC);
          sqlite3_bind_text (stmt, 4, m->b, -1, SQLITE_STATIC);
        }
    }
  else if (m->kind == MESSAGE_RECOMMENDATION)
    {
      static const char * const statuses[] = { "open", "applied", "dismissed", "reverted" };
      const SmRecommendation *r = m->recommendation;

      ok = sqlite3_prepare_v2 (store->db,
                               "INSERT OR REPLACE INTO recommendations (session_id, number, t_ms, rule, severity, title, "
                               "evidence, expected, action, knob, old_value, new_value, status, outcome, worse) "
                               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", -1, &stmt, NULL) == SQLITE_OK;
      if (ok)
        {
          sqlite3_bind_int64 (stmt, 1, m->session);
          sqlite3_bind_int (stmt, 2, (int) r->id);
          sqlite3_bind_int64 (stmt, 3, r->fired_ms);
          sqlite3_bind_text (stmt, 4, r->rule, -1, SQLITE_STATIC);
          sqlite3_bind_text (stmt, 5, sm_severity_get_name (r->severity), -1, SQLITE_STATIC);
          sqlite3_bind_text (stmt, 6, r->title, -1, SQLITE_STATIC);
          sqlite3_bind_text (stmt, 7, r->evidence, -1, SQLITE_STATIC);
          sqlite3_bind_text (stmt, 8, r->expected, -1, SQLITE_STATIC);
          sqlite3_bind_text (stmt, 9, r->action, -1, SQLITE_STATIC);
          sqlite3_bind_int (stmt, 10, r->knob);
          sqlite3_bind_double (stmt, 11, r->old_value);
          sqlite3_bind_double (stmt, 12, r->new_value);
          sqlite3_bind_text (stmt, 13, statuses[r->status], -1, SQLITE_STATIC);
          sqlite3_bind_text (stmt, 14, r->outcome, -1, SQLITE_STATIC);
          sqlite3_bind_int (stmt, 15, r->worse);
        }
    }
  else /* MESSAGE_END */
    {
      ok = sqlite3_prepare_v2 (store->db, "UPDATE sessions SET ended_ms = ? WHERE id = ?", -1, &stmt, NULL) == SQLITE_OK;
      if (ok)
        {
          sqlite3_bind_int64 (stmt, 1, g_get_real_time () / 1000);
          sqlite3_bind_int64 (stmt, 2, m->session);
        }
    }

  ok = ok && sqlite3_step (stmt) == SQLITE_DONE;
  sqlite3_finalize (stmt);
  return ok;
}

/* One transaction with every dirty chunk (partial ones are rewritten, so a
 * crash loses only what came after this commit), events and
 * recommendations.  On failure everything stays buffered for the retry. */
static void
commit (SmStore *store)
{
  g_autoptr(GHashTable) resolved = g_hash_table_new (g_str_hash, g_str_equal);
  sqlite3_stmt *insert = NULL;
  GHashTableIter iter;
  gpointer key, value;
  guint64 written = 0;
  gboolean ok;

  store->last_commit_us = g_get_monotonic_time ();
  if (store->full->len == 0 && store->pending->len == 0 && buffered_samples (store) == 0)
    return;

  ok = sqlite3_exec (store->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK &&
       sqlite3_prepare_v2 (store->db, "INSERT OR REPLACE INTO samples (session_id, metric_id, t0_ms, n, data) "
                           "VALUES (?, ?, ?, ?, ?)", -1, &insert, NULL) == SQLITE_OK;

  for (guint i = 0; ok && i < store->full->len; i++)
    ok = write_chunk (store, insert, resolved, g_ptr_array_index (store->full, i));
  g_hash_table_iter_init (&iter, store->chunks);
  while (ok && g_hash_table_iter_next (&iter, NULL, &value))
    if (((Chunk *) value)->dirty)
      ok = write_chunk (store, insert, resolved, value);
  for (guint i = 0; ok && i < store->pending->len; i++)
    ok = write_message (store, g_ptr_array_index (store->pending, i));
  sqlite3_finalize (insert);

  ok = ok && sqlite3_exec (store->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK;
  if (!ok)
    {
      g_autofree char *message = g_strdup_printf ("Cannot save the session: %s", sqlite3_errmsg (store->db));

      sqlite3_exec (store->db, "ROLLBACK", NULL, NULL, NULL);
      set_status (store, message);
      g_mutex_lock (&store->status_lock);
      store->status.buffered = buffered_samples (store);
      g_mutex_unlock (&store->status_lock);
      return;
    }

  /* Committed: the metric ids written are real rows now, full chunks are
   * done, partial ones stay for more samples. */
  g_hash_table_iter_init (&iter, resolved);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_hash_table_insert (store->metric_ids, g_strdup (key), value);
  for (guint i = 0; i < store->full->len; i++)
    {
      Chunk *chunk = g_ptr_array_index (store->full, i);

      written += chunk->n - chunk->saved;
    }
  g_hash_table_iter_init (&iter, store->chunks);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Chunk *chunk = value;

      written += chunk->n - chunk->saved;
      chunk->saved = chunk->n;
      chunk->dirty = FALSE;
    }
  g_ptr_array_set_size (store->full, 0);
  g_ptr_array_set_size (store->pending, 0);

  g_mutex_lock (&store->status_lock);
  store->status.committed += written;
  store->status.buffered = 0;
  g_mutex_unlock (&store->status_lock);
  set_status (store, NULL);
}

static gboolean
insert_session (SmStore  *store,
                Message  *m,
                gint64   *id,
                GError  **error)
{
  const SmCpuInfo *cpu = sm_cpu_info_get ();
  sqlite3_stmt *stmt = NULL;
  gboolean ok;

  /* In a transaction of its own: RETURNING gives the id before the row is
   * written, and the id is good only once COMMIT says so. */
  ok = sqlite3_exec (store->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK &&
       sqlite3_prepare_v2 (store->db, "INSERT INTO sessions (name, started_ms, host, cpu, model, config) "
                           "VALUES (?, ?, ?, ?, ?, ?) RETURNING id", -1, &stmt, NULL) == SQLITE_OK;
  if (ok)
    {
      sqlite3_bind_text (stmt, 1, m->a, -1, SQLITE_STATIC);
      sqlite3_bind_int64 (stmt, 2, g_get_real_time () / 1000);
      sqlite3_bind_text (stmt, 3, g_get_host_name (), -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 4, cpu->model, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 5, m->b, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 6, m->c, -1, SQLITE_STATIC);
      ok = sqlite3_step (stmt) == SQLITE_ROW;
      if (ok)
        *id = sqlite3_column_int64 (stmt, 0);
      ok = ok && sqlite3_step (stmt) == SQLITE_DONE;
    }
  sqlite3_finalize (stmt);
  ok = ok && sqlite3_exec (store->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK;
  if (!ok)
    {
      sm_store_fail (store->db, "Cannot start a session", error);
      if (!sqlite3_get_autocommit (store->db))
        sqlite3_exec (store->db, "ROLLBACK", NULL, NULL, NULL);
    }
  return ok;
}

static gboolean
begin_session (SmStore  *store,
               Message  *m,
               GError  **error)
{
  g_autoptr(GError) last = NULL;
  gint64 id = -1;

  /* One failed write (a moment of full disk) is tried again; a lasting
   * failure is the caller's to report. */
  for (guint attempt = 0; attempt < 3; attempt++)
    {
      g_clear_error (&last);
      if (insert_session (store, m, &id, &last))
        {
          *m->id = id;
          return TRUE;
        }
      g_usleep (10000);
    }
  g_propagate_error (error, g_steal_pointer (&last));
  return FALSE;
}

static gpointer
writer_main (gpointer data)
{
  SmStore *store = data;

  for (;;)
    {
      gint64 due = store->last_commit_us + G_USEC_PER_SEC;
      Message *m = g_async_queue_timeout_pop (store->queue, MAX (1000, due - g_get_monotonic_time ()));

      if (m == NULL)
        {
          commit (store);
          continue;
        }

      switch (m->kind)
        {
        case MESSAGE_BEGIN:
          begin_session (store, m, m->error);
          reply (m);
          message_free (m);
          break;
        case MESSAGE_SNAPSHOT:
          add_snapshot (store, m);
          message_free (m);
          break;
        case MESSAGE_EVENT:
        case MESSAGE_RECOMMENDATION:
        case MESSAGE_END:
          g_ptr_array_add (store->pending, m);
          break;
        case MESSAGE_FLUSH:
          commit (store);
          reply (m);
          message_free (m);
          break;
        case MESSAGE_MAX_PAGES:
          {
            g_autofree char *sql = g_strdup_printf ("PRAGMA max_page_count = %" G_GINT64_FORMAT, m->t_ms);
            sqlite3_exec (store->db, sql, NULL, NULL, NULL);
            message_free (m);
          }
          break;
        case MESSAGE_QUIT:
          commit (store);
          message_free (m);
          return NULL;
        default:
          g_assert_not_reached ();
        }

      if (g_get_monotonic_time () >= store->last_commit_us + G_USEC_PER_SEC)
        commit (store);
    }
}

SmStore *
sm_store_open (const char  *path,
               char       **recovered,
               GError     **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  SmStore *store;
  sqlite3 *db;
  Probe result;
  int version;

  if (recovered != NULL)
    *recovered = NULL;
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_IO,
                   "Cannot create %s: %s", dir, g_strerror (saved_errno));
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

  store = g_new0 (SmStore, 1);
  store->path = g_strdup (path);
  store->db = db;
  store->queue = g_async_queue_new ();
  store->chunks = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, chunk_free);
  store->metric_ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  store->full = g_ptr_array_new_with_free_func (chunk_free);
  store->pending = g_ptr_array_new_with_free_func ((GDestroyNotify) message_free);
  store->status.healthy = TRUE;
  g_mutex_init (&store->status_lock);
  store->last_commit_us = g_get_monotonic_time ();
  store->writer = g_thread_new ("sm-store-writer", writer_main, store);

  return store;
}

void
sm_store_free (SmStore *store)
{
  Message *quit;

  if (store == NULL)
    return;

  quit = g_new0 (Message, 1);
  quit->kind = MESSAGE_QUIT;
  g_async_queue_push (store->queue, quit);
  g_thread_join (store->writer);

  g_async_queue_unref (store->queue);
  g_hash_table_unref (store->chunks);
  g_hash_table_unref (store->metric_ids);
  g_ptr_array_unref (store->full);
  g_ptr_array_unref (store->pending);
  sqlite3_close (store->db);
  sm_store_status_clear (&store->status);
  g_mutex_clear (&store->status_lock);
  g_free (store->path);
  g_free (store);
}

const char *
sm_store_get_path (SmStore *store)
{
  return store->path;
}

/* Sends @m and waits for the writer's reply. */
static void
send_and_wait (SmStore *store,
               Message *m)
{
  GMutex lock;
  GCond cond;
  gboolean done = FALSE;

  g_mutex_init (&lock);
  g_cond_init (&cond);
  m->lock = &lock;
  m->cond = &cond;
  m->done = &done;
  g_async_queue_push (store->queue, m);

  g_mutex_lock (&lock);
  while (!done)
    g_cond_wait (&cond, &lock);
  g_mutex_unlock (&lock);
  g_mutex_clear (&lock);
  g_cond_clear (&cond);
}

gint64
sm_store_begin_session (SmStore     *store,
                        const char  *name,
                        const char  *model,
                        const char  *config_json,
                        GError     **error)
{
  Message *m = g_new0 (Message, 1);
  gint64 id = -1;

  m->kind = MESSAGE_BEGIN;
  m->a = g_strdup (name);
  m->b = g_strdup (model);
  m->c = g_strdup (config_json);
  m->id = &id;
  m->error = error;
  send_and_wait (store, m);

  return id;
}

static void
push (SmStore     *store,
      MessageKind  kind,
      gint64       session)
{
  Message *m = g_new0 (Message, 1);

  m->kind = kind;
  m->session = session;
  g_async_queue_push (store->queue, m);
}

void
sm_store_end_session (SmStore *store,
                      gint64   session)
{
  push (store, MESSAGE_END, session);
}

void
sm_store_add_snapshot (SmStore           *store,
                       gint64             session,
                       SmMonitor         *monitor,
                       SmMonitorSnapshot *snapshot)
{
  Message *m = g_new0 (Message, 1);

  m->kind = MESSAGE_SNAPSHOT;
  m->session = session;
  m->monitor = monitor;
  m->snapshot = sm_monitor_snapshot_ref (snapshot);
  g_async_queue_push (store->queue, m);
}

void
sm_store_add_event (SmStore    *store,
                    gint64      session,
                    gint64      t_ms,
                    const char *kind,
                    const char *detail)
{
  Message *m = g_new0 (Message, 1);

  m->kind = MESSAGE_EVENT;
  m->session = session;
  m->t_ms = t_ms;
  m->a = g_strdup (kind);
  m->b = g_strdup (detail);
  g_async_queue_push (store->queue, m);
}

void
sm_store_add_recommendation (SmStore                *store,
                             gint64                  session,
                             const SmRecommendation *recommendation)
{
  Message *m = g_new0 (Message, 1);

  m->kind = MESSAGE_RECOMMENDATION;
  m->session = session;
  m->recommendation = sm_recommendation_copy (recommendation);
  g_async_queue_push (store->queue, m);
}

void
sm_store_flush (SmStore *store)
{
  Message *m = g_new0 (Message, 1);

  m->kind = MESSAGE_FLUSH;
  send_and_wait (store, m);
}

void
sm_store_set_max_pages (SmStore *store,
                        gint64   pages)
{
  Message *m = g_new0 (Message, 1);

  m->kind = MESSAGE_MAX_PAGES;
  m->t_ms = pages;
  g_async_queue_push (store->queue, m);
}

void
sm_store_get_status (SmStore       *store,
                     SmStoreStatus *status)
{
  g_mutex_lock (&store->status_lock);
  *status = store->status;
  status->error = g_strdup (store->status.error);
  g_mutex_unlock (&store->status_lock);
}

void
sm_store_status_clear (SmStoreStatus *status)
{
  g_clear_pointer (&status->error, g_free);
}

/* ---- writing an export ---- */

/* Only a regular file may be replaced: a FIFO, a device node or a symlink
 * at @path is someone's plumbing, never a stale export. */
static gboolean
check_destination (const char  *path,
                   gboolean     overwrite,
                   GError     **error)
{
  GStatBuf st;

  if (g_lstat (path, &st) != 0)
    {
      int saved_errno = errno;

      if (saved_errno == ENOENT)
        return TRUE;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Cannot export to %s: %s", path, g_strerror (saved_errno));
      return FALSE;
    }
  if (!S_ISREG (st.st_mode))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE,
                   "Cannot export to %s: it is not a regular file, and only a regular file is replaced", path);
      return FALSE;
    }
  if (!overwrite)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS, "Cannot export to %s: the file already exists", path);
      return FALSE;
    }
  return TRUE;
}

static gboolean
write_all (int           fd,
           const char   *data,
           gsize         length)
{
  while (length > 0)
    {
      gssize n = write (fd, data, length);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      data += n;
      length -= (gsize) n;
    }
  return fsync (fd) == 0;
}

gboolean
sm_store_write_file (const char  *path,
                     const char  *data,
                     gsize        length,
                     gboolean     overwrite,
                     GError     **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *temp = NULL;
  int fd, saved_errno = 0;
  gboolean named;

  if (!check_destination (path, overwrite, error))
    return FALSE;

  /* An unnamed file in the destination's folder: a kill while it is being
   * written leaves nothing behind.  Where the file system has no O_TMPFILE
   * a named DEST.XXXXXX is used, removed on every failure below. */
  fd = open (dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
  named = fd < 0;
  if (named)
    {
      temp = g_strconcat (path, ".XXXXXX", NULL);
      fd = g_mkstemp_full (temp, O_WRONLY | O_CLOEXEC, 0644);
      if (fd < 0)
        {
          saved_errno = errno;
          g_clear_pointer (&temp, g_free);
        }
    }
  if (fd >= 0 && !write_all (fd, data, length))
    saved_errno = errno != 0 ? errno : EIO;

  if (saved_errno == 0 && !named)
    {
      g_autofree char *proc = g_strdup_printf ("/proc/self/fd/%d", fd);

      /* Gives the file a name: the destination itself when nothing may be
       * replaced (linkat fails if it exists), else a temporary one that
       * the rename below replaces the destination with. */
      if (!overwrite)
        saved_errno = linkat (AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0 ? 0 : errno;
      else
        for (guint attempt = 0; attempt < 100; attempt++)
          {
            g_free (temp);
            temp = g_strdup_printf ("%s.%06x", path, g_random_int_range (0, 0x1000000));
            saved_errno = linkat (AT_FDCWD, proc, AT_FDCWD, temp, AT_SYMLINK_FOLLOW) == 0 ? 0 : errno;
            if (saved_errno != EEXIST)
              break;
          }
      if (saved_errno != 0)
        g_clear_pointer (&temp, g_free);
    }
  if (fd >= 0)
    close (fd);

  if (saved_errno == 0 && temp != NULL)
    {
      if (!overwrite)
        saved_errno = sm_store_rename_noreplace (temp, path) == 0 ? 0 : errno;
      /* Checked again just before: only a regular file is replaced. */
      else if (!check_destination (path, TRUE, error))
        saved_errno = -1;
      else
        saved_errno = g_rename (temp, path) == 0 ? 0 : errno;
    }

  if (saved_errno != 0 && temp != NULL)
    g_unlink (temp);
  if (saved_errno == EEXIST && !overwrite)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS, "Cannot export to %s: the file already exists", path);
  else if (saved_errno > 0)
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                 "Cannot export to %s: %s", path, g_strerror (saved_errno));
  return saved_errno == 0;
}
