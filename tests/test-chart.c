/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include "sm-chart-axis.h"
#include "sm-chart-renderer.h"

/* Decimated columns hold exactly the min and max of the samples that fall
 * in them, also across the ring's wrap. */
static void
test_chart_decimation_is_exact (void)
{
  const guint columns = 1200;
  g_autoptr(SmChartSeries) series = sm_chart_series_new ("x", 100000);
  g_autofree double *min = g_new (double, columns), *max = g_new (double, columns);
  g_autofree double *want_min = g_new (double, columns), *want_max = g_new (double, columns);
  const double *t1, *v1, *t2, *v2;
  gsize n1, n2;
  GRand *rand = g_rand_new_with_seed (7);
  double t0 = 30, t_end = 130;

  /* 130,000 samples into 100,000 places: the ring has wrapped. */
  for (guint i = 0; i < 130000; i++)
    sm_chart_series_append (series, i / 1000.0, i % 997 == 0 ? NAN : g_rand_double_range (rand, -5, 5));
  g_rand_free (rand);
  sm_chart_series_get_runs (series, &t1, &v1, &n1, &t2, &v2, &n2);
  g_assert_cmpuint (n1 + n2, ==, 100000);
  g_assert_cmpuint (n2, >, 0);
  g_assert_cmpfloat (t1[0], ==, 30.0);

  for (guint c = 0; c < columns; c++)
    {
      min[c] = want_min[c] = INFINITY;
      max[c] = want_max[c] = -INFINITY;
    }
  sm_chart_decimate (t1, v1, n1, t0, t_end, columns, min, max);
  sm_chart_decimate (t2, v2, n2, t0, t_end, columns, min, max);

  /* The full-resolution answer, sample by sample. */
  for (gsize i = 0; i < n1 + n2; i++)
    {
      double t = i < n1 ? t1[i] : t2[i - n1], v = i < n1 ? v1[i] : v2[i - n1];
      /* The same mapping of times to columns as the renderer's. */
      int c = (int) floor ((t - t0) * (columns / (t_end - t0)));

      if (c < 0 || c >= (int) columns || isnan (v))
        continue;
      want_min[c] = MIN (want_min[c], v);
      want_max[c] = MAX (want_max[c], v);
    }
  for (guint c = 0; c < columns; c++)
    {
      g_assert_cmpfloat (min[c], ==, want_min[c]);
      g_assert_cmpfloat (max[c], ==, want_max[c]);
    }
}

static void
assert_ticks (double        lo,
              double        hi,
              gboolean      log_scale,
              const double *want,
              guint         n_want)
{
  double ticks[SM_CHART_MAX_TICKS];
  guint n = sm_chart_axis_ticks (lo, hi, 6, log_scale, ticks);

  g_assert_cmpuint (n, ==, n_want);
  for (guint i = 0; i < n; i++)
    g_assert_cmpfloat_with_epsilon (ticks[i], want[i], fabs (want[i]) * 1e-9 + 1e-12);
}

static void
test_chart_axis_ticks (void)
{
  double lo = 3, hi = 97;

  assert_ticks (0, 97, FALSE, (double[]) { 0, 20, 40, 60, 80 }, 5);
  assert_ticks (0.013, 0.087, FALSE, (double[]) { 0.02, 0.04, 0.06, 0.08 }, 4);
  assert_ticks (-1, 1, FALSE, (double[]) { -1, -0.5, 0, 0.5, 1 }, 5);
  assert_ticks (3, 5000, TRUE, (double[]) { 10, 100, 1000 }, 3);
  assert_ticks (1, 1e12, TRUE, (double[]) { 1, 1e3, 1e6, 1e9, 1e12 }, 5);
  assert_ticks (5, 5, FALSE, NULL, 0);

  /* Time as clocks count it (issue 17, defect 15: 0:50, 1:40 before). */
  {
    const struct { double t0, t1; guint max; double ticks[8]; guint n; } times[] = {
      { 0, 300, 6, { 0, 60, 120, 180, 240, 300 }, 6 },
      { 0, 1000, 6, { 0, 300, 600, 900 }, 4 },
      { 40, 100, 7, { 40, 50, 60, 70, 80, 90, 100 }, 7 },
      { 0, 7200, 5, { 0, 1800, 3600, 5400, 7200 }, 5 },
      { 12, 47, 4, { 20, 30, 40 }, 3 },
    };

    for (guint i = 0; i < G_N_ELEMENTS (times); i++)
      {
        double ticks[SM_CHART_MAX_TICKS];
        guint n = sm_chart_axis_time_ticks (times[i].t0, times[i].t1, times[i].max, ticks);

        g_assert_cmpuint (n, ==, times[i].n);
        for (guint k = 0; k < n; k++)
          g_assert_cmpfloat (ticks[k], ==, times[i].ticks[k]);
      }
  }

  sm_chart_axis_nice_range (&lo, &hi, 6);
  g_assert_cmpfloat (lo, ==, 0);
  g_assert_cmpfloat (hi, ==, 100);
  lo = hi = 7;
  sm_chart_axis_nice_range (&lo, &hi, 6);
  g_assert_cmpfloat (lo, <, 7);
  g_assert_cmpfloat (hi, >, 7);

  /* A series of zeros (an idle queue) gets 0 … 1, not −1 … 1; a flat
   * negative one still gets room on both sides. */
  lo = hi = 0;
  sm_chart_axis_nice_range (&lo, &hi, 6);
  g_assert_cmpfloat (lo, ==, 0);
  g_assert_cmpfloat (hi, ==, 1);
  lo = hi = 0.5;
  sm_chart_axis_nice_range (&lo, &hi, 6);
  g_assert_cmpfloat (lo, >=, 0);
  g_assert_cmpfloat (hi, >, 0.5);
  lo = hi = -4;
  sm_chart_axis_nice_range (&lo, &hi, 6);
  g_assert_cmpfloat (lo, <, -4);
  g_assert_cmpfloat (hi, >, -4);
}

static void
assert_format (double      value,
               const char *unit,
               const char *want)
{
  g_autofree char *text = sm_chart_format_value (value, unit);

  g_assert_cmpstr (text, ==, want);
}

static void
test_chart_units (void)
{
  assert_format (850, "µs", "850 µs");
  assert_format (1250, "µs", "1.25 ms");
  assert_format (2.5e6, "µs", "2.5 s");
  assert_format (0.25, "µs", "250 ns");
  assert_format (12345, "ops/s", "12.3 k ops/s");
  assert_format (2.5e6, "ops/s", "2.5 M ops/s");
  assert_format (1536, "MiB", "1.5 GiB");
  assert_format (45, "%", "45 %");
  assert_format (3, "", "3");
  assert_format (NAN, "µs", "—");
  assert_format (0.05, "%", "0.05 %");

  /* Latencies in one unit when people ask for it. */
  sm_chart_set_time_unit (SM_CHART_TIME_MICROSECONDS);
  assert_format (1250, "µs", "1250 µs");
  assert_format (0.25, "µs", "0.25 µs");
  sm_chart_set_time_unit (SM_CHART_TIME_MILLISECONDS);
  assert_format (1250, "µs", "1.25 ms");
  assert_format (12, "µs", "0.012 ms");
  assert_format (2.5e6, "µs", "2500 ms");
  assert_format (12345, "ops/s", "12.3 k ops/s");
  sm_chart_set_time_unit (SM_CHART_TIME_AUTO);
  assert_format (2.5e6, "µs", "2.5 s");

  {
    g_autofree char *a = sm_chart_format_time (42);
    g_autofree char *b = sm_chart_format_time (3723);

    g_assert_cmpstr (a, ==, "0:42");
    g_assert_cmpstr (b, ==, "1:02:03");
  }
}

/* Growing or shrinking the history keeps the newest samples in order,
 * across a ring that had wrapped. */
static void
test_chart_capacity (void)
{
  g_autoptr(SmChartSeries) series = sm_chart_series_new ("p99", 10);
  const double *t1, *v1, *t2, *v2;
  gsize n1, n2;

  for (int i = 0; i < 25; i++)
    sm_chart_series_append (series, i, 10 * i);
  sm_chart_series_set_capacity (series, 4);
  g_assert_cmpuint (sm_chart_series_get_length (series), ==, 4);
  sm_chart_series_get_runs (series, &t1, &v1, &n1, &t2, &v2, &n2);
  g_assert_cmpuint (n1, ==, 4);
  g_assert_cmpuint (n2, ==, 0);
  for (gsize i = 0; i < n1; i++)
    {
      g_assert_cmpfloat (t1[i], ==, 21 + i);
      g_assert_cmpfloat (v1[i], ==, 10 * (21 + i));
    }
  sm_chart_series_set_capacity (series, 100);
  for (int i = 25; i < 30; i++)
    sm_chart_series_append (series, i, 10 * i);
  g_assert_cmpuint (sm_chart_series_get_length (series), ==, 9);
  g_assert_cmpfloat (sm_chart_series_value_at (series, 21), ==, 210);
  g_assert_cmpfloat (sm_chart_series_get_last_time (series), ==, 29);
}

/* Statistics over a time range, and the value a crosshair shows. */
static void
test_chart_range_stats (void)
{
  g_autoptr(SmChartSeries) series = sm_chart_series_new ("p99", 1000);
  SmChartStats stats;

  for (guint i = 1; i <= 200; i++)
    sm_chart_series_append (series, i, i <= 100 ? i : 1000 + i);
  sm_chart_series_append (series, 201, NAN);

  g_assert_true (sm_chart_series_get_stats (series, 1, 100, &stats));
  g_assert_cmpuint (stats.count, ==, 100);
  g_assert_cmpfloat (stats.min, ==, 1);
  g_assert_cmpfloat (stats.max, ==, 100);
  g_assert_cmpfloat (stats.mean, ==, 50.5);
  g_assert_cmpfloat (stats.p50, ==, 50);
  g_assert_cmpfloat (stats.p99, ==, 99);
  g_assert_false (sm_chart_series_get_stats (series, 300, 400, &stats));
  g_assert_true (sm_chart_series_get_stats (series, 150, 1e9, &stats));
  g_assert_cmpuint (stats.count, ==, 51);   /* the gap does not count */

  g_assert_cmpfloat (sm_chart_series_value_at (series, 10.5), ==, 10);
  g_assert_cmpfloat (sm_chart_series_value_at (series, 0.5), !=, sm_chart_series_value_at (series, 0.5));
  g_assert_cmpfloat (sm_chart_series_get_last_time (series), ==, 201);
}

/* Does any pixel of the plot have (about) this colour? */
static gboolean
has_color (cairo_surface_t     *surface,
           const SmChartLayout *layout,
           const double        *rgb)
{
  unsigned char *data = cairo_image_surface_get_data (surface);
  int stride = cairo_image_surface_get_stride (surface);

  cairo_surface_flush (surface);
  for (int y = (int) layout->plot.y; y < (int) (layout->plot.y + layout->plot.height); y++)
    for (int x = (int) layout->plot.x; x < (int) (layout->plot.x + layout->plot.width); x++)
      {
        guint32 p = *(guint32 *) (data + y * stride + x * 4);

        if (abs ((int) ((p >> 16) & 0xff) - (int) (rgb[0] * 255)) < 8
            && abs ((int) ((p >> 8) & 0xff) - (int) (rgb[1] * 255)) < 8
            && abs ((int) (p & 0xff) - (int) (rgb[2] * 255)) < 8)
          return TRUE;
      }
  return FALSE;
}

/* A series is drawn in its colour; toggled off, it is not. */
static void
test_chart_render_toggle (void)
{
  g_autoptr(SmChartSeries) a = sm_chart_series_new ("p50", 1000);
  g_autoptr(SmChartSeries) b = sm_chart_series_new ("p99", 1000);
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, 600, 240);
  cairo_t *cr = cairo_create (surface);
  SmChartView view;
  SmChartLayout layout;
  double rgb_a[3], rgb_b[3];

  for (guint i = 0; i < 600; i++)
    {
      sm_chart_series_append (a, i / 10.0, 100 + 10 * sin (i / 20.0));
      sm_chart_series_append (b, i / 10.0, 400 + 50 * sin (i / 30.0));
    }
  sm_chart_view_init (&view, "Latency", "µs", 0, 60);
  view.series[0] = a;
  view.series[1] = b;
  view.n_series = 2;
  sm_chart_series_color (0, FALSE, rgb_a);
  sm_chart_series_color (1, FALSE, rgb_b);

  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);
  sm_chart_render (cr, 600, 240, &view, &layout);
  g_assert_true (has_color (surface, &layout, rgb_a));
  g_assert_true (has_color (surface, &layout, rgb_b));
  g_assert_cmpfloat (layout.legend[1].x, >, layout.legend[0].x);

  view.hidden[1] = TRUE;
  view.hover_t = 30;
  view.select_t0 = 10;
  view.select_t1 = 20;
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);
  sm_chart_render (cr, 600, 240, &view, &layout);
  g_assert_true (has_color (surface, &layout, rgb_a));
  g_assert_false (has_color (surface, &layout, rgb_b));
  g_assert_cmpfloat (sm_chart_layout_time_at (&layout, &view, layout.plot.x + layout.plot.width / 2), ==, 30);

  /* A series with a colour of its own is drawn in it, not in its
   * position's: alone in the chart, b keeps the third colour. */
  {
    double rgb_c[3];

    sm_chart_series_set_color (b, 2);
    sm_chart_series_color (2, FALSE, rgb_c);
    view.series[0] = b;
    view.hidden[0] = FALSE;
    view.n_series = 1;
    cairo_set_source_rgb (cr, 1, 1, 1);
    cairo_paint (cr);
    sm_chart_render (cr, 600, 240, &view, &layout);
    g_assert_true (has_color (surface, &layout, rgb_c));
    g_assert_false (has_color (surface, &layout, rgb_a));
  }

  /* Two series on one line (pool in use = reserved): the first is the
   * one seen. */
  {
    g_autoptr(SmChartSeries) same = sm_chart_series_new ("reserved", 1000);
    double rgb_first[3], rgb_second[3];

    for (guint i = 0; i < 600; i++)
      sm_chart_series_append (same, i / 10.0, 100 + 10 * sin (i / 20.0));
    sm_chart_series_set_color (b, -1);
    view.series[0] = a;
    view.series[1] = same;
    view.n_series = 2;
    view.hover_t = NAN;
    view.select_t0 = view.select_t1 = NAN;
    sm_chart_series_color (0, FALSE, rgb_first);
    sm_chart_series_color (1, FALSE, rgb_second);
    cairo_set_source_rgb (cr, 1, 1, 1);
    cairo_paint (cr);
    sm_chart_render (cr, 600, 240, &view, &layout);
    g_assert_true (has_color (surface, &layout, rgb_first));
    g_assert_false (has_color (surface, &layout, rgb_second));
  }

  cairo_destroy (cr);
  cairo_surface_destroy (surface);
}

static gboolean
rects_overlap (const SmChartRect *a,
               const SmChartRect *b)
{
  return a->x < b->x + b->width && b->x < a->x + a->width && a->y < b->y + b->height && b->y < a->y + a->height;
}

static gboolean
rect_inside (const SmChartRect *inner,
             const SmChartRect *outer)
{
  return inner->x >= outer->x && inner->y >= outer->y && inner->x + inner->width <= outer->x + outer->width
         && inner->y + inner->height <= outer->y + outer->height;
}

/* Issue 17, defect 2: the selection's statistics and the crosshair's
 * values never cover each other, and stay inside the plot, off the axis
 * labels, with the selection scrolled partly out of view or near either
 * edge. */
static void
test_chart_render_boxes (void)
{
  g_autoptr(SmChartSeries) a = sm_chart_series_new ("p50", 1000);
  g_autoptr(SmChartSeries) b = sm_chart_series_new ("p99", 1000);
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, 600, 240);
  cairo_t *cr = cairo_create (surface);
  const double selections[][2] = { { -20, 20 }, { 50, 59 }, { 0, 60 }, { 28, 32 } };
  const double hovers[] = { 1, 59, 30, 10 };

  for (guint i = 0; i < 900; i++)
    {
      sm_chart_series_append (a, i / 10.0, 100 + 10 * sin (i / 20.0));
      sm_chart_series_append (b, i / 10.0, 400 + 50 * sin (i / 30.0));
    }
  for (guint k = 0; k < G_N_ELEMENTS (selections); k++)
    for (guint h = 0; h < G_N_ELEMENTS (hovers); h++)
      {
        SmChartView view;
        SmChartLayout layout;

        sm_chart_view_init (&view, "Latency", "µs", 0, 60);
        view.series[0] = a;
        view.series[1] = b;
        view.n_series = 2;
        view.select_t0 = selections[k][0];
        view.select_t1 = selections[k][1];
        view.hover_t = hovers[h];
        sm_chart_render (cr, 600, 240, &view, &layout);
        g_assert_cmpfloat (layout.hover_box.width, >, 0);
        g_assert_cmpfloat (layout.stats_box.width, >, 0);
        g_assert_true (rect_inside (&layout.hover_box, &layout.plot));
        g_assert_true (rect_inside (&layout.stats_box, &layout.plot));
        g_assert_false (rects_overlap (&layout.hover_box, &layout.stats_box));
      }

  cairo_destroy (cr);
  cairo_surface_destroy (surface);
}

/* How much darker than white @surface is, summed over its pixels. */
static guint64
ink (cairo_surface_t *surface)
{
  const guint8 *data;
  int stride;
  guint64 n = 0;

  cairo_surface_flush (surface);
  data = cairo_image_surface_get_data (surface);
  stride = cairo_image_surface_get_stride (surface);
  for (int y = 0; y < cairo_image_surface_get_height (surface); y++)
    for (int x = 0; x < cairo_image_surface_get_width (surface); x++)
      {
        guint32 pixel = *(const guint32 *) (data + y * stride + 4 * x);

        n += 765 - ((pixel >> 16) & 0xff) - ((pixel >> 8) & 0xff) - (pixel & 0xff);
      }
  return n;
}

/* Issue 17: the colour-blind-safe palette keeps each slot's hue family
 * (slot 0 blue, 1 orange, 2 green) and changes every chart at once; the
 * high-contrast style draws bolder lines and text. */
static void
test_chart_palettes (void)
{
  g_autoptr(SmChartSeries) a = sm_chart_series_new ("p50", 1000);
  double gnome[3], safe[3];
  guint64 plain = 0, bold = 0;
  SmChartView view;

  sm_chart_series_color (0, FALSE, gnome);
  sm_chart_set_palette (SM_CHART_PALETTE_COLORBLIND);
  sm_chart_series_color (0, FALSE, safe);
  g_assert_cmpfloat (fabs (safe[0] - 0x00 / 255.0) + fabs (safe[1] - 0x72 / 255.0) + fabs (safe[2] - 0xb2 / 255.0), <, 1e-9);
  g_assert_true (gnome[0] != safe[0] || gnome[1] != safe[1] || gnome[2] != safe[2]);
  for (guint slot = 0; slot < 3; slot++)
    {
      double rgb[3];

      sm_chart_series_color (slot, FALSE, rgb);
      /* Its hue family: blue has most blue, orange most red, green most green. */
      g_assert_cmpfloat (rgb[slot == 0 ? 2 : slot == 1 ? 0 : 1], >=, MAX (MAX (rgb[0], rgb[1]), rgb[2]));
    }
  sm_chart_set_palette (SM_CHART_PALETTE_GNOME);
  sm_chart_series_color (0, FALSE, safe);
  g_assert_cmpfloat (safe[0], ==, gnome[0]);

  for (guint i = 0; i < 600; i++)
    sm_chart_series_append (a, i / 10.0, 100 + 10 * sin (i / 20.0));
  sm_chart_view_init (&view, "Latency", "µs", 0, 60);
  view.series[0] = a;
  view.n_series = 1;
  for (guint hc = 0; hc < 2; hc++)
    {
      cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, 600, 240);
      cairo_t *cr = cairo_create (surface);

      view.high_contrast = hc;
      cairo_set_source_rgb (cr, 1, 1, 1);
      cairo_paint (cr);
      sm_chart_render (cr, 600, 240, &view, NULL);
      cairo_destroy (cr);
      *(hc ? &bold : &plain) = ink (surface);
      cairo_surface_destroy (surface);
    }
  g_test_message ("ink: %" G_GUINT64_FORMAT " plain, %" G_GUINT64_FORMAT " high contrast", plain, bold);
  g_assert_cmpuint (bold, >, plain + plain / 3);

  /* A marker under the crosshair says what changed: one line more in the
   * crosshair's box; none away from it. */
  {
    cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, 600, 240);
    cairo_t *cr = cairo_create (surface);
    SmChartLayout layout;
    double heights[3];

    view.high_contrast = FALSE;
    view.hover_t = 30;
    for (guint k = 0; k < 3; k++)
      {
        view.n_markers = k > 0;
        view.markers[0] = k == 1 ? 30 : 50;
        view.marker_labels[0] = "Max Batch: 32 → 16, by hand";
        sm_chart_render (cr, 600, 240, &view, &layout);
        heights[k] = layout.hover_box.height;
      }
    g_assert_cmpfloat (heights[1], >, heights[0]);
    g_assert_cmpfloat (heights[2], ==, heights[0]);
    cairo_destroy (cr);
    cairo_surface_destroy (surface);
  }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/chart/decimation-is-exact", test_chart_decimation_is_exact);
  g_test_add_func ("/chart/axis-ticks", test_chart_axis_ticks);
  g_test_add_func ("/chart/units", test_chart_units);
  g_test_add_func ("/chart/render-boxes", test_chart_render_boxes);
  g_test_add_func ("/chart/range-stats", test_chart_range_stats);
  g_test_add_func ("/chart/capacity", test_chart_capacity);
  g_test_add_func ("/chart/render-toggle", test_chart_render_toggle);
  g_test_add_func ("/chart/palettes", test_chart_palettes);

  return g_test_run ();
}
