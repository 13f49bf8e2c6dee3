/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "sm-engine.h"
#include "sm-advisor.h"
#include "sm-monitor.h"
#include "sm-store.h"
#include "sm-workload.h"

G_BEGIN_DECLS

/* The live tuning session behind the dashboard: the engine's monitor ticks
 * on its own thread and each snapshot is handed to the main loop as the
 * "snapshot" signal, each recommendation of the advisor (and each outcome
 * it measures) as "recommendation"; the built-in workload loads the engine while the
 * session runs.  Nothing here makes the main thread wait on the engine:
 * stopping the workload (which waits for its queries) runs on a thread. */

#define SM_TYPE_SESSION (sm_session_get_type ())

G_DECLARE_FINAL_TYPE (SmSession, sm_session, SM, SESSION, GObject)

/* @engine must outlive the session.  Runs are recorded in the database
 * at @store_path (NULL: not recorded). */
SmSession  *sm_session_new          (SmEngine   *engine,
                                     const char *store_path);
/* The database, or NULL with the reason (or a recovery notice) below. */
SmStore    *sm_session_get_store    (SmSession  *self);
const char *sm_session_get_store_error (SmSession *self);
SmEngine   *sm_session_get_engine   (SmSession *self);
SmMonitor  *sm_session_get_monitor  (SmSession *self);

/* Starts the workload at @rate queries per second (open loop, Poisson). */
void        sm_session_start        (SmSession *self,
                                     double     rate);
void        sm_session_set_rate     (SmSession *self,
                                     double     rate);
double      sm_session_get_rate     (SmSession *self);
/* The workload's arrivals (Poisson, constant, closed loop) and the weight
 * of each domain's queries (SM_N_DOMAINS weights). */
void        sm_session_set_workload (SmSession      *self,
                                     SmWorkloadMode  mode,
                                     const double   *mix);
/* Retention, off the main thread: sessions that ended more than
 * @max_age_days ago thinned to 10 s samples, then the oldest deleted while
 * the database is over @max_bytes (0: no such limit); "store-pruned"
 * follows when anything changed. */
void        sm_session_apply_retention (SmSession *self,
                                        double     max_age_days,
                                        gint64     max_bytes);
/* Loads a preset (@path NULL) or a .safetensors file, off the main thread;
 * "knob-changed" follows, with the error when it failed. */
void        sm_session_load_model   (SmSession      *self,
                                     SmPreset        preset,
                                     const char     *path);
SmAdvisor  *sm_session_get_advisor  (SmSession *self);
/* The monitor time of the newest snapshot, s (where a knob change shows). */
double      sm_session_get_time     (SmSession *self);
/* The monitor time the latest run of the load started at, s; FALSE when
 * none has run yet. */
gboolean    sm_session_get_run_start (SmSession *self,
                                      double    *t);

typedef enum {
  SM_SESSION_APPLY,
  SM_SESSION_DISMISS,
  SM_SESSION_REVERT,
} SmSessionVerdict;

/* Applies, dismisses or reverts recommendation @id off the main thread (a
 * knob such as the thread count waits for the workers); "knob-changed"
 * follows on the main loop once applied or reverted, or the error. */
void        sm_session_decide       (SmSession        *self,
                                     guint             id,
                                     SmSessionVerdict  verdict);

/* Sets a knob by hand, off the main thread; "knob-changed" follows (with
 * @description) and the change is recorded as an event. */
void        sm_session_set_knob     (SmSession        *self,
                                     SmKnob            knob,
                                     double            value,
                                     const char       *description);
void        sm_session_stop         (SmSession *self);
gboolean    sm_session_get_running  (SmSession *self);

/* For the pages that watch a session: disconnects @watcher's handlers from
 * the session *@slot holds, points *@slot at @session (a new reference, or
 * NULL) and returns whether there is one to connect to. */
gboolean    sm_session_watch        (SmSession     **slot,
                                     SmSession      *session,
                                     gpointer        watcher);

G_END_DECLS
