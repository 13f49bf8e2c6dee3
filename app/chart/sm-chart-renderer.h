/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <cairo.h>
#include <glib.h>

#include "sm-chart-series.h"

G_BEGIN_DECLS

/* Draws a time-series chart onto any cairo surface: the widget's, a PNG,
 * SVG or PDF export, or the benchmark's image.  It keeps nothing between
 * calls: the view says what to draw, the layout says where it went (for
 * hit testing). */

#define SM_CHART_MAX_SERIES  8
#define SM_CHART_MAX_MARKERS 32

typedef struct
{
  const char    *title;
  const char    *unit;                 /* of the y axis: "µs", "ops/s", "MiB", "%" */
  SmChartSeries *series[SM_CHART_MAX_SERIES];
  gboolean       hidden[SM_CHART_MAX_SERIES];
  gboolean       dashed[SM_CHART_MAX_SERIES];   /* a limit, not a measurement */
  guint          n_series;
  double         t0, t1;               /* the time window, s */
  gboolean       log_scale;
  gboolean       fixed_range;          /* else the visible data decide */
  double         y_min, y_max;
  gboolean       dark;                 /* colours for a dark background */
  gboolean       high_contrast;        /* GNOME's high-contrast style: bolder lines and text */
  double         hover_t;              /* crosshair; NaN for none */
  double         select_t0, select_t1; /* selection; NaN for none */
  double         markers[SM_CHART_MAX_MARKERS];   /* knob changes, s */
  /* Whose change each was: drawn in that series' colour (two runs
   * compared), or -1 for the chart's neutral colour. */
  int            marker_series[SM_CHART_MAX_MARKERS];
  /* What changed ("Worker threads: 2 → 1"), shown when the crosshair is
   * on the marker; NULL for none.  Owned by whoever fills the view. */
  const char    *marker_labels[SM_CHART_MAX_MARKERS];
  guint          n_markers;
} SmChartView;

typedef struct
{
  double x, y, width, height;
} SmChartRect;

typedef struct
{
  SmChartRect plot;
  SmChartRect legend[SM_CHART_MAX_SERIES];
  /* Where the crosshair's values and the selection's statistics went
   * (width 0: not drawn): both inside the plot, never over each other. */
  SmChartRect hover_box;
  SmChartRect stats_box;
  double      y_lo, y_hi;              /* the y range drawn (log10 on a log scale) */
} SmChartLayout;

/* The series' colours, for the whole program as people choose them:
 * GNOME's palette, or a colour-blind-safe one (Okabe and Ito's). */
typedef enum {
  SM_CHART_PALETTE_GNOME,
  SM_CHART_PALETTE_COLORBLIND,
} SmChartPalette;

void           sm_chart_set_palette     (SmChartPalette palette);
SmChartPalette sm_chart_get_palette     (void);

/* A view with nothing selected or hovered, over [t0, t1]. */
void     sm_chart_view_init       (SmChartView         *view,
                                   const char          *title,
                                   const char          *unit,
                                   double               t0,
                                   double               t1);

void     sm_chart_render          (cairo_t             *cr,
                                   double               width,
                                   double               height,
                                   const SmChartView   *view,
                                   SmChartLayout       *layout);

/* The colour of series @index, as RGB in 0…1, for light or dark. */
void     sm_chart_series_color    (guint                index,
                                   gboolean             dark,
                                   double              *rgb);

/* The time under x (a pixel of the plot), clamped to the window. */
double   sm_chart_layout_time_at  (const SmChartLayout *layout,
                                   const SmChartView   *view,
                                   double               x);

G_END_DECLS
