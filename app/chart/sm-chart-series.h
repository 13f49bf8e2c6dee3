/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* One chart series: a ring buffer of (time, value) samples, times in
 * seconds and never decreasing, NaN values for gaps.  Appending never
 * allocates once the ring is full; the oldest samples make room. */

typedef struct _SmChartSeries SmChartSeries;

typedef struct
{
  guint  count;
  double min;
  double mean;
  double p50;
  double p99;
  double max;
} SmChartStats;

SmChartSeries *sm_chart_series_new      (const char    *name,
                                         gsize          capacity);
/* The palette slot the series is drawn in, whatever its position in its
 * chart: what it measures keeps one colour live, in replay and in exports.
 * -1 (the default): by position. */
void           sm_chart_series_set_color (SmChartSeries *series,
                                          int            slot);
int            sm_chart_series_get_color (SmChartSeries *series);
void           sm_chart_series_free     (SmChartSeries *series);
const char    *sm_chart_series_get_name (SmChartSeries *series);
gsize          sm_chart_series_get_length (SmChartSeries *series);
void           sm_chart_series_clear    (SmChartSeries *series);

/* Room for @capacity samples from now on, keeping the newest of those
 * already there. */
void           sm_chart_series_set_capacity (SmChartSeries *series,
                                             gsize          capacity);

void           sm_chart_series_append   (SmChartSeries *series,
                                         double         t,
                                         double         value);

/* The samples in time order as at most two runs (the ring's two halves);
 * @n2 is 0 when one run holds them all. */
void           sm_chart_series_get_runs (SmChartSeries  *series,
                                         const double  **t1,
                                         const double  **v1,
                                         gsize          *n1,
                                         const double  **t2,
                                         const double  **v2,
                                         gsize          *n2);

/* The last sample's time, or NaN when empty. */
double         sm_chart_series_get_last_time (SmChartSeries *series);

/* The value at or just before @t (what a crosshair shows), NaN if none. */
double         sm_chart_series_value_at (SmChartSeries *series,
                                         double         t);

/* Statistics of the samples with t0 ≤ t ≤ t1 (gaps skipped); FALSE when
 * there are none. */
gboolean       sm_chart_series_get_stats (SmChartSeries *series,
                                         double         t0,
                                         double         t1,
                                         SmChartStats  *stats);

/* Per-pixel-column decimation: for each of @columns equal slices of
 * [t0, t1), the min and max of the samples in it.  Accumulates into
 * @min/@max (start them at +inf/-inf), so that runs can be fed one after
 * another; columns without samples keep their start values.  Drawing the
 * columns' min–max spans shows exactly what every sample would. */
void           sm_chart_decimate        (const double  *t,
                                         const double  *v,
                                         gsize          n,
                                         double         t0,
                                         double         t1,
                                         guint          columns,
                                         double        *min,
                                         double        *max);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SmChartSeries, sm_chart_series_free)

G_END_DECLS
