/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "sm-chart.h"
#include "sm-session.h"

G_BEGIN_DECLS

/* One recorded session's charts read back from the database: latency
 * percentiles, throughput and the memory pool over the whole run, under a
 * back button (the "sessions.back" action of the page it is in). */

#define SM_TYPE_SESSION_REPLAY (sm_session_replay_get_type ())

G_DECLARE_FINAL_TYPE (SmSessionReplay, sm_session_replay, SM, SESSION_REPLAY, AdwBin)

GtkWidget *sm_session_replay_new         (void);
SmSession *sm_session_replay_get_session (SmSessionReplay     *self);
void       sm_session_replay_set_session (SmSessionReplay     *self,
                                          SmSession           *session);
/* Reads @info's samples off the main thread into the charts (what an
 * earlier call still reads is dropped). */
void       sm_session_replay_show        (SmSessionReplay     *self,
                                          const SmSessionInfo *info);
SmChart   *sm_session_replay_get_chart   (SmSessionReplay     *self,
                                          guint                index);
/* The charts of the mesh peers' figures the session recorded, after the
 * fixed ones: none when it recorded none. */
guint      sm_session_replay_get_n_peer_charts (SmSessionReplay *self);
SmChart   *sm_session_replay_get_peer_chart    (SmSessionReplay *self,
                                                guint            index);
/* The name of the session shown, or NULL before one. */
const char *sm_session_replay_get_shown_name   (SmSessionReplay *self);
/* A PDF of the session shown (issue 17, defect 8): its name, when, where
 * and with which settings it ran, the charts as they are (its markers
 * too) and its own recommendations with their outcomes. */
void       sm_session_replay_save_report_async  (SmSessionReplay     *self,
                                                 const char          *path,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
gboolean   sm_session_replay_save_report_finish (SmSessionReplay     *self,
                                                 GAsyncResult        *result,
                                                 GError             **error);

G_END_DECLS
