/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "sm-store.h"

G_BEGIN_DECLS

/* The store's blocking calls, off the calling thread, for the app: each
 * runs on a GTask thread and its answer comes back in the calling
 * thread's default main context.  The store stays valid until every one
 * of them has returned: sm_store_free() waits for them (cancel the long
 * ones, an export, first).  Cancelling one started on a thread it has not
 * reached yet means it does nothing and fails with G_IO_ERROR_CANCELLED. */

/* @metric over [from_ms, to_ms] in at most @max_points buckets. */
void       sm_store_read_metric_async     (SmStore             *store,
                                           gint64               session,
                                           const char          *metric,
                                           gint64               from_ms,
                                           gint64               to_ms,
                                           guint                max_points,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
GArray    *sm_store_read_metric_finish    (SmStore             *store,
                                           GAsyncResult        *result,
                                           GError             **error);

/* The sessions (SmSessionInfo), the recommendations of @session
 * (SmRecommendation), its events (SmStoreEvent) or its metrics
 * (SmStoreMetric); all end in sm_store_list_finish(). */
void       sm_store_list_sessions_async        (SmStore             *store,
                                                GCancellable        *cancellable,
                                                GAsyncReadyCallback  callback,
                                                gpointer             user_data);
void       sm_store_list_recommendations_async (SmStore             *store,
                                                gint64               session,
                                                GCancellable        *cancellable,
                                                GAsyncReadyCallback  callback,
                                                gpointer             user_data);
void       sm_store_list_events_async          (SmStore             *store,
                                                gint64               session,
                                                GCancellable        *cancellable,
                                                GAsyncReadyCallback  callback,
                                                gpointer             user_data);
/* The metrics of @session whose key starts with @prefix (SmStoreMetric). */
void       sm_store_list_metrics_async         (SmStore             *store,
                                                gint64               session,
                                                const char          *prefix,
                                                GCancellable        *cancellable,
                                                GAsyncReadyCallback  callback,
                                                gpointer             user_data);
GPtrArray *sm_store_list_finish                (SmStore             *store,
                                                GAsyncResult        *result,
                                                GError             **error);

void       sm_store_delete_session_async  (SmStore             *store,
                                           gint64               session,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
gboolean   sm_store_delete_session_finish (SmStore             *store,
                                           GAsyncResult        *result,
                                           GError             **error);
void       sm_store_rename_session_async  (SmStore             *store,
                                           gint64               session,
                                           const char          *name,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
gboolean   sm_store_rename_session_finish (SmStore             *store,
                                           GAsyncResult        *result,
                                           GError             **error);

/* sm_store_compare() for each of the NULL-terminated @metrics.  A metric
 * one of the sessions lacks is not an error: its entries in @points_a and
 * @points_b (GArrays of SmStorePoint, one per metric, in order) are NULL. */
void       sm_store_compare_async         (SmStore             *store,
                                           gint64               session_a,
                                           gint64               session_b,
                                           const char * const  *metrics,
                                           guint                max_points,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
gboolean   sm_store_compare_finish        (SmStore             *store,
                                           GAsyncResult        *result,
                                           GPtrArray          **points_a,
                                           GPtrArray          **points_b,
                                           GError             **error);

/* sm_store_export() on a thread.  @progress (optional) hears how far it
 * is in the calling thread's main context — coalesced, so never more often
 * than the main loop turns, and never after @callback; returning FALSE
 * stops the export as cancelling @cancellable does (G_IO_ERROR_CANCELLED,
 * @path left as it was).  @progress_data must outlive the export. */
void       sm_store_export_async          (SmStore             *store,
                                           gint64               session,
                                           const char          *format,
                                           const char          *path,
                                           SmStoreExportFlags   flags,
                                           SmStoreProgressFunc  progress,
                                           gpointer             progress_data,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
gboolean   sm_store_export_finish         (SmStore             *store,
                                           GAsyncResult        *result,
                                           GError             **error);

G_END_DECLS
