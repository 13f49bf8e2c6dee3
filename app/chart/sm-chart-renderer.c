/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include "sm-chart-axis.h"
#include "sm-chart-renderer.h"

#define FONT_SIZE   11.0
#define TITLE_SIZE  12.0
#define PAD         6.0
#define AXIS_WIDTH  64.0
#define TIME_HEIGHT 18.0
#define HEAD_HEIGHT 24.0
/* How near (pixels) the crosshair must be to a marker to say what it marks. */
#define MARKER_REACH 4.0
/* Decimation columns: one per device pixel, up to this many. */
#define MAX_COLUMNS 4096

/* GNOME's palette: light-style shades keep 3:1 contrast on white, the
 * dark-style ones on #242424.  The colour-blind-safe one is Okabe and
 * Ito's (blue, orange, bluish green, vermilion, reddish purple, sky blue,
 * yellow, grey), darkened for white where it lacked the contrast; slot
 * for slot the same hues, so a series keeps its place in either. */
static const guint32 palettes[2][2][8] = {
  [SM_CHART_PALETTE_GNOME] = {
    { 0x1c71d8, 0xc64600, 0x26a269, 0x813d9c, 0xa51d2d, 0x986a44, 0x1a5fb4, 0x63452c },
    { 0x62a0ea, 0xffa348, 0x57e389, 0xc061cb, 0xf66151, 0xcdab8f, 0x99c1f1, 0xdeddda },
  },
  [SM_CHART_PALETTE_COLORBLIND] = {
    { 0x0072b2, 0xb86e00, 0x007d5c, 0xc04f00, 0xa8508a, 0x2b83b8, 0x7d7300, 0x4d4d4d },
    { 0x56b4e9, 0xe69f00, 0x2cc79a, 0xff7b2e, 0xe08fc4, 0x8fd0f5, 0xf0e442, 0xbababa },
  },
};

/* Series @s's palette slot: its own, else its position. */
static guint
color_slot (const SmChartView *view,
            guint              s)
{
  int slot = sm_chart_series_get_color (view->series[s]);

  return slot >= 0 ? (guint) slot : s;
}

void
sm_chart_series_color (guint     index,
                       gboolean  dark,
                       double   *rgb)
{
  guint32 c = palettes[sm_chart_get_palette () == SM_CHART_PALETTE_COLORBLIND][dark ? 1 : 0][index % G_N_ELEMENTS (palettes[0][0])];

  rgb[0] = ((c >> 16) & 0xff) / 255.0;
  rgb[1] = ((c >> 8) & 0xff) / 255.0;
  rgb[2] = (c & 0xff) / 255.0;
}

void
sm_chart_view_init (SmChartView *view,
                    const char  *title,
                    const char  *unit,
                    double       t0,
                    double       t1)
{
  *view = (SmChartView) {
    .title = title,
    .unit = unit,
    .t0 = t0,
    .t1 = t1,
    .hover_t = NAN,
    .select_t0 = NAN,
    .select_t1 = NAN,
  };
}

static gint palette = SM_CHART_PALETTE_GNOME;   /* an SmChartPalette */

void
sm_chart_set_palette (SmChartPalette value)
{
  g_atomic_int_set (&palette, value);
}

SmChartPalette
sm_chart_get_palette (void)
{
  return g_atomic_int_get (&palette);
}

/* Text, axes and grid: in GNOME's high-contrast style, at full strength
 * (text) or strong enough to see (the faint grid). */
static void
set_foreground (cairo_t           *cr,
                const SmChartView *view,
                double             alpha)
{
  double v = view->dark ? 1.0 : 0.0;

  if (view->high_contrast)
    alpha = alpha >= 0.5 ? 1.0 : MIN (0.6, alpha * 3);
  cairo_set_source_rgba (cr, v, v, v, alpha);
}

static double
to_axis (const SmChartView *view,
         double             value)
{
  return view->log_scale ? log10 (MAX (value, 1e-12)) : value;
}

/* Decimated columns of every series: min, then max, @columns each. */
typedef struct
{
  guint   columns;
  double *min[SM_CHART_MAX_SERIES];
  double *max[SM_CHART_MAX_SERIES];
  double *storage;
} Columns;

static void
decimate_all (const SmChartView *view,
              guint              columns,
              Columns           *cols)
{
  cols->columns = columns;
  cols->storage = g_new (double, (gsize) 2 * columns * MAX (view->n_series, 1));
  for (guint s = 0; s < view->n_series; s++)
    {
      const double *t1, *v1, *t2, *v2;
      gsize n1, n2;

      cols->min[s] = cols->storage + (gsize) 2 * s * columns;
      cols->max[s] = cols->min[s] + columns;
      for (guint c = 0; c < columns; c++)
        {
          cols->min[s][c] = INFINITY;
          cols->max[s][c] = -INFINITY;
        }
      if (view->hidden[s])
        continue;
      sm_chart_series_get_runs (view->series[s], &t1, &v1, &n1, &t2, &v2, &n2);
      sm_chart_decimate (t1, v1, n1, view->t0, view->t1, columns, cols->min[s], cols->max[s]);
      sm_chart_decimate (t2, v2, n2, view->t0, view->t1, columns, cols->min[s], cols->max[s]);
    }
}

/* The y range: fixed, or what the visible columns span. */
static void
y_range (const SmChartView *view,
         const Columns     *cols,
         double            *lo,
         double            *hi)
{
  if (view->fixed_range)
    {
      *lo = to_axis (view, view->y_min);
      *hi = to_axis (view, view->y_max);
      return;
    }

  *lo = INFINITY;
  *hi = -INFINITY;
  for (guint s = 0; s < view->n_series; s++)
    for (guint c = 0; c < cols->columns && !view->hidden[s]; c++)
      {
        *lo = MIN (*lo, cols->min[s][c]);
        *hi = MAX (*hi, cols->max[s][c]);
      }
  if (!isfinite (*lo))
    {
      *lo = view->log_scale ? 1 : 0;
      *hi = view->log_scale ? 1000 : 1;
    }
  if (view->log_scale)
    {
      /* Whole decades, so the ticks land on the edges. */
      *lo = floor (log10 (MAX (*lo, 1e-3)));
      *hi = MAX (ceil (log10 (MAX (*hi, 1e-3))), *lo + 1);
      return;
    }
  /* Linear: from zero when everything is positive (a rate, a size). */
  if (*lo > 0)
    *lo = 0;
  sm_chart_axis_nice_range (lo, hi, 6);
}

static void
draw_text (cairo_t    *cr,
           double      x,
           double      y,
           const char *text,
           double      align)   /* 0 left, 0.5 centre, 1 right */
{
  cairo_text_extents_t extents;

  cairo_text_extents (cr, text, &extents);
  cairo_move_to (cr, x - align * extents.x_advance, y);
  cairo_show_text (cr, text);
}

/* Room for the longest tick label the unit writes, so that labels never
 * run off the left edge and the plot does not shift as values move. */
static double
axis_width (cairo_t           *cr,
            const SmChartView *view)
{
  static const double typical_widest[] = { 888, 88.8e3 };
  double widest = 0;

  cairo_save (cr);
  cairo_select_font_face (cr, "Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size (cr, FONT_SIZE);
  for (guint i = 0; i < G_N_ELEMENTS (typical_widest); i++)
    {
      g_autofree char *label = sm_chart_format_value (typical_widest[i], view->unit);
      cairo_text_extents_t extents;

      cairo_text_extents (cr, label, &extents);
      widest = MAX (widest, extents.x_advance);
    }
  cairo_restore (cr);
  return MAX (AXIS_WIDTH, ceil (widest) + 2 * PAD);
}

static void
draw_head (cairo_t           *cr,
           const SmChartView *view,
           double             width,
           SmChartLayout     *layout)
{
  cairo_text_extents_t extents;
  double x;

  cairo_select_font_face (cr, "Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
  cairo_set_font_size (cr, TITLE_SIZE);
  set_foreground (cr, view, 0.9);
  draw_text (cr, PAD, HEAD_HEIGHT - 8, view->title, 0);
  cairo_text_extents (cr, view->title, &extents);
  x = PAD + extents.x_advance + 18;

  cairo_select_font_face (cr, "Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size (cr, FONT_SIZE);
  for (guint s = 0; s < view->n_series; s++)
    {
      const char *name = sm_chart_series_get_name (view->series[s]);
      double rgb[3];

      sm_chart_series_color (color_slot (view, s), view->dark, rgb);
      cairo_set_source_rgb (cr, rgb[0], rgb[1], rgb[2]);
      cairo_rectangle (cr, x + 0.5, HEAD_HEIGHT - 16.5, 9, 9);
      /* A hidden series keeps a hollow swatch to click. */
      if (view->hidden[s])
        {
          cairo_set_line_width (cr, 1);
          cairo_stroke (cr);
        }
      else
        cairo_fill (cr);
      set_foreground (cr, view, view->hidden[s] ? 0.4 : 0.8);
      cairo_text_extents (cr, name, &extents);
      draw_text (cr, x + 14, HEAD_HEIGHT - 8, name, 0);
      layout->legend[s] = (SmChartRect) { x, 2, 14 + extents.x_advance, HEAD_HEIGHT - 2 };
      x += 14 + extents.x_advance + 14;
      if (x > width)
        break;
    }
}

static double
y_pixel (const SmChartLayout *layout,
         double               value)
{
  return layout->plot.y + layout->plot.height
         - (value - layout->y_lo) / (layout->y_hi - layout->y_lo) * layout->plot.height;
}

static double
x_pixel (const SmChartLayout *layout,
         const SmChartView   *view,
         double               t)
{
  return layout->plot.x + (t - view->t0) / (view->t1 - view->t0) * layout->plot.width;
}

static void
draw_axes (cairo_t             *cr,
           const SmChartView   *view,
           const SmChartLayout *layout)
{
  double ticks[SM_CHART_MAX_TICKS];
  guint n = view->log_scale
            ? sm_chart_axis_ticks (pow (10, layout->y_lo), pow (10, layout->y_hi), 6, TRUE, ticks)
            : sm_chart_axis_ticks (layout->y_lo, layout->y_hi, 6, FALSE, ticks);
  double span = view->t1 - view->t0;
  double time_ticks[SM_CHART_MAX_TICKS];
  guint n_time = sm_chart_axis_time_ticks (view->t0, view->t1, MAX (3, (guint) (layout->plot.width / 80)), time_ticks);

  cairo_set_line_width (cr, 1);
  for (guint i = 0; i < n; i++)
    {
      double y = round (y_pixel (layout, to_axis (view, ticks[i]))) + 0.5;
      g_autofree char *label = sm_chart_format_value (ticks[i], view->unit);

      set_foreground (cr, view, 0.1);
      cairo_move_to (cr, layout->plot.x, y);
      cairo_line_to (cr, layout->plot.x + layout->plot.width, y);
      cairo_stroke (cr);
      set_foreground (cr, view, 0.6);
      draw_text (cr, layout->plot.x - 6, y + 4, label, 1);
    }

  for (guint i = 0; i < n_time && span > 0; i++)
    {
      double x = round (x_pixel (layout, view, time_ticks[i])) + 0.5;
      g_autofree char *label = sm_chart_format_time (time_ticks[i]);
      cairo_text_extents_t extents;
      double align = 0.5;

      set_foreground (cr, view, 0.1);
      cairo_move_to (cr, x, layout->plot.y);
      cairo_line_to (cr, x, layout->plot.y + layout->plot.height);
      cairo_stroke (cr);

      /* The labels at the ends stay inside the chart, the first one clear
       * of the lowest value's label at the corner ("1 µs" over "0:00"). */
      cairo_text_extents (cr, label, &extents);
      if (x + extents.x_advance / 2 > layout->plot.x + layout->plot.width + PAD)
        align = 1;
      else if (x - extents.x_advance / 2 < layout->plot.x)
        align = 0;
      set_foreground (cr, view, 0.6);
      draw_text (cr, x, layout->plot.y + layout->plot.height + 13, label, align);
    }
}

static void
set_series_source (cairo_t           *cr,
                   const SmChartView *view,
                   guint              index)
{
  double rgb[3];

  sm_chart_series_color (color_slot (view, index), view->dark, rgb);
  cairo_set_source_rgb (cr, rgb[0], rgb[1], rgb[2]);
}

/* Vector output (SVG, PDF): each column a vertical span joined to the
 * next, which covers exactly the pixels all its samples would. */
static void
draw_series_path (cairo_t             *cr,
                  const SmChartView   *view,
                  const SmChartLayout *layout,
                  guint                index,
                  const Columns       *cols)
{
  const double *min = cols->min[index], *max = cols->max[index];
  double step = layout->plot.width / cols->columns;
  gboolean started = FALSE;

  for (guint c = 0; c < cols->columns; c++)
    {
      double x = layout->plot.x + (c + 0.5) * step;

      if (!(max[c] >= min[c]))
        continue;
      if (!started)
        cairo_move_to (cr, x, y_pixel (layout, to_axis (view, max[c])));
      else
        cairo_line_to (cr, x, y_pixel (layout, to_axis (view, max[c])));
      if (min[c] != max[c])
        cairo_line_to (cr, x, y_pixel (layout, to_axis (view, min[c])));
      started = TRUE;
    }
  set_series_source (cr, view, index);
  cairo_set_line_width (cr, view->high_contrast ? 2.5 : 1.5);
  if (view->dashed[index])
    cairo_set_dash (cr, (double[]) { 5, 4 }, 2, 0);
  cairo_stroke (cr);
  cairo_set_dash (cr, NULL, 0, 0);
}

/* Covers rows a…b (pixels, fractional ends anti-aliased) of column x. */
static void
fill_span (guint8 *data,
           int     stride,
           int     height,
           int     x,
           double  a,
           double  b)
{
  int first = MAX (0, (int) floor (a)), last = MIN (height - 1, (int) ceil (b) - 1);

  for (int y = first; y <= last; y++)
    {
      double cover = MIN (b, y + 1.0) - MAX (a, (double) y);
      guint8 value = (guint8) (CLAMP (cover, 0, 1) * 255 + 0.5);
      guint8 *pixel = data + (gsize) y * stride + x;

      if (value > *pixel)
        *pixel = value;
    }
}

/* Raster output (the screen, PNG): the same spans written as coverage into
 * an A8 mask, one column per device pixel, composited once — a stroke of
 * thousands of sharp turns costs cairo milliseconds, this microseconds. */
static void
draw_series_mask (cairo_t             *cr,
                  const SmChartView   *view,
                  const SmChartLayout *layout,
                  guint                index,
                  const Columns       *cols)
{
  const double *min = cols->min[index], *max = cols->max[index];
  int width = (int) cols->columns, height;
  /* Half the line's width: 1.5 px, 2.5 px in high contrast. */
  double half = view->high_contrast ? 1.25 : 0.75, top = INFINITY, bottom = -INFINITY;
  cairo_surface_t *mask;
  guint8 *data;
  int stride, last = -1;
  double last_hi = 0, last_lo = 0;

  /* The mask spans only the rows the line reaches: a flat line costs a
   * few rows, not the plot's height. */
  for (int c = 0; c < width; c++)
    if (max[c] >= min[c])
      {
        top = MIN (top, y_pixel (layout, to_axis (view, max[c])));
        bottom = MAX (bottom, y_pixel (layout, to_axis (view, min[c])));
      }
  if (!isfinite (top))
    return;
  top = floor (MAX (top, layout->plot.y - 1) - 2);
  bottom = MIN (bottom, layout->plot.y + layout->plot.height + 1) + 2;
  height = MAX (1, (int) ceil (bottom - top));
  mask = cairo_image_surface_create (CAIRO_FORMAT_A8, width, height);
  data = cairo_image_surface_get_data (mask);
  stride = cairo_image_surface_get_stride (mask);

  for (int c = 0; c < width; c++)
    {
      double hi, lo;

      if (!(max[c] >= min[c]))
        continue;
      hi = y_pixel (layout, to_axis (view, max[c])) - top;
      lo = y_pixel (layout, to_axis (view, min[c])) - top;

      if (last >= 0)
        {
          /* Columns without samples between two with: a straight line,
           * each column covering from its left to its right neighbour's
           * height so that a steep line has no holes. */
          for (int k = last + 1; k < c; k++)
            {
              double from = (last_hi + last_lo) / 2, to = (hi + lo) / 2, step = (to - from) / (c - last);
              double before = from + (k - 1 - last) * step, after = from + (k + 1 - last) * step;

              if (!view->dashed[index] || k % 9 < 5)
                fill_span (data, stride, height, k, MIN (before, after) - half, MAX (before, after) + half);
            }
          /* Join this span to the last one, as a polyline would. */
          if (last == c - 1)
            {
              hi = MIN (hi, last_lo);
              lo = MAX (lo, last_hi);
            }
        }
      if (!view->dashed[index] || c % 9 < 5)
        fill_span (data, stride, height, c, hi - half, lo + half);
      last = c;
      last_hi = y_pixel (layout, to_axis (view, max[c])) - top;
      last_lo = y_pixel (layout, to_axis (view, min[c])) - top;
    }

  cairo_surface_mark_dirty (mask);
  set_series_source (cr, view, index);
  cairo_save (cr);
  cairo_translate (cr, layout->plot.x, top);
  cairo_scale (cr, layout->plot.width / width, 1);
  cairo_mask_surface (cr, mask, 0, 0);
  cairo_restore (cr);
  cairo_surface_destroy (mask);
}

static void
draw_markers (cairo_t             *cr,
              const SmChartView   *view,
              const SmChartLayout *layout)
{
  cairo_set_line_width (cr, 1);
  cairo_set_dash (cr, (double[]) { 2, 3 }, 2, 0);
  for (guint i = 0; i < view->n_markers; i++)
    if (view->markers[i] >= view->t0 && view->markers[i] <= view->t1)
      {
        double x = round (x_pixel (layout, view, view->markers[i])) + 0.5;
        int s = view->marker_series[i];

        if (s >= 0 && (guint) s < view->n_series)
          {
            double rgb[3];

            sm_chart_series_color (color_slot (view, (guint) s), view->dark, rgb);
            cairo_set_source_rgba (cr, rgb[0], rgb[1], rgb[2], 0.8);
          }
        else
          set_foreground (cr, view, 0.45);
        cairo_move_to (cr, x, layout->plot.y);
        cairo_line_to (cr, x, layout->plot.y + layout->plot.height);
        cairo_stroke (cr);
      }
  cairo_set_dash (cr, NULL, 0, 0);
}

/* A box of text lines beside x, inside the plot: at its top (the
 * crosshair's values) or its bottom (a selection's statistics), so that
 * the two never cover each other; kept off the axes when x is near an
 * edge or outside the plot (a selection scrolled partly out of view). */
static void
draw_box (cairo_t             *cr,
          const SmChartView   *view,
          const SmChartLayout *layout,
          double               x,
          gboolean             bottom,
          char               **lines,
          guint                n,
          SmChartRect         *drawn)
{
  double width = 0, height = n * 15 + 8, bx, by;
  double left = layout->plot.x + 4, right = layout->plot.x + layout->plot.width - 4;
  cairo_text_extents_t extents;

  for (guint i = 0; i < n; i++)
    {
      cairo_text_extents (cr, lines[i], &extents);
      width = MAX (width, extents.x_advance);
    }
  width += 16;
  bx = x + 10 + width < right ? x + 10 : x - 10 - width;
  bx = MAX (left, MIN (bx, right - width));
  by = bottom ? layout->plot.y + layout->plot.height - height - 6 : layout->plot.y + 6;
  *drawn = (SmChartRect) { bx, by, width, height };

  cairo_set_source_rgba (cr, view->dark ? 0.2 : 1, view->dark ? 0.2 : 1, view->dark ? 0.2 : 1, 0.92);
  cairo_rectangle (cr, bx, by, width, height);
  cairo_fill_preserve (cr);
  set_foreground (cr, view, 0.2);
  cairo_set_line_width (cr, 1);
  cairo_stroke (cr);
  for (guint i = 0; i < n; i++)
    {
      set_foreground (cr, view, 0.85);
      draw_text (cr, bx + 8, by + 16 + i * 15, lines[i], 0);
    }
}

static void
draw_hover (cairo_t           *cr,
            const SmChartView *view,
            SmChartLayout     *layout)
{
  double x = x_pixel (layout, view, view->hover_t);
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);

  set_foreground (cr, view, 0.5);
  cairo_set_line_width (cr, 1);
  cairo_move_to (cr, round (x) + 0.5, layout->plot.y);
  cairo_line_to (cr, round (x) + 0.5, layout->plot.y + layout->plot.height);
  cairo_stroke (cr);

  g_ptr_array_add (lines, sm_chart_format_time (view->hover_t));
  /* The changes marked under the crosshair: what, from what to what. */
  for (guint i = 0; i < view->n_markers; i++)
    if (view->marker_labels[i] != NULL && fabs (x_pixel (layout, view, view->markers[i]) - x) <= MARKER_REACH)
      g_ptr_array_add (lines, g_strdup_printf ("▸ %s", view->marker_labels[i]));
  for (guint s = 0; s < view->n_series; s++)
    if (!view->hidden[s])
      {
        g_autofree char *value = sm_chart_format_value (sm_chart_series_value_at (view->series[s], view->hover_t),
                                                        view->unit);

        g_ptr_array_add (lines, g_strdup_printf ("%s  %s", sm_chart_series_get_name (view->series[s]), value));
      }
  draw_box (cr, view, layout, x, FALSE, (char **) lines->pdata, lines->len, &layout->hover_box);
}

static void
draw_selection (cairo_t           *cr,
                const SmChartView *view,
                SmChartLayout     *layout)
{
  /* The part in view: a selection scrolled partly out shades nothing
   * over the axes. */
  double a = MAX (layout->plot.x, x_pixel (layout, view, MIN (view->select_t0, view->select_t1)));
  double b = MIN (layout->plot.x + layout->plot.width, x_pixel (layout, view, MAX (view->select_t0, view->select_t1)));
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);

  if (b < a)
    return;
  set_foreground (cr, view, 0.08);
  cairo_rectangle (cr, a, layout->plot.y, MAX (1, b - a), layout->plot.height);
  cairo_fill (cr);

  for (guint s = 0; s < view->n_series; s++)
    {
      SmChartStats st;

      if (view->hidden[s] || !sm_chart_series_get_stats (view->series[s], MIN (view->select_t0, view->select_t1),
                                                         MAX (view->select_t0, view->select_t1), &st))
        continue;
      {
        g_autofree char *min = sm_chart_format_value (st.min, view->unit);
        g_autofree char *mean = sm_chart_format_value (st.mean, view->unit);
        g_autofree char *p50 = sm_chart_format_value (st.p50, view->unit);
        g_autofree char *p99 = sm_chart_format_value (st.p99, view->unit);
        g_autofree char *max = sm_chart_format_value (st.max, view->unit);

        g_ptr_array_add (lines, g_strdup_printf ("%s: min %s  mean %s  p50 %s  p99 %s  max %s",
                                                 sm_chart_series_get_name (view->series[s]), min, mean, p50, p99, max));
      }
    }
  if (lines->len > 0)
    draw_box (cr, view, layout, a, TRUE, (char **) lines->pdata, lines->len, &layout->stats_box);
}

/* Whether the target ends up as pixels, where the mask path applies: an
 * image, or a recording that is replayed onto one (GTK's cairo nodes).
 * Vector files (SVG, PDF) get paths. */
static gboolean
is_raster (cairo_t *cr)
{
  cairo_surface_type_t type = cairo_surface_get_type (cairo_get_target (cr));

  return type == CAIRO_SURFACE_TYPE_IMAGE || type == CAIRO_SURFACE_TYPE_RECORDING;
}

void
sm_chart_render (cairo_t           *cr,
                 double             width,
                 double             height,
                 const SmChartView *view,
                 SmChartLayout     *layout)
{
  SmChartLayout local;
  Columns cols = { 0 };
  double sx = 1, sy = 1, axis;
  guint columns;

  if (layout == NULL)
    layout = &local;
  memset (layout, 0, sizeof *layout);
  axis = axis_width (cr, view);
  layout->plot = (SmChartRect) { axis, HEAD_HEIGHT + PAD, MAX (1, width - axis - PAD),
                                 MAX (1, height - HEAD_HEIGHT - PAD - TIME_HEIGHT) };
  /* One column per device pixel (HiDPI included). */
  cairo_user_to_device_distance (cr, &sx, &sy);
  columns = (guint) CLAMP (round (layout->plot.width * fabs (sx)), 1, MAX_COLUMNS);
  decimate_all (view, columns, &cols);
  y_range (view, &cols, &layout->y_lo, &layout->y_hi);

  cairo_save (cr);
  draw_head (cr, view, width, layout);
  if (view->t1 > view->t0)
    {
      draw_axes (cr, view, layout);
      draw_markers (cr, view, layout);
      cairo_save (cr);
      cairo_rectangle (cr, layout->plot.x, layout->plot.y - 1, layout->plot.width, layout->plot.height + 2);
      cairo_clip (cr);
      /* The first series on top: a chart's main measurement (pool in use)
       * is not hidden under a companion drawn with it (reserved). */
      for (guint s = view->n_series; s-- > 0; )
        if (!view->hidden[s])
          {
            if (is_raster (cr))
              draw_series_mask (cr, view, layout, s, &cols);
            else
              draw_series_path (cr, view, layout, s, &cols);
          }
      cairo_restore (cr);
      if (!isnan (view->select_t0) && !isnan (view->select_t1))
        draw_selection (cr, view, layout);
      if (!isnan (view->hover_t))
        draw_hover (cr, view, layout);
    }
  cairo_restore (cr);
  g_free (cols.storage);
}

double
sm_chart_layout_time_at (const SmChartLayout *layout,
                         const SmChartView   *view,
                         double               x)
{
  double f = (x - layout->plot.x) / layout->plot.width;

  return view->t0 + CLAMP (f, 0, 1) * (view->t1 - view->t0);
}
