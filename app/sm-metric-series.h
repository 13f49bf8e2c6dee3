/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "sm-chart-series.h"

G_BEGIN_DECLS

/* A chart series of metric @metric_id (SM_METRIC_ID_*), in the colour
 * that metric has in every view: p99 is the same green live, in replay
 * and in the exports, wherever it sits in its chart (issue 17, defect 3). */
SmChartSeries *sm_metric_series_new   (const char *metric_id,
                                       const char *name,
                                       gsize       capacity);
/* That colour's palette slot; -1 for a metric without one. */
int            sm_metric_series_color (const char *metric_id);

G_END_DECLS
