/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#define G_LOG_DOMAIN "sm-store"

#include <glib/gi18n-lib.h>

#include <math.h>
#include <string.h>

#include "sm-error.h"
#include "sm-store-private.h"

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
                   _("Retention limits are an age of 0 to %g days and a size of 0 or more bytes"),
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

