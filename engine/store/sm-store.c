/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#define G_LOG_DOMAIN "sm-store"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <gio/gio.h>

/* The store's writer: one thread that takes what every other thread hands
 * it (sessions, samples, events, recommendations) and commits it in
 * batches, keeping what it cannot write yet; the file itself is
 * sm-store-file.c's, exports are sm-store-export.c's. */

#include "sm-cpu.h"
#include "sm-error.h"
#include "sm-paths.h"
#include "sm-store-private.h"

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

  /* Tasks of sm-store-async.c still running: freeing waits for them. */
  GMutex        tasks_lock;
  GCond         tasks_done;
  guint         tasks;          /* under tasks_lock */
};

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
                               "evidence, expected, action, knob, old_value, new_value, status, outcome, worse, also_rules) "
                               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", -1, &stmt, NULL) == SQLITE_OK;
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
          sqlite3_bind_text (stmt, 16, r->also_rules, -1, SQLITE_STATIC);
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
  sqlite3 *db = sm_store_open_file (path, recovered, error);
  SmStore *store;

  if (db == NULL)
    return NULL;

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
  g_mutex_init (&store->tasks_lock);
  g_cond_init (&store->tasks_done);
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

  /* A task on a thread (a read, a delete, an export) may still use the
   * store: it ends first, and the owner cancels the long ones. */
  g_mutex_lock (&store->tasks_lock);
  while (store->tasks > 0)
    g_cond_wait (&store->tasks_done, &store->tasks_lock);
  g_mutex_unlock (&store->tasks_lock);

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
  g_mutex_clear (&store->tasks_lock);
  g_cond_clear (&store->tasks_done);
  g_free (store->path);
  g_free (store);
}

void
sm_store_task_begin (SmStore *store)
{
  g_mutex_lock (&store->tasks_lock);
  store->tasks++;
  g_mutex_unlock (&store->tasks_lock);
}

void
sm_store_task_end (SmStore *store)
{
  g_mutex_lock (&store->tasks_lock);
  g_assert (store->tasks > 0);
  if (--store->tasks == 0)
    g_cond_broadcast (&store->tasks_done);
  g_mutex_unlock (&store->tasks_lock);
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

