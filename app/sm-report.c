/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <cairo-pdf.h>
#include <glib/gi18n.h>

#include "sm-report.h"

/* A4 in points, with 40 pt margins. */
#define PAGE_WIDTH   595.0
#define PAGE_HEIGHT  842.0
#define MARGIN       40.0
#define CHART_HEIGHT 190.0
#define LINE         14.0

typedef struct
{
  cairo_t *cr;
  double   y;
} Pen;

static void
new_page_if_needed (Pen    *pen,
                    double  height)
{
  if (pen->y + height > PAGE_HEIGHT - MARGIN)
    {
      cairo_show_page (pen->cr);
      pen->y = MARGIN;
    }
}

static void
text (Pen        *pen,
      const char *line,
      double      size,
      gboolean    bold)
{
  new_page_if_needed (pen, LINE);
  cairo_select_font_face (pen->cr, "Sans", CAIRO_FONT_SLANT_NORMAL,
                          bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size (pen->cr, size);
  cairo_set_source_rgb (pen->cr, 0.1, 0.1, 0.1);
  cairo_move_to (pen->cr, MARGIN, pen->y + size);
  cairo_show_text (pen->cr, line);
  pen->y += size + 6;
}

/* Long lines broken at spaces to fit the page. */
static void
paragraph (Pen        *pen,
           const char *body,
           double      size)
{
  g_auto(GStrv) words = g_strsplit (body, " ", -1);
  g_autoptr(GString) line = g_string_new (NULL);
  cairo_text_extents_t extents;

  cairo_select_font_face (pen->cr, "Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size (pen->cr, size);
  for (guint i = 0; words[i] != NULL; i++)
    {
      g_autofree char *candidate = line->len > 0 ? g_strdup_printf ("%s %s", line->str, words[i]) : g_strdup (words[i]);

      cairo_text_extents (pen->cr, candidate, &extents);
      if (extents.x_advance > PAGE_WIDTH - 2 * MARGIN && line->len > 0)
        {
          text (pen, line->str, size, FALSE);
          g_string_assign (line, words[i]);
        }
      else
        g_string_assign (line, candidate);
    }
  if (line->len > 0)
    text (pen, line->str, size, FALSE);
}

gboolean
sm_report_write_pdf (const char         *path,
                     const char         *title,
                     const char         *settings,
                     const SmChartView **views,
                     guint               n_views,
                     GPtrArray          *recommendations,
                     GError            **error)
{
  cairo_surface_t *surface = cairo_pdf_surface_create (path, PAGE_WIDTH, PAGE_HEIGHT);
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *date = g_date_time_format (now, "%Y-%m-%d %H:%M");
  cairo_status_t status;
  Pen pen = { cairo_create (surface), MARGIN };

  text (&pen, title, 18, TRUE);
  text (&pen, date, 10, FALSE);
  if (settings != NULL)
    paragraph (&pen, settings, 10);
  pen.y += 8;

  for (guint i = 0; i < n_views; i++)
    {
      SmChartView view = *views[i];

      /* Shared in print: light colours, nothing hovered. */
      view.dark = FALSE;
      view.hover_t = NAN;
      new_page_if_needed (&pen, CHART_HEIGHT);
      cairo_save (pen.cr);
      cairo_translate (pen.cr, MARGIN, pen.y);
      sm_chart_render (pen.cr, PAGE_WIDTH - 2 * MARGIN, CHART_HEIGHT, &view, NULL);
      cairo_restore (pen.cr);
      pen.y += CHART_HEIGHT + 12;
    }

  pen.y += 8;
  text (&pen, _("Recommendations"), 14, TRUE);
  if (recommendations == NULL || recommendations->len == 0)
    text (&pen, _("None: no rule's condition held for a whole window."), 10, FALSE);
  for (guint i = 0; recommendations != NULL && i < recommendations->len; i++)
    {
      SmRecommendation *rec = g_ptr_array_index (recommendations, i);
      g_autofree char *head = g_strdup_printf ("[%s] %s", sm_severity_get_name (rec->severity), rec->title);
      g_autofree char *change = g_strdup_printf (_("Change: %s. Expected: %s"), rec->action, rec->expected);

      pen.y += 4;
      text (&pen, head, 11, TRUE);
      paragraph (&pen, rec->evidence, 10);
      paragraph (&pen, change, 10);
      if (rec->outcome != NULL)
        {
          g_autofree char *outcome = g_strdup_printf (_("Measured: %s%s"), rec->outcome,
                                                      rec->worse ? _(" (worse)") : "");

          paragraph (&pen, outcome, 10);
        }
    }

  cairo_destroy (pen.cr);
  cairo_surface_finish (surface);
  status = cairo_surface_status (surface);
  cairo_surface_destroy (surface);
  if (status != CAIRO_STATUS_SUCCESS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "Cannot write %s: %s", path, cairo_status_to_string (status));
      return FALSE;
    }
  return TRUE;
}
