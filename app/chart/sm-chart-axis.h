/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Axes people read at a glance: ticks at 1, 2 or 5 times a power of ten
 * (decades on a log scale), values in the unit that keeps them short. */

#define SM_CHART_MAX_TICKS 16

/* Tick values covering [lo, hi], at most @max_ticks (≤ SM_CHART_MAX_TICKS)
 * of them, into @ticks; returns how many.  On a log scale (lo > 0) the
 * ticks are the powers of ten inside the range, every other one or fewer
 * when there are too many. */
guint  sm_chart_axis_ticks     (double      lo,
                                double      hi,
                                guint       max_ticks,
                                gboolean    log_scale,
                                double     *ticks);

/* Ticks of a time axis over [t0, t1] seconds, as clocks are read: every
 * 1, 2, 5, 10, 15 or 30 seconds or minutes, or 1, 2, 3, 6 or 12 hours
 * (1:00, 2:00 — not the 0:50, 1:40 of decimal steps). */
guint  sm_chart_axis_time_ticks (double      t0,
                                 double      t1,
                                 guint       max_ticks,
                                 double     *ticks);

/* Rounds [lo, hi] out to the ticks' step so a chart does not end between
 * two ticks. */
void   sm_chart_axis_nice_range (double     *lo,
                                 double     *hi,
                                 guint       max_ticks);

/* How latencies (values in µs) are written: scaled to each value (ns to
 * s), or always in one unit so that columns of figures compare at a
 * glance.  One choice for the whole program, as people set it. */
typedef enum
{
  SM_CHART_TIME_AUTO,
  SM_CHART_TIME_MICROSECONDS,
  SM_CHART_TIME_MILLISECONDS,
} SmChartTimeUnit;

void             sm_chart_set_time_unit (SmChartTimeUnit unit);
SmChartTimeUnit  sm_chart_get_time_unit (void);

/* "850 µs", "1.25 ms", "12.3 k ops/s", "512 MiB", "1.5 GiB", "45 %": the
 * value in @unit ("µs", "ops/s", "MiB", "%", "" …), scaled to a readable
 * magnitude (latencies as sm_chart_set_time_unit() says), with 3
 * significant digits. */
char  *sm_chart_format_value   (double      value,
                                const char *unit);

/* "0:42", "12:05", "1:02:03": seconds as a clock. */
char  *sm_chart_format_time    (double      seconds);

G_END_DECLS
