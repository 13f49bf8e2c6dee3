/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "sm-advisor.h"
#include "sm-monitor.h"

G_BEGIN_DECLS

/* Sessions in SQLite (schema in docs/storage.md).  One writer thread takes
 * snapshots, events and recommendations from a queue and commits them in
 * batches, at least once a second: a crash loses at most that second.
 * Readers open their own connections.  Nothing here may run on a GTK main
 * thread: the writer's queue never blocks, and every read blocks, so the
 * app goes through the _async() variants (sm-store-async.h).
 *
 * Samples are stored in chunks — up to SM_STORE_CHUNK samples of one metric
 * in one row, keyed (session, metric, first time) — which keeps ingest to a
 * row per chunk and makes a metric's time range one index range scan. */

#define SM_STORE_ENV            "SYNMESH_DB"
#define SM_STORE_CHUNK          256
#define SM_STORE_MAX_BUFFERED   (4 * 1024 * 1024)   /* samples held while writes fail */
#define SM_STORE_SCHEMA_VERSION 3
#define SM_STORE_MAX_AGE_DAYS   36500.0             /* retention's longest age: a century */

typedef struct _SmStore SmStore;

typedef struct
{
  gint64  id;
  char   *name;
  gint64  started_ms;     /* Unix time, ms */
  gint64  ended_ms;       /* 0 while running, or after a crash */
  char   *host;
  char   *cpu;
  char   *model;
  char   *config;         /* the knobs, JSON */
  gint64  samples;
} SmSessionInfo;

/* Something that happened in a session (sm_store_add_event()): a knob
 * changed ("knob"), the offered load ("load"), the workload, the model. */
typedef struct
{
  gint64  t_ms;           /* since the session started */
  char   *kind;
  char   *detail;
} SmStoreEvent;

/* A metric a session has samples of. */
typedef struct
{
  char *key;       /* "engine.throughput", "peer.<fingerprint>.p99" */
  char *name;
  char *unit;
} SmStoreMetric;

typedef struct
{
  gint64 t_ms;            /* since the session started */
  double min, max, mean;
  guint  count;
} SmStorePoint;

typedef struct
{
  gboolean healthy;
  char    *error;           /* the last write error while unhealthy */
  guint64  committed;       /* samples written */
  guint64  buffered;        /* samples waiting for a commit */
  guint64  dropped;         /* samples lost to the buffer limit while writes failed */
} SmStoreStatus;

/* $SYNMESH_DB, or synmesh.db in the data directory. */
char      *sm_store_default_path    (void);

/* Whether @path holds a healthy session database this version reads
 * (or nothing yet), else why not; touches nothing.  For commands that
 * only read: they report a damaged file instead of keeping it aside. */
gboolean   sm_store_check_file      (const char     *path,
                                     GError        **error);

/* Opens or creates the database, migrating it forward.  A file that is not
 * a healthy database is moved aside as <path>.corrupt-<time> (never
 * deleted) and a fresh one made; @recovered (optional) then says so, in a
 * sentence for people. */
SmStore   *sm_store_open            (const char     *path,
                                     char          **recovered,
                                     GError        **error);
/* Commits what is queued, then closes. */
void       sm_store_free            (SmStore        *store);
const char *sm_store_get_path       (SmStore        *store);

/* Writing: thread-safe; only begin_session waits (for the new id). */
gint64     sm_store_begin_session   (SmStore        *store,
                                     const char     *name,
                                     const char     *model,
                                     const char     *config_json,
                                     GError        **error);
void       sm_store_end_session     (SmStore        *store,
                                     gint64          session);
/* Keeps a reference to @snapshot until it is written; metric names and
 * units come from @monitor, which must outlive the writing (flush or free
 * the store before the monitor). */
void       sm_store_add_snapshot    (SmStore           *store,
                                     gint64             session,
                                     SmMonitor         *monitor,
                                     SmMonitorSnapshot *snapshot);
void       sm_store_add_event       (SmStore        *store,
                                     gint64          session,
                                     gint64          t_ms,
                                     const char     *kind,
                                     const char     *detail);
/* Inserts, or updates by (session, id) as its status and outcome change. */
void       sm_store_add_recommendation (SmStore                *store,
                                        gint64                  session,
                                        const SmRecommendation *recommendation);
/* Waits until everything queued so far is committed (or has failed). */
void       sm_store_flush           (SmStore        *store);
void       sm_store_get_status      (SmStore        *store,
                                     SmStoreStatus  *status);
void       sm_store_status_clear    (SmStoreStatus  *status);
/* Tests: caps the database, as a full disk would. */
void       sm_store_set_max_pages   (SmStore        *store,
                                     gint64          pages);

/* Reading: blocking; each call uses its own connection. */
GPtrArray *sm_store_list_sessions   (SmStore        *store,
                                     GError        **error);
/* @metric over [from_ms, to_ms] (session time), in at most @max_points
 * buckets with min, max and mean each. */
GArray    *sm_store_read_metric     (SmStore        *store,
                                     gint64          session,
                                     const char     *metric,
                                     gint64          from_ms,
                                     gint64          to_ms,
                                     guint           max_points,
                                     GError        **error);
typedef void (*SmStoreSampleFunc) (const char *metric,
                                   gint64      t_ms,
                                   double      value,
                                   gpointer    user_data);
/* Every sample of a session, metric by metric in time order. */
gboolean   sm_store_replay          (SmStore          *store,
                                     gint64            session,
                                     SmStoreSampleFunc func,
                                     gpointer          user_data,
                                     GError          **error);
/* Recommendations as SmRecommendation copies (rule strings interned). */
GPtrArray *sm_store_list_recommendations (SmStore   *store,
                                          gint64     session,
                                          GError   **error);
/* The metrics @session has samples of whose key starts with @prefix
 * ("" for all), as SmStoreMetric in key order. */
GPtrArray *sm_store_list_metrics    (SmStore        *store,
                                     gint64          session,
                                     const char     *prefix,
                                     GError        **error);
/* The events of @session (SmStoreEvent) in time order. */
GPtrArray *sm_store_list_events     (SmStore        *store,
                                     gint64          session,
                                     GError        **error);
gboolean   sm_store_delete_session  (SmStore        *store,
                                     gint64          session,
                                     GError        **error);
/* 1 to 200 characters, spaces at the ends trimmed. */
gboolean   sm_store_rename_session  (SmStore        *store,
                                     gint64          session,
                                     const char     *name,
                                     GError        **error);

/* Two sessions' @metric side by side, aligned from their starts over the
 * shorter one, in at most @max_points buckets each. */
gboolean   sm_store_compare         (SmStore        *store,
                                     gint64          session_a,
                                     gint64          session_b,
                                     const char     *metric,
                                     guint           max_points,
                                     GArray        **points_a,
                                     GArray        **points_b,
                                     GError        **error);

/* Retention: sessions that ended more than @max_age_days ago are thinned
 * to one sample per @coarse_ms per metric (their mean) rather than
 * deleted; then, while the database is larger than @max_bytes, the oldest
 * sessions are deleted.  0 disables a limit; a negative or non-finite one,
 * or an age over SM_STORE_MAX_AGE_DAYS, is refused (INVALID_INPUT).  Reports what it did in
 * @thinned and @deleted (optional). */
gboolean   sm_store_apply_retention (SmStore        *store,
                                     double          max_age_days,
                                     gint64          max_bytes,
                                     gint64          coarse_ms,
                                     guint          *thinned,
                                     guint          *deleted,
                                     GError        **error);
/* How far a long task is, 0 to 1; returning FALSE stops it. */
typedef gboolean (*SmStoreProgressFunc) (double   fraction,
                                         gpointer user_data);

typedef enum {
  SM_STORE_EXPORT_NONE      = 0,
  SM_STORE_EXPORT_OVERWRITE = 1 << 0,   /* replace an existing regular file */
} SmStoreExportFlags;

/* CSV: a long-format samples file (session,metric,t_ms,value), or JSON:
 * the whole record of the session — its details, samples by metric, events
 * and every field of its recommendations; a value that is not a finite
 * number (infinity, NaN) is written as null (docs/storage.md).
 * @path is written whole or not at all: an existing file is replaced only
 * with SM_STORE_EXPORT_OVERWRITE (else G_IO_ERROR_EXISTS), and never when
 * it is not a regular file (G_IO_ERROR_NOT_REGULAR_FILE); nothing
 * temporary is left behind on failure.  @progress (optional) hears how far
 * it is every few thousand samples; when it says stop, the export fails
 * with G_IO_ERROR_CANCELLED and @path is left as it was. */
gboolean   sm_store_export          (SmStore            *store,
                                     gint64              session,
                                     const char         *format,
                                     const char         *path,
                                     SmStoreExportFlags  flags,
                                     SmStoreProgressFunc progress,
                                     gpointer            progress_data,
                                     GError            **error);

void       sm_session_info_free     (SmSessionInfo  *info);
void       sm_store_event_free      (SmStoreEvent   *event);
void       sm_store_metric_free     (SmStoreMetric  *metric);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SmStore, sm_store_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SmSessionInfo, sm_session_info_free)

G_END_DECLS
