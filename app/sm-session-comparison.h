/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "sm-chart.h"
#include "sm-session.h"

G_BEGIN_DECLS

/* Two recorded sessions side by side, both from their starts over the
 * shorter one: a table of means with the change and its verdict (the
 * store's rule, as `synmesh sessions compare` shows it), and charts of p99
 * latency and throughput; under a back button ("sessions.back"). */

#define SM_TYPE_SESSION_COMPARISON (sm_session_comparison_get_type ())

G_DECLARE_FINAL_TYPE (SmSessionComparison, sm_session_comparison, SM, SESSION_COMPARISON, AdwBin)

GtkWidget *sm_session_comparison_new         (void);
SmSession *sm_session_comparison_get_session (SmSessionComparison *self);
void       sm_session_comparison_set_session (SmSessionComparison *self,
                                              SmSession           *session);
/* Compares @a with @b off the main thread; the figures replace what was
 * shown once they are read. */
void       sm_session_comparison_show        (SmSessionComparison *self,
                                              const SmSessionInfo *a,
                                              const SmSessionInfo *b);
SmChart   *sm_session_comparison_get_chart   (SmSessionComparison *self,
                                              guint                index);

G_END_DECLS
