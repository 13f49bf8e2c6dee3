/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "sm-metric-ids.h"
#include "sm-metric-series.h"

/* Slots of the chart palette (blue, orange, green, …).  Metrics charted
 * together differ; a chart's first measurement is blue, as before. */
static const struct {
  const char *metric;
  int         slot;
} colors[] = {
  { SM_METRIC_ID_LATENCY_P50, 0 },
  { SM_METRIC_ID_LATENCY_P90, 1 },
  { SM_METRIC_ID_LATENCY_P99, 2 },
  { SM_METRIC_ID_THROUGHPUT, 0 },
  { SM_METRIC_ID_POOL_IN_USE, 0 },
  { SM_METRIC_ID_POOL_RESERVED, 1 },
  { SM_METRIC_ID_POOL_LIMIT, 2 },
  { SM_METRIC_ID_POOL_FRAGMENTATION, 0 },
  { SM_METRIC_ID_QUEUE_DEPTH, 0 },
  { SM_METRIC_ID_MEAN_BATCH, 1 },
  { SM_METRIC_ID_GPU_BUSY, 0 },
  { SM_METRIC_ID_GPU_BATCHES, 0 },
  { SM_METRIC_ID_STAGE_GPU_P50, 0 },
  { SM_METRIC_ID_STAGE_GPU_P99, 2 },   /* as p99 end to end */
};

int
sm_metric_series_color (const char *metric_id)
{
  for (guint i = 0; i < G_N_ELEMENTS (colors); i++)
    if (g_strcmp0 (colors[i].metric, metric_id) == 0)
      return colors[i].slot;
  return -1;
}

SmChartSeries *
sm_metric_series_new (const char *metric_id,
                      const char *name,
                      gsize       capacity)
{
  SmChartSeries *series = sm_chart_series_new (name, capacity);

  sm_chart_series_set_color (series, sm_metric_series_color (metric_id));
  return series;
}
