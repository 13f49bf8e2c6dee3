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

G_END_DECLS
