/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <stdlib.h>

#include "sm-chart-series.h"
#include "sm-stats.h"

struct _SmChartSeries
{
  char   *name;
  int     color;      /* palette slot; -1: by position in its chart */
  gsize   capacity;
  gsize   start;      /* index of the oldest sample */
  gsize   length;
  double *t;
  double *v;
};

SmChartSeries *
sm_chart_series_new (const char *name,
                     gsize       capacity)
{
  SmChartSeries *series = g_new0 (SmChartSeries, 1);

  g_return_val_if_fail (capacity > 0, NULL);

  series->name = g_strdup (name);
  series->color = -1;
  series->capacity = capacity;
  series->t = g_new (double, capacity);
  series->v = g_new (double, capacity);
  return series;
}

void
sm_chart_series_set_color (SmChartSeries *series,
                           int            slot)
{
  series->color = slot;
}

int
sm_chart_series_get_color (SmChartSeries *series)
{
  return series->color;
}

void
sm_chart_series_free (SmChartSeries *series)
{
  if (series == NULL)
    return;
  g_free (series->name);
  g_free (series->t);
  g_free (series->v);
  g_free (series);
}

const char *
sm_chart_series_get_name (SmChartSeries *series)
{
  return series->name;
}

gsize
sm_chart_series_get_length (SmChartSeries *series)
{
  return series->length;
}

void
sm_chart_series_clear (SmChartSeries *series)
{
  series->start = series->length = 0;
}

void
sm_chart_series_set_capacity (SmChartSeries *series,
                              gsize          capacity)
{
  gsize keep = MIN (series->length, capacity);
  double *t, *v;

  g_return_if_fail (capacity > 0);

  if (capacity == series->capacity)
    return;
  /* The newest @keep samples, unrolled to the start of the new ring. */
  t = g_new (double, capacity);
  v = g_new (double, capacity);
  for (gsize i = 0; i < keep; i++)
    {
      gsize from = (series->start + series->length - keep + i) % series->capacity;

      t[i] = series->t[from];
      v[i] = series->v[from];
    }
  g_free (series->t);
  g_free (series->v);
  series->t = t;
  series->v = v;
  series->capacity = capacity;
  series->start = 0;
  series->length = keep;
}

void
sm_chart_series_append (SmChartSeries *series,
                        double         t,
                        double         value)
{
  gsize at;

  if (series->length == series->capacity)
    {
      at = series->start;
      series->start = (series->start + 1) % series->capacity;
    }
  else
    at = (series->start + series->length++) % series->capacity;
  series->t[at] = t;
  series->v[at] = value;
}

void
sm_chart_series_get_runs (SmChartSeries  *series,
                          const double  **t1,
                          const double  **v1,
                          gsize          *n1,
                          const double  **t2,
                          const double  **v2,
                          gsize          *n2)
{
  gsize first = MIN (series->length, series->capacity - series->start);

  *t1 = series->t + series->start;
  *v1 = series->v + series->start;
  *n1 = first;
  *t2 = series->t;
  *v2 = series->v;
  *n2 = series->length - first;
}

static inline gsize
index_of (SmChartSeries *series,
          gsize          i)
{
  return (series->start + i) % series->capacity;
}

double
sm_chart_series_get_last_time (SmChartSeries *series)
{
  return series->length > 0 ? series->t[index_of (series, series->length - 1)] : NAN;
}

/* The number of samples with time ≤ @t (times are sorted). */
static gsize
count_until (SmChartSeries *series,
             double         t)
{
  gsize lo = 0, hi = series->length;

  while (lo < hi)
    {
      gsize mid = lo + (hi - lo) / 2;

      if (series->t[index_of (series, mid)] <= t)
        lo = mid + 1;
      else
        hi = mid;
    }
  return lo;
}

double
sm_chart_series_value_at (SmChartSeries *series,
                          double         t)
{
  gsize n = count_until (series, t);

  return n > 0 ? series->v[index_of (series, n - 1)] : NAN;
}

static int
compare_doubles (const void *a,
                 const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

gboolean
sm_chart_series_get_stats (SmChartSeries *series,
                           double         t0,
                           double         t1,
                           SmChartStats  *stats)
{
  g_autofree double *values = g_new (double, MAX (series->length, 1));
  guint n = 0;
  double sum = 0;

  for (gsize i = 0; i < series->length; i++)
    {
      gsize at = index_of (series, i);

      if (series->t[at] >= t0 && series->t[at] <= t1 && !isnan (series->v[at]))
        {
          values[n++] = series->v[at];
          sum += series->v[at];
        }
    }
  if (n == 0)
    return FALSE;

  qsort (values, n, sizeof *values, compare_doubles);
  stats->count = n;
  stats->min = values[0];
  stats->max = values[n - 1];
  stats->mean = sum / n;
  /* Nearest rank, as the histograms report percentiles. */
  stats->p50 = values[sm_stats_nearest_rank (n, 50) - 1];
  stats->p99 = values[sm_stats_nearest_rank (n, 99) - 1];
  return TRUE;
}

void
sm_chart_decimate (const double *t,
                   const double *v,
                   gsize         n,
                   double        t0,
                   double        t1,
                   guint         columns,
                   double       *min,
                   double       *max)
{
  double scale = columns / (t1 - t0);
  gsize i = 0, hi_index = n;

  /* Times are sorted: skip to the first sample in the window, then walk
   * the columns in step with the samples. */
  while (i < hi_index)
    {
      gsize mid = i + (hi_index - i) / 2;

      if (t[mid] < t0)
        i = mid + 1;
      else
        hi_index = mid;
    }

  for (guint c = 0; c < columns && i < n; c++)
    {
      double lo = min[c], hi = max[c];

      /* Sample i is in column c while floor ((t − t0)·scale) = c.  A NaN
       * value fails both comparisons and so leaves the span alone. */
      for (; i < n && (t[i] - t0) * scale < c + 1; i++)
        {
          lo = v[i] < lo ? v[i] : lo;
          hi = v[i] > hi ? v[i] : hi;
        }
      min[c] = lo;
      max[c] = hi;
    }
}
