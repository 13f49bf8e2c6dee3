/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include "sm-chart-axis.h"

/* The smallest 1, 2 or 5 × 10^k step that covers @span in @max_ticks. */
static double
nice_step (double span,
           guint  max_ticks)
{
  double raw = span / MAX (1, max_ticks - 1);
  double magnitude = pow (10, floor (log10 (raw)));
  double fraction = raw / magnitude;

  if (fraction <= 1)
    return magnitude;
  if (fraction <= 2)
    return 2 * magnitude;
  if (fraction <= 5)
    return 5 * magnitude;
  return 10 * magnitude;
}

guint
sm_chart_axis_ticks (double    lo,
                     double    hi,
                     guint     max_ticks,
                     gboolean  log_scale,
                     double   *ticks)
{
  guint n = 0;

  max_ticks = CLAMP (max_ticks, 2, SM_CHART_MAX_TICKS);
  if (!(hi > lo) || !isfinite (lo) || !isfinite (hi))
    return 0;

  if (log_scale && lo > 0)
    {
      int first = (int) ceil (log10 (lo) - 1e-9), last = (int) floor (log10 (hi) + 1e-9);
      int every = 1;

      while (last >= first && (guint) ((last - first) / every + 1) > max_ticks)
        every++;
      for (int e = first; e <= last && n < max_ticks; e += every)
        ticks[n++] = pow (10, e);
      return n;
    }

  {
    double step = nice_step (hi - lo, max_ticks);
    double first = ceil (lo / step - 1e-9) * step;

    for (double tick = first; tick <= hi + step * 1e-9 && n < max_ticks; tick += step)
      /* -0 and 1e-17 both print as 0. */
      ticks[n++] = fabs (tick) < step * 1e-9 ? 0 : tick;
  }
  return n;
}

guint
sm_chart_axis_time_ticks (double  t0,
                          double  t1,
                          guint   max_ticks,
                          double *ticks)
{
  static const double steps[] = {
    1, 2, 5, 10, 15, 30,
    60, 2 * 60, 5 * 60, 10 * 60, 15 * 60, 30 * 60,
    3600, 2 * 3600, 3 * 3600, 6 * 3600, 12 * 3600, 24 * 3600,
  };
  double step = steps[G_N_ELEMENTS (steps) - 1];
  guint n = 0;

  max_ticks = CLAMP (max_ticks, 2, SM_CHART_MAX_TICKS);
  if (!(t1 > t0) || !isfinite (t0) || !isfinite (t1))
    return 0;
  /* Under a second, or over days: the decimal steps serve. */
  if (t1 - t0 < max_ticks - 1 || (t1 - t0) / step > max_ticks - 1)
    return sm_chart_axis_ticks (t0, t1, max_ticks, FALSE, ticks);
  for (guint i = 0; i < G_N_ELEMENTS (steps); i++)
    if (floor (t1 / steps[i]) - ceil (t0 / steps[i]) + 1 <= max_ticks)
      {
        step = steps[i];
        break;
      }
  for (double tick = ceil (t0 / step) * step; tick <= t1 && n < max_ticks; tick += step)
    ticks[n++] = tick;
  return n;
}

void
sm_chart_axis_nice_range (double *lo,
                          double *hi,
                          guint   max_ticks)
{
  double step;

  if (!(*hi > *lo))
    {
      /* A flat line still gets an axis around it; one of zeros (an idle
       * queue, no throughput) 0 … 1, never a negative one: a non-negative
       * series keeps a non-negative axis. */
      double pad = *lo != 0 ? fabs (*lo) * 0.1 : 1;

      *lo = *lo >= 0 ? MAX (0.0, *lo - pad) : *lo - pad;
      *hi += pad;
    }
  step = nice_step (*hi - *lo, CLAMP (max_ticks, 2, SM_CHART_MAX_TICKS));
  *lo = floor (*lo / step + 1e-9) * step;
  *hi = ceil (*hi / step - 1e-9) * step;
}

/* Three significant digits, without trailing zeros. */
static char *
three_digits (double      value,
              const char *suffix)
{
  double magnitude = fabs (value);
  int decimals = magnitude >= 100 || magnitude == 0 ? 0 : magnitude >= 10 ? 1 : magnitude >= 1 ? 2
                 : MIN (6, 2 - (int) floor (log10 (magnitude)));
  char *text = g_strdup_printf ("%.*f", decimals, value);
  char *end;

  if (decimals > 0)
    {
      end = text + strlen (text) - 1;
      while (*end == '0')
        *end-- = '\0';
      if (*end == '.')
        *end = '\0';
    }
  if (suffix[0] != '\0')
    {
      char *with = g_strdup_printf ("%s %s", text, suffix);

      g_free (text);
      text = with;
    }
  return text;
}

static gint time_unit = SM_CHART_TIME_AUTO;   /* an SmChartTimeUnit */

void
sm_chart_set_time_unit (SmChartTimeUnit unit)
{
  g_atomic_int_set (&time_unit, unit);
}

SmChartTimeUnit
sm_chart_get_time_unit (void)
{
  return g_atomic_int_get (&time_unit);
}

char *
sm_chart_format_value (double      value,
                       const char *unit)
{
  double magnitude = fabs (value);
  SmChartTimeUnit time_unit_now = sm_chart_get_time_unit ();

  if (isnan (value))
    return g_strdup ("—");

  if (g_str_equal (unit, "µs") && time_unit_now == SM_CHART_TIME_MICROSECONDS)
    return three_digits (value, "µs");
  if (g_str_equal (unit, "µs") && time_unit_now == SM_CHART_TIME_MILLISECONDS)
    return three_digits (value / 1e3, "ms");
  if (g_str_equal (unit, "µs"))
    {
      if (magnitude >= 1e6)
        return three_digits (value / 1e6, "s");
      if (magnitude >= 1e3)
        return three_digits (value / 1e3, "ms");
      if (magnitude > 0 && magnitude < 1)
        return three_digits (value * 1e3, "ns");
      return three_digits (value, "µs");
    }
  if (g_str_equal (unit, "MiB"))
    {
      if (magnitude >= 1024)
        return three_digits (value / 1024, "GiB");
      if (magnitude > 0 && magnitude < 1)
        return three_digits (value * 1024, "KiB");
      return three_digits (value, "MiB");
    }
  if (g_str_equal (unit, "%"))
    return three_digits (value, "%");

  /* Rates and counts: k and M before the unit. */
  {
    g_autofree char *scaled_unit = NULL;

    if (magnitude >= 1e6)
      {
        scaled_unit = g_strdup_printf ("M%s%s", unit[0] != '\0' ? " " : "", unit);
        return three_digits (value / 1e6, scaled_unit);
      }
    if (magnitude >= 1e3)
      {
        scaled_unit = g_strdup_printf ("k%s%s", unit[0] != '\0' ? " " : "", unit);
        return three_digits (value / 1e3, scaled_unit);
      }
    return three_digits (value, unit);
  }
}

char *
sm_chart_format_time (double seconds)
{
  gint64 s = (gint64) floor (MAX (0, seconds));

  if (s >= 3600)
    return g_strdup_printf ("%" G_GINT64_FORMAT ":%02d:%02d", s / 3600, (int) (s / 60 % 60), (int) (s % 60));
  return g_strdup_printf ("%d:%02d", (int) (s / 60), (int) (s % 60));
}
