/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <sqlite3.h>

#include "sm-store.h"

/* Helpers shared by the writer (sm-store.c) and the readers (sm-store-read.c). */

/* A connection with the pragmas every user needs (WAL, NORMAL sync, busy
 * timeout, foreign keys); read-only when @read_only. */
/* sm-store-file.c: the database at @path opened for writing — made, checked,
 * migrated; a damaged or unreadable one kept aside first (@recovered then
 * says so, for people). */
sqlite3  *sm_store_open_file  (const char  *path,
                               char       **recovered,
                               GError     **error);
/* sm-store-read.c: a read-only connection of its own with @sql prepared
 * on it, or NULL with @error saying "@what: …". */
sqlite3  *sm_store_open_query (SmStore        *store,
                               const char     *sql,
                               sqlite3_stmt  **stmt,
                               const char     *what,
                               GError        **error);
sqlite3  *sm_store_connect    (const char  *path,
                               gboolean     read_only,
                               GError     **error);
/* Sets @error from the connection's last error, prefixed with @what. */
gboolean  sm_store_fail       (sqlite3     *db,
                               const char  *what,
                               GError     **error);
/* Decodes a chunk: @n samples of (uint32 dt, float64 value), little endian. */
void      sm_store_decode_chunk (const guint8 *blob,
                                 guint         n,
                                 gint64        t0_ms,
                                 gint64       *t_ms,
                                 double       *values);

/* Whether a samples row read from the file can be decoded: its count, its
 * blob's size and its first time in range; @n gets the count. */
gboolean  sm_store_chunk_usable (sqlite3_stmt *stmt,
                                 int           t0_column,
                                 int           n_column,
                                 int           data_column,
                                 guint        *n);
/* sm-store.c, for sm-store-async.c: a task that uses @store begins
 * (on the calling thread) and ends (on its own); sm_store_free() waits
 * until every one that began has ended. */
void      sm_store_task_begin (SmStore     *store);
void      sm_store_task_end   (SmStore     *store);

#define SM_STORE_SAMPLE_BYTES 12
