/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "sm-advisor.h"
#include "sm-engine.h"
#include "sm-store.h"

G_BEGIN_DECLS

/* Records an engine's runs into the session database, the same way for the
 * app and for `synmesh run`: one time base (0 is the moment the run
 * begins, on the monitor's clock), one configuration (every knob, the
 * model's identity, the workload, the machine) and the same events.  The
 * front-ends hand it their decisions and never write samples themselves.
 *
 * Thread-safe.  The session's row is made lazily, at the run's first tick
 * or event, on that caller's thread, because making it waits for the
 * database (never the UI thread's job). */
typedef struct _SmRecorder SmRecorder;

/* What drives the run: the built-in workload's arrivals and rate. */
typedef struct
{
  const char *name;       /* the session's name; NULL: "Session <date and time>" */
  const char *workload;   /* arrivals: "poisson", "constant", "closed", … */
  double      rate;       /* offered queries per second, or outstanding when closed */
  gboolean    unique;     /* every query unique (no cache hits) */
} SmRecorderRun;

/* @store and @engine are borrowed and must outlive the recorder. */
SmRecorder *sm_recorder_new              (SmStore             *store,
                                          SmEngine            *engine);
/* Ends the run in progress, if any, and stops listening to the monitor. */
void        sm_recorder_free             (SmRecorder          *recorder);

/* Starts recording a run (ending the one in progress first). */
void        sm_recorder_begin            (SmRecorder          *recorder,
                                          const SmRecorderRun *run);
/* Ends the run: its end time is written; nothing more is recorded. */
void        sm_recorder_end              (SmRecorder          *recorder);
/* Makes the run's row now (waiting for the database) and returns its id,
 * or -1 with the reason: for a front-end that would rather fail at once. */
gint64      sm_recorder_ensure_session   (SmRecorder          *recorder,
                                          GError             **error);
/* The run's session id, or -1 while it has no row yet (or on a failure). */
gint64      sm_recorder_get_session      (SmRecorder          *recorder);

/* A knob change, a model load, a workload change…, now in session time. */
void        sm_recorder_add_event        (SmRecorder          *recorder,
                                          const char          *kind,
                                          const char          *detail);
/* A recommendation as it fires or changes status (times rebased). */
void        sm_recorder_add_recommendation (SmRecorder             *recorder,
                                            const SmRecommendation *recommendation);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SmRecorder, sm_recorder_free)

G_END_DECLS
