/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "sm-engine.h"

G_BEGIN_DECLS

/* The built-in load generator.  Open loop (Poisson or constant rate): each
 * query has an intended start time on a schedule that does not wait for
 * answers, and its latency is measured from that time, so a stall shows in
 * every query it delays — no coordinated omission.  Closed loop: a fixed
 * number of queries outstanding, each answer releasing the next.  Queries
 * come from the corpus in data/corpus/queries.txt, by a domain mix. */

typedef enum {
  SM_WORKLOAD_POISSON,
  SM_WORKLOAD_CONSTANT,
  SM_WORKLOAD_CLOSED,
} SmWorkloadMode;

/* Beyond this many queries in flight an open-loop generator sheds arrivals
 * (and counts them) rather than let memory grow without bound. */
#define SM_WORKLOAD_MAX_IN_FLIGHT 100000

typedef struct _SmWorkload SmWorkload;

typedef struct
{
  guint64 submitted;
  guint64 completed;
  guint64 failed;
  guint64 shed;         /* open-loop arrivals dropped at SM_WORKLOAD_MAX_IN_FLIGHT */
  guint64 in_flight;
} SmWorkloadCounts;

SmWorkload *sm_workload_new           (SmEngine       *engine,
                                       SmWorkloadMode  mode,
                                       double          rate,
                                       guint64         seed);
void        sm_workload_free          (SmWorkload     *workload);

/* Queries per second (open loop) or queries outstanding (closed loop). */
void        sm_workload_set_rate      (SmWorkload     *workload,
                                       double          rate);
void        sm_workload_set_mode      (SmWorkload     *workload,
                                       SmWorkloadMode  mode);
/* Relative weight of each domain's queries (all equal by default). */
void        sm_workload_set_mix       (SmWorkload     *workload,
                                       const double   *weights);
/* Appends a unique number to every query, so that no two are alike (a
 * cache then only costs). */
void        sm_workload_set_unique    (SmWorkload     *workload,
                                       gboolean        unique);

void        sm_workload_start         (SmWorkload     *workload);
/* Stops generating and waits for the queries in flight. */
void        sm_workload_stop          (SmWorkload     *workload);

void        sm_workload_get_counts    (SmWorkload       *workload,
                                       SmWorkloadCounts *counts);
/* Queries answered per second over the next @seconds (blocks). */
double      sm_workload_measure_rate  (SmWorkload       *workload,
                                       double            seconds);

/* End-to-end latency of the answered queries since start, from their
 * intended start times. */
SmHistogramSnapshot *sm_workload_get_latency (SmWorkload *workload);

const char *sm_workload_mode_get_name  (SmWorkloadMode  mode);
gboolean    sm_workload_mode_from_name (const char     *name,
                                        SmWorkloadMode *mode);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SmWorkload, sm_workload_free)

G_END_DECLS
