/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The one definition of a percentile in this project: nearest rank, the
 * smallest value with at least @percent % of the @n values at or below it.
 * Returns its 1-based rank (1…@n; @n > 0).  The histograms, the charts'
 * range statistics and the app's own frame timings all use it. */
guint64 sm_stats_nearest_rank     (guint64       n,
                                   double        percent);

G_END_DECLS
