/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>

#include "sm-stats.h"

guint64
sm_stats_nearest_rank (guint64 n,
                       double  percent)
{
  guint64 rank;

  g_return_val_if_fail (n > 0, 1);

  percent = CLAMP (percent, 0.0, 100.0);
  rank = (guint64) ceil (percent / 100.0 * (double) n);
  return CLAMP (rank, 1, n);
}
