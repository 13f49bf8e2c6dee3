/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "sm-engine-bench.h"
#include "sm-features.h"
#include "sm-histogram.h"
#include "sm-router.h"

#define QUERIES 200000

/* Twenty words, a mix of domains, as a user would type them. */
static const char *const query =
  "Please explain why this Python function returns the wrong sum when I pass 17 and 23 to it";

void
sm_engine_bench (SmBenchReport *report)
{
  const SmRouterConfig config = { TRUE, 3, SM_ROUTER_DEFAULT_THRESHOLD };
  g_autoptr(SmHistogram) histogram = sm_histogram_new ();
  g_autoptr(SmHistogramSnapshot) snapshot = NULL;
  SmHistogramRecorder *recorder = sm_histogram_add_recorder (histogram);
  float features[256];
  volatile guint sink = 0;

  /* Each query timed on its own, as the engine's stage timer does. */
  for (guint i = 0; i < QUERIES; i++)
    {
      double t0 = sm_bench_now ();
      SmFeatureSummary summary;
      SmRoute route;

      sm_features_extract (query, -1, features, G_N_ELEMENTS (features), &summary);
      sm_router_route (&summary, &config, &route);
      sink += route.domains[0];
      sm_histogram_recorder_record (recorder, (guint64) ((sm_bench_now () - t0) * 1e9));
    }

  snapshot = sm_histogram_snapshot (histogram);
  sm_bench_report_add_target (report, "features+routing", "words=20 width=256 stat=p50",
                              sm_histogram_snapshot_get_percentile (snapshot, 50) / 1e3, "µs", "<= 2");
  sm_bench_report_add (report, "features+routing", "words=20 width=256 stat=p99",
                       sm_histogram_snapshot_get_percentile (snapshot, 99) / 1e3, "µs");
}
