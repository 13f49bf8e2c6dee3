/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "sm-advisor.h"
#include "sm-chart-renderer.h"

G_BEGIN_DECLS

/* A tuning result to share: a PDF with a title, the settings it ran with
 * (optional), the charts as they are on screen (vector, light colours)
 * and the recommendations with their outcomes.  Drawn by the same renderer as the screen. */
gboolean sm_report_write_pdf (const char         *path,
                              const char         *title,
                              const char         *settings,
                              const SmChartView **views,
                              guint               n_views,
                              GPtrArray          *recommendations,
                              GError            **error);

G_END_DECLS
