/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "sm-engine.h"

G_BEGIN_DECLS

/* The tuning advisor: rules over the monitor's snapshots.  A rule fires
 * when its condition has held for a whole window of ticks (hysteresis), and
 * may fire again only after the condition has been clear for a window.
 * Each recommendation names the evidence (the numbers), the expected effect
 * and one knob change that sm_advisor_apply() makes; once applied, the
 * advisor measures the rule's metric over a window after the change
 * (from the tick after the one it straddles) against the window before it, and records the outcome — flagging a
 * change that made things worse, which sm_advisor_revert() undoes. */

#define SM_ADVISOR_DEFAULT_WINDOW       8      /* ticks: 2 s at 250 ms */
#define SM_ADVISOR_DEFAULT_TARGET_US    1000.0 /* the p99 latency target */
/* The error a lower weight precision may cost: none until the user says
 * how much accuracy may buy speed (Preferences). */
#define SM_ADVISOR_DEFAULT_PRECISION_BOUND 0.0

typedef enum {
  SM_SEVERITY_INFO,
  SM_SEVERITY_WARNING,
  SM_SEVERITY_CRITICAL,
} SmSeverity;

typedef enum {
  SM_RECOMMENDATION_OPEN,
  SM_RECOMMENDATION_APPLIED,      /* waiting for its outcome, or measured */
  SM_RECOMMENDATION_DISMISSED,
  SM_RECOMMENDATION_REVERTED,
} SmRecommendationStatus;

/* What a recommendation changes. */
typedef enum {
  SM_KNOB_BACKEND,
  SM_KNOB_THREADS,
  SM_KNOB_MAX_BATCH,
  SM_KNOB_MAX_WAIT_US,
  SM_KNOB_CACHE_SIZE,
  SM_KNOB_POOL_LIMIT,
  SM_KNOB_COMPACT_POOL,           /* an action, no value */
  SM_KNOB_OFFLOAD_SHARE,          /* % of queries sent to mesh peers */
  SM_KNOB_GPU_MODE,               /* an SmGpuMode; auto calibrates (seconds) */
  SM_KNOB_PRECISION,              /* an SmPrecision: the weights' */
} SmKnob;

typedef struct
{
  guint                   id;
  const char             *rule;          /* "simd-utilisation", … */
  char                   *also_rules;    /* other rules that proposed the same change while
                                          * it was open, space separated, or NULL */
  SmSeverity              severity;
  char                   *title;
  char                   *evidence;      /* the numbers that made it fire */
  char                   *expected;      /* what the change should do */
  char                   *action;        /* the change, for a button */
  SmKnob                  knob;
  double                  old_value;
  double                  new_value;
  SmRecommendationStatus  status;
  gint64                  fired_ms;      /* monitor time */
  char                   *outcome;       /* "p99 41 µs → 17 µs, −59 %", once measured */
  double                  before;        /* the outcome's figures, NaN until measured */
  double                  after;
  gboolean                worse;         /* the outcome went the wrong way */
  guint                   repeats;       /* times it fired again while still open */
} SmRecommendation;

typedef struct _SmAdvisor SmAdvisor;

/* Called on the monitor's thread when a recommendation fires or its
 * outcome is measured (@recommendation is a copy the callee may keep). */
typedef void (*SmAdvisorFunc) (SmAdvisor        *advisor,
                               SmRecommendation *recommendation,
                               gboolean          outcome,
                               gpointer          user_data);

SmAdvisor *sm_advisor_new                (SmEngine      *engine);
void       sm_advisor_free               (SmAdvisor     *advisor);

/* Evaluates on every tick of the engine's monitor from now on. */
void       sm_advisor_attach             (SmAdvisor     *advisor,
                                          SmAdvisorFunc  func,
                                          gpointer       user_data);
/* One evaluation (the monitor's tick calls it; so can tests). */
void       sm_advisor_evaluate           (SmAdvisor         *advisor,
                                          SmMonitorSnapshot *snapshot);

void       sm_advisor_set_window         (SmAdvisor     *advisor,
                                          guint          ticks);
void       sm_advisor_set_latency_target (SmAdvisor     *advisor,
                                          double         p99_us);
/* How recommendation texts written from now on give latencies: in the
 * unit that suits each (ns to s), or always in µs or ms — the app's
 * "latency-unit" setting, in its order. */
typedef enum {
  SM_LATENCY_UNIT_AUTO,
  SM_LATENCY_UNIT_MICROSECONDS,
  SM_LATENCY_UNIT_MILLISECONDS,
} SmLatencyUnit;

void       sm_advisor_set_latency_unit   (SmAdvisor     *advisor,
                                          SmLatencyUnit  unit);
/* The largest error, relative to the largest output, that a lower weight
 * precision may cost (as measured on the calibration batch) for the
 * advisor to propose it; 0, the default, never proposes one. */
void       sm_advisor_set_precision_bound (SmAdvisor    *advisor,
                                          double         relative);
/* Applies every recommendation as it fires (synmesh run --auto-apply). */
void       sm_advisor_set_auto_apply     (SmAdvisor     *advisor,
                                          gboolean       auto_apply);

gboolean   sm_advisor_apply              (SmAdvisor     *advisor,
                                          guint          id,
                                          GError       **error);
gboolean   sm_advisor_dismiss            (SmAdvisor     *advisor,
                                          guint          id,
                                          GError       **error);
gboolean   sm_advisor_revert             (SmAdvisor     *advisor,
                                          guint          id,
                                          GError       **error);

/* A knob's value, and changing it by hand (the dashboard's tuning panel):
 * the same setters a recommendation uses. */
double     sm_advisor_get_knob           (SmAdvisor     *advisor,
                                          SmKnob         knob);
gboolean   sm_advisor_set_knob           (SmAdvisor     *advisor,
                                          SmKnob         knob,
                                          double         value,
                                          GError       **error);

/* Copies of every recommendation so far, oldest first. */
GPtrArray *sm_advisor_list               (SmAdvisor     *advisor);

SmRecommendation *sm_recommendation_copy (const SmRecommendation *recommendation);
/* Whether @rule made @recommendation, first or as one of its also_rules. */
gboolean   sm_recommendation_has_rule    (const SmRecommendation *recommendation,
                                          const char             *rule);
void       sm_recommendation_free        (SmRecommendation *recommendation);
const char *sm_severity_get_name         (SmSeverity     severity);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SmAdvisor, sm_advisor_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SmRecommendation, sm_recommendation_free)

G_END_DECLS
