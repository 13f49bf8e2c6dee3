/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "sm-chart.h"
#include "sm-session.h"

G_BEGIN_DECLS

/* The Dashboard page: the load switch and rate, tiles with the newest
 * figures (p99, throughput, pool, fragmentation, SIMD utilisation,
 * kernels), and live charts of latency percentiles, throughput, the
 * memory pool, fragmentation and the queue, over a chosen time window.
 * Space pauses or resumes the charts; Ctrl+1…4 pick the window. */

#define SM_TYPE_DASHBOARD (sm_dashboard_get_type ())

G_DECLARE_FINAL_TYPE (SmDashboard, sm_dashboard, SM, DASHBOARD, AdwBin)

GtkWidget  *sm_dashboard_new           (void);
SmSession  *sm_dashboard_get_session   (SmDashboard *self);
void        sm_dashboard_set_session   (SmDashboard *self,
                                        SmSession   *session);
/* Seconds shown back from the newest sample; 0: the whole session. */
void        sm_dashboard_set_window    (SmDashboard *self,
                                        double       seconds);
/* Live history: the charts keep @seconds of measurements taken every
 * @interval_ms (the newest ones when it shrinks), within a bound on
 * memory; returns the samples each series now keeps. */
gsize       sm_dashboard_set_history   (SmDashboard *self,
                                        guint        seconds,
                                        guint        interval_ms);
/* A knob changed at @t (monitor time, s): a marker on every chart. */
void        sm_dashboard_add_marker    (SmDashboard *self,
                                        double       t,
                                        const char  *what);
SmChart    *sm_dashboard_get_chart     (SmDashboard *self,
                                        guint        index);
/* Every chart, shown or not: the GPU's are hidden until it is used. */
guint       sm_dashboard_get_n_charts  (SmDashboard *self);
gboolean    sm_dashboard_get_chart_shown (SmDashboard *self,
                                        guint        index);
/* Each chart shown, into @dir as synaptic-mesh-CHART.@format ("png" or
 * "svg"), named by chart: synaptic-mesh-latency.png, …-throughput.png.
 * Returns how many it wrote, 0 with @error set. */
guint       sm_dashboard_export_charts (SmDashboard *self,
                                        const char  *dir,
                                        const char  *format,
                                        GError     **error);
/* The session report (PDF): the charts as shown and the recommendations. */
gboolean    sm_dashboard_write_report  (SmDashboard *self,
                                        const char  *path,
                                        GError     **error);
/* The text tile @index shows now (for tests and screen readers). */
const char *sm_dashboard_get_tile_text (SmDashboard *self,
                                        guint        index);
/* The line under a tile's figure ("backend auto · GPU off"). */
const char *sm_dashboard_get_tile_detail (SmDashboard *self,
                                          guint        index);

G_END_DECLS
