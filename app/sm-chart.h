/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "sm-chart-renderer.h"

G_BEGIN_DECLS

/* A live time-series chart: the renderer (chart/) on screen, with a
 * crosshair that reads exact values, drag to select a range (statistics
 * over it), legend entries that toggle their series, and a window that
 * follows the newest sample while live and stays put while paused (the
 * data keep coming either way). */

#define SM_TYPE_CHART (sm_chart_get_type ())

G_DECLARE_FINAL_TYPE (SmChart, sm_chart, SM, CHART, GtkWidget)

GtkWidget     *sm_chart_new            (const char    *title,
                                        const char    *unit);

/* Takes ownership of @series; returns its index. */
guint          sm_chart_add_series     (SmChart       *self,
                                        SmChartSeries *series,
                                        gboolean       dashed);
SmChartSeries *sm_chart_get_series     (SmChart       *self,
                                        guint          index);
guint          sm_chart_get_n_series   (SmChart       *self);

void           sm_chart_set_series_visible (SmChart   *self,
                                        guint          index,
                                        gboolean       visible);
gboolean       sm_chart_get_series_visible (SmChart   *self,
                                        guint          index);

/* Seconds shown back from the newest sample; 0 for the whole session. */
void           sm_chart_set_window     (SmChart       *self,
                                        double         seconds);
void           sm_chart_set_live       (SmChart       *self,
                                        gboolean       live);
gboolean       sm_chart_get_live       (SmChart       *self);
void           sm_chart_set_log_scale  (SmChart       *self,
                                        gboolean       log_scale);
/* Zooms into the selection (FALSE without one): the view holds it, not
 * following new samples, until sm_chart_zoom_out() returns to the window
 * and the following it had.  Enter and Backspace on a focused chart. */
gboolean       sm_chart_zoom_to_selection (SmChart    *self);
void           sm_chart_zoom_out       (SmChart       *self);
gboolean       sm_chart_get_zoomed     (SmChart       *self);
/* A vertical marker (a knob changed) at @t seconds; @label (optional)
 * says what changed, shown when the crosshair is on it. */
void           sm_chart_add_marker     (SmChart       *self,
                                        double         t,
                                        const char    *label);
/* The same, in series @series' colour: whose change it was. */
void           sm_chart_add_series_marker (SmChart    *self,
                                        double         t,
                                        int            series,
                                        const char    *label);
void           sm_chart_clear_markers  (SmChart       *self);

/* The selected range [t0, t1], or FALSE. */
gboolean       sm_chart_get_selection  (SmChart       *self,
                                        double        *t0,
                                        double        *t1);
void           sm_chart_set_selection  (SmChart       *self,
                                        double         t0,
                                        double         t1);

/* New samples were appended: follow them (when live) and redraw. */
void           sm_chart_samples_added  (SmChart       *self);

/* The view as drawn last (window, hidden series, selection). */
const SmChartView *sm_chart_get_view   (SmChart       *self);

/* Writes the chart as PNG or SVG (by @path's extension) at @width×@height. */
gboolean       sm_chart_export         (SmChart       *self,
                                        const char    *path,
                                        int            width,
                                        int            height,
                                        GError       **error);

G_END_DECLS
