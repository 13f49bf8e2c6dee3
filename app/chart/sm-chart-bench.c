/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>

#include "sm-chart-bench.h"
#include "sm-chart-renderer.h"

#define WIDTH        1200
#define CHART_HEIGHT 280
#define N_CHARTS     4

/* The dashboard's charts: latency (3 series), throughput (1), pool (3,
 * the limit dashed), queue (2); every series with @points samples of a
 * noisy signal over 600 s. */
typedef struct
{
  SmChartSeries *series[N_CHARTS][3];
  SmChartView    views[N_CHARTS];
  cairo_t       *cr;
} Frame;

static const struct {
  const char *title;
  const char *unit;
  guint       n_series;
  const char *names[3];
} charts[N_CHARTS] = {
  { "Latency", "µs", 3, { "p50", "p95", "p99" } },
  { "Throughput", "ops/s", 1, { "ops/s" } },
  { "Memory pool", "MiB", 3, { "in use", "reserved", "limit" } },
  { "Queue", "", 2, { "depth", "mean batch" } },
};

static void
frame_init (Frame           *f,
            cairo_surface_t *surface,
            guint            points)
{
  GRand *rand = g_rand_new_with_seed (42);

  f->cr = cairo_create (surface);
  for (guint c = 0; c < N_CHARTS; c++)
    {
      sm_chart_view_init (&f->views[c], charts[c].title, charts[c].unit, 0, 600);
      f->views[c].log_scale = c == 0;
      for (guint s = 0; s < charts[c].n_series; s++)
        {
          f->series[c][s] = sm_chart_series_new (charts[c].names[s], points);
          for (guint i = 0; i < points; i++)
            sm_chart_series_append (f->series[c][s], 600.0 * i / points,
                                    (s + 1) * 100 * (1.5 + sin (i * 6.0 / points)) + g_rand_double_range (rand, 0, 50));
          f->views[c].series[s] = f->series[c][s];
        }
      f->views[c].n_series = charts[c].n_series;
      f->views[c].dashed[2] = c == 2;
    }
  g_rand_free (rand);
}

static void
frame_clear (Frame *f)
{
  for (guint c = 0; c < N_CHARTS; c++)
    for (guint s = 0; s < charts[c].n_series; s++)
      sm_chart_series_free (f->series[c][s]);
  cairo_destroy (f->cr);
}

static void
draw_frame (gpointer data)
{
  Frame *f = data;

  cairo_set_source_rgb (f->cr, 1, 1, 1);
  cairo_paint (f->cr);
  for (guint c = 0; c < N_CHARTS; c++)
    {
      cairo_save (f->cr);
      cairo_translate (f->cr, 0, c * CHART_HEIGHT);
      sm_chart_render (f->cr, WIDTH, CHART_HEIGHT, &f->views[c], NULL);
      cairo_restore (f->cr);
    }
  cairo_surface_flush (cairo_get_target (f->cr));
}

/* What drawing every sample would cost: one line segment each. */
static void
draw_frame_naive (gpointer data)
{
  Frame *f = data;

  cairo_set_source_rgb (f->cr, 1, 1, 1);
  cairo_paint (f->cr);
  cairo_set_source_rgb (f->cr, 0.1, 0.4, 0.8);
  cairo_set_line_width (f->cr, 1.5);
  for (guint c = 0; c < N_CHARTS; c++)
    for (guint s = 0; s < charts[c].n_series; s++)
      {
        const double *t1, *v1, *t2, *v2;
        gsize n1, n2;

        sm_chart_series_get_runs (f->series[c][s], &t1, &v1, &n1, &t2, &v2, &n2);
        for (gsize i = 0; i < n1; i++)
          cairo_line_to (f->cr, 64 + t1[i] / 600 * (WIDTH - 70), c * CHART_HEIGHT + CHART_HEIGHT - v1[i] / 1000 * 200);
        cairo_stroke (f->cr);
      }
  cairo_surface_flush (cairo_get_target (f->cr));
}

void
sm_chart_bench (SmBenchReport *report)
{
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, WIDTH, N_CHARTS * CHART_HEIGHT);
  Frame small = { 0 }, large = { 0 };
  double small_ms, large_ms, naive_ms;
  guint small_index, large_index;

  frame_init (&small, surface, 1000);
  frame_init (&large, surface, 100000);

  small_ms = sm_bench_time_best (draw_frame, &small) * 1e3;
  large_ms = sm_bench_time_best (draw_frame, &large) * 1e3;
  naive_ms = sm_bench_time_best (draw_frame_naive, &large) * 1e3;

  small_index = sm_bench_report_add (report, "chart-frame", "charts=4 width=1200 points_per_series=1000 series=9",
                                     small_ms, "ms");
  large_index = sm_bench_report_add_target (report, "chart-frame", "charts=4 width=1200 points_per_series=100000 series=9",
                                            large_ms, "ms", "<= 4");
  sm_bench_report_compare (report, "chart-frame", "charts=4 width=1200 points_per_series=100000 vs=points_per_series=1000",
                           large_ms, "ms", small_index, NULL);
  /* What the decimation saves: a stroke through every sample. */
  sm_bench_report_compare (report, "chart-frame-every-sample",
                           "charts=4 width=1200 points_per_series=100000 series=9 decimation=none vs=chart-frame",
                           naive_ms, "ms", large_index, NULL);

  frame_clear (&small);
  frame_clear (&large);
  cairo_surface_destroy (surface);
}
