/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <glib/gi18n.h>

#include "sm-chart-axis.h"
#include "sm-chart.h"
#include "sm-dashboard.h"
#include "sm-metric-ids.h"
#include "sm-metric-series.h"
#include "sm-report.h"
#include "sm-spin-scroll.h"
#include "sm-tuning-panel.h"

/* Samples each series keeps until told otherwise: an hour at the default
 * 250 ms refresh. */
#define HISTORY 14400
/* However long the history people ask for: 13 series of this many samples
 * stay within a few tens of MiB. */
#define MAX_HISTORY 100000

typedef enum {
  TILE_P99,
  TILE_THROUGHPUT,
  TILE_POOL,
  TILE_FRAGMENTATION,
  TILE_SIMD,
  TILE_BACKEND,
  N_TILES
} Tile;

static const char * const tile_titles[N_TILES] = {
  N_("p99 latency"), N_("Throughput"), N_("Pool in use"), N_("Fragmentation"),
  N_("SIMD utilisation"), N_("Kernels"),
};

/* Each chart's series: a metric id, its name on the legend, dashed. */
typedef struct
{
  const char *metric;
  const char *name;
  gboolean    dashed;
} SeriesSpec;

typedef struct
{
  const char *title;
  const char *file_name;   /* of its export, the same in every language */
  const char *unit;
  gboolean    log_scale;
  SeriesSpec  series[3];
} ChartSpec;

/* The GPU's charts come last, shown only while it has work (below). */
enum { CHART_LATENCY, CHART_THROUGHPUT, CHART_POOL, CHART_FRAGMENTATION, CHART_QUEUE,
       CHART_GPU_BUSY, CHART_GPU_BATCHES, CHART_GPU_LATENCY, N_CHARTS };

static const ChartSpec chart_specs[N_CHARTS] = {
  { N_("End-to-end latency"), "latency", "µs", TRUE,
    { { SM_METRIC_ID_LATENCY_P50, "p50", FALSE }, { SM_METRIC_ID_LATENCY_P90, "p90", FALSE }, { SM_METRIC_ID_LATENCY_P99, "p99", FALSE } } },
  { N_("Throughput"), "throughput", "ops/s", FALSE, { { SM_METRIC_ID_THROUGHPUT, N_("answered"), FALSE } } },
  { N_("Memory pool"), "memory-pool", "MiB", FALSE,
    { { SM_METRIC_ID_POOL_IN_USE, N_("in use"), FALSE }, { SM_METRIC_ID_POOL_RESERVED, N_("reserved"), FALSE }, { SM_METRIC_ID_POOL_LIMIT, N_("limit"), TRUE } } },
  { N_("Fragmentation"), "fragmentation", "%", FALSE, { { SM_METRIC_ID_POOL_FRAGMENTATION, N_("fragmentation"), FALSE } } },
  { N_("Queue and batches"), "queue-and-batches", "", FALSE,
    { { SM_METRIC_ID_QUEUE_DEPTH, N_("queue depth"), FALSE }, { SM_METRIC_ID_MEAN_BATCH, N_("mean batch"), FALSE } } },
  { N_("GPU busy"), "gpu-busy", "%", FALSE, { { SM_METRIC_ID_GPU_BUSY, N_("busy"), FALSE } } },
  { N_("GPU batches"), "gpu-batches", "batches/s", FALSE, { { SM_METRIC_ID_GPU_BATCHES, N_("batches"), FALSE } } },
  { N_("GPU stage latency"), "gpu-latency", "µs", TRUE,
    { { SM_METRIC_ID_STAGE_GPU_P50, "p50", FALSE }, { SM_METRIC_ID_STAGE_GPU_P99, "p99", FALSE } } },
};

/* The chart series a tile's sparkline draws (its last minute), or none. */
static const struct {
  int chart;
  int series;
} tile_sources[N_TILES] = {
  [TILE_P99] = { CHART_LATENCY, 2 },
  [TILE_THROUGHPUT] = { CHART_THROUGHPUT, 0 },
  [TILE_POOL] = { CHART_POOL, 0 },
  [TILE_FRAGMENTATION] = { CHART_FRAGMENTATION, 0 },
  [TILE_SIMD] = { -1, 0 },
  [TILE_BACKEND] = { -1, 0 },
};

/* Points in a sparkline, over its minute. */
#define SPARK_POINTS 60

static const double windows[] = { 60, 300, 900, 0 };

struct _SmDashboard
{
  AdwBin         parent_instance;

  /* Template widgets */
  GtkWidget     *start_button;
  GtkAdjustment *rate;
  GtkWidget     *live_button;
  GtkWidget     *window_dropdown;
  GtkWidget     *tuning_button;
  GtkFlowBox    *tiles;
  AdwBin        *latency_bin;
  GtkFlowBox    *charts_flow;

  /* Borrowed: built from the tables above, in @tiles, @latency_bin and
   * @charts_flow */
  GtkWidget     *tile_values[N_TILES];
  GtkWidget     *tile_details[N_TILES];
  GtkWidget     *tile_sparks[N_TILES];   /* NULL for a tile without one */
  SmChart       *charts[N_CHARTS];

  /* Owned */
  GSettings     *settings;        /* the time window and hidden series, remembered */
  SmSession     *session;
  int            metrics[N_CHARTS][3];
  int            tile_metrics[N_TILES];
  /* The charts count from the latest run's start (0:00, as its replay
   * does), on the monitor's clock; before any run, from the app's. */
  double         time_origin;
  gboolean       was_running;
  /* The GPU's charts are shown while it is on, or once it ran a batch. */
  gboolean       gpu_shown;
};


enum {
  PROP_0,
  PROP_SESSION,
  N_PROPS
};

G_DEFINE_FINAL_TYPE (SmDashboard, sm_dashboard, ADW_TYPE_BIN)

static GParamSpec *properties[N_PROPS];

static void
set_tile (SmDashboard *self,
          Tile         tile,
          const char  *text,
          const char  *detail)
{
  gtk_label_set_text (GTK_LABEL (self->tile_values[tile]), text);
  gtk_label_set_text (GTK_LABEL (self->tile_details[tile]), detail);
  /* Every tick sets the same text: the tooltip only when it changes. */
  if (g_strcmp0 (gtk_widget_get_tooltip_text (self->tile_details[tile]), detail) != 0)
    gtk_widget_set_tooltip_text (self->tile_details[tile], detail);
}

static double
value_of (SmMonitorSnapshot *snapshot,
          int                index)
{
  return index >= 0 && (guint) index < snapshot->n_values ? snapshot->values[index] : NAN;
}

static void
update_tiles (SmDashboard       *self,
              SmMonitorSnapshot *snapshot)
{
  g_autofree char *p99 = sm_chart_format_value (value_of (snapshot, self->tile_metrics[TILE_P99]), "µs");
  g_autofree char *p50 = sm_chart_format_value (value_of (snapshot, self->metrics[CHART_LATENCY][0]), "µs");
  g_autofree char *p50_text = g_strdup_printf (_("p50 %s"), p50);
  g_autofree char *ops = sm_chart_format_value (value_of (snapshot, self->tile_metrics[TILE_THROUGHPUT]), "ops/s");
  g_autofree char *in_use = sm_chart_format_value (value_of (snapshot, self->tile_metrics[TILE_POOL]), "MiB");
  g_autofree char *limit = sm_chart_format_value (value_of (snapshot, self->metrics[CHART_POOL][2]), "MiB");
  g_autofree char *limit_text = g_strdup_printf (_("of a %s limit"), limit);
  g_autofree char *fragmentation = sm_chart_format_value (value_of (snapshot, self->tile_metrics[TILE_FRAGMENTATION]), "%");
  g_autofree char *simd = sm_chart_format_value (value_of (snapshot, self->tile_metrics[TILE_SIMD]), "%");
  g_autofree char *backend_text = NULL, *gpu_status = NULL;
  SmBackend backend = sm_engine_get_backend (sm_session_get_engine (self->session));
  const SmKernels *kernels = sm_backend_get_kernels (backend, NULL);

  gpu_status = sm_engine_dup_gpu_status (sm_session_get_engine (self->session));
  backend_text = g_strdup_printf (_("backend %s · %s"), sm_backend_get_name (backend), gpu_status);
  set_tile (self, TILE_P99, p99, p50_text);
  set_tile (self, TILE_THROUGHPUT, ops, sm_session_get_running (self->session) ? _("load running") : _("no load"));
  set_tile (self, TILE_POOL, in_use, limit_text);
  set_tile (self, TILE_FRAGMENTATION, fragmentation, _("of free memory split off the largest run"));
  set_tile (self, TILE_SIMD, simd, _("of kernel FLOPs in vector code"));
  set_tile (self, TILE_BACKEND, kernels != NULL ? kernels->name : "—", backend_text);
}

static gboolean
chart_shown (SmDashboard *self,
             guint        c)
{
  return c < CHART_GPU_BUSY || self->gpu_shown;
}

/* A GPU chart of a machine that never uses one is three empty boxes: they
 * come when the GPU is switched on, or ran a batch this session (the
 * engine may have been told from the command line), and stay. */
static void
update_gpu_charts (SmDashboard       *self,
                   SmMonitorSnapshot *snapshot)
{
  double batches = value_of (snapshot, self->metrics[CHART_GPU_BATCHES][0]);

  if (self->gpu_shown || self->session == NULL ||
      (sm_engine_get_gpu_mode (sm_session_get_engine (self->session)) == SM_GPU_OFF && !(batches > 0)))
    return;
  self->gpu_shown = TRUE;
  for (guint c = CHART_GPU_BUSY; c < N_CHARTS; c++)
    gtk_widget_set_visible (gtk_widget_get_parent (GTK_WIDGET (self->charts[c])), TRUE);
}

static void
snapshot_cb (SmSession         *session,
             SmMonitorSnapshot *snapshot,
             SmDashboard       *self)
{
  double t = snapshot->t_ms / 1000.0 - self->time_origin;

  /* Taken before the run began, handed over after: not the run's. */
  if (t < 0)
    return;
  update_gpu_charts (self, snapshot);
  /* Hidden charts take nothing: their history's pages stay untouched. */
  for (guint c = 0; c < N_CHARTS && chart_shown (self, c); c++)
    {
      for (guint s = 0; s < sm_chart_get_n_series (self->charts[c]); s++)
        sm_chart_series_append (sm_chart_get_series (self->charts[c], s), t, value_of (snapshot, self->metrics[c][s]));
      sm_chart_samples_added (self->charts[c]);
    }
  update_tiles (self, snapshot);
  for (guint tile = 0; tile < N_TILES; tile++)
    if (self->tile_sparks[tile] != NULL)
      gtk_widget_queue_draw (self->tile_sparks[tile]);
}

static void
running_cb (SmDashboard *self)
{
  gboolean running = self->session != NULL && sm_session_get_running (self->session);

  /* A run begins: the charts start again from 0:00 (issue 17, defect 15:
   * they counted from the app's start). */
  if (running && !self->was_running && sm_session_get_run_start (self->session, &self->time_origin))
    for (guint c = 0; c < N_CHARTS; c++)
      {
        for (guint s = 0; s < sm_chart_get_n_series (self->charts[c]); s++)
          sm_chart_series_clear (sm_chart_get_series (self->charts[c], s));
        sm_chart_clear_markers (self->charts[c]);
        sm_chart_samples_added (self->charts[c]);
      }
  self->was_running = running;

  /* The load may have been started elsewhere (--load): show its rate. */
  if (running)
    gtk_adjustment_set_value (self->rate, sm_session_get_rate (self->session));

  gtk_button_set_label (GTK_BUTTON (self->start_button), running ? _("_Stop Load") : _("_Start Load"));
  if (running)
    {
      gtk_widget_remove_css_class (self->start_button, "suggested-action");
      gtk_widget_add_css_class (self->start_button, "destructive-action");
    }
  else
    {
      gtk_widget_remove_css_class (self->start_button, "destructive-action");
      gtk_widget_add_css_class (self->start_button, "suggested-action");
    }
}

static void
start_clicked_cb (SmDashboard *self)
{
  if (self->session == NULL)
    return;
  if (sm_session_get_running (self->session))
    sm_session_stop (self->session);
  else
    sm_session_start (self->session, gtk_adjustment_get_value (self->rate));
}

static void
rate_changed_cb (SmDashboard *self)
{
  if (self->session != NULL)
    sm_session_set_rate (self->session, gtk_adjustment_get_value (self->rate));
}

static void
live_toggled_cb (SmDashboard *self)
{
  gboolean live = !gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (self->live_button));

  for (guint c = 0; c < N_CHARTS; c++)
    sm_chart_set_live (self->charts[c], live);
  gtk_button_set_icon_name (GTK_BUTTON (self->live_button),
                            live ? "media-playback-pause-symbolic" : "media-playback-start-symbolic");
  gtk_widget_set_tooltip_text (self->live_button, live ? _("Pause the Charts (Space)") : _("Follow Live (Space)"));
  /* An icon is no name for a screen reader. */
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->live_button), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  live ? _("Pause the Charts") : _("Follow Live"), -1);
}

static void
window_selected_cb (SmDashboard *self)
{
  guint selected = gtk_drop_down_get_selected (GTK_DROP_DOWN (self->window_dropdown));

  sm_dashboard_set_window (self, windows[MIN (selected, G_N_ELEMENTS (windows) - 1)]);
}

/* A tile's last minute at a glance, in its series' colour, scaled to
 * its own range (the figure above says the value). */
static void
spark_draw (GtkDrawingArea *area,
            cairo_t        *cr,
            int             width,
            int             height,
            gpointer        user_data)
{
  SmDashboard *self = user_data;
  guint tile = 0;
  SmChartSeries *series;
  double values[SPARK_POINTS], lo = INFINITY, hi = -INFINITY, last, rgb[3];
  gboolean started = FALSE;

  while (tile < N_TILES && self->tile_sparks[tile] != GTK_WIDGET (area))
    tile++;
  if (tile == N_TILES || self->charts[tile_sources[tile].chart] == NULL)
    return;
  series = sm_chart_get_series (self->charts[tile_sources[tile].chart], (guint) tile_sources[tile].series);
  last = sm_chart_series_get_last_time (series);
  if (isnan (last))
    return;
  for (guint i = 0; i < SPARK_POINTS; i++)
    {
      values[i] = sm_chart_series_value_at (series, last - (SPARK_POINTS - 1 - i));
      if (!isnan (values[i]))
        {
          lo = MIN (lo, values[i]);
          hi = MAX (hi, values[i]);
        }
    }
  if (!isfinite (lo))
    return;
  if (hi - lo < 1e-12)
    hi = lo + 1;
  sm_chart_series_color ((guint) MAX (0, sm_chart_series_get_color (series)),
                         adw_style_manager_get_dark (adw_style_manager_get_default ()), rgb);
  cairo_set_source_rgb (cr, rgb[0], rgb[1], rgb[2]);
  cairo_set_line_width (cr, adw_style_manager_get_high_contrast (adw_style_manager_get_default ()) ? 2.5 : 1.5);
  for (guint i = 0; i < SPARK_POINTS; i++)
    {
      double x = (double) i / (SPARK_POINTS - 1) * (width - 2) + 1;
      double y = height - 2 - (values[i] - lo) / (hi - lo) * (height - 4);

      if (isnan (values[i]))
        continue;
      if (!started)
        cairo_move_to (cr, x, y);
      else
        cairo_line_to (cr, x, y);
      started = TRUE;
    }
  cairo_stroke (cr);
}

static GtkWidget *
make_tile (SmDashboard *self,
           Tile         tile)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 4);
  GtkWidget *title = gtk_label_new (_(tile_titles[tile]));

  gtk_widget_add_css_class (box, "card");
  gtk_widget_set_hexpand (box, TRUE);
  gtk_widget_set_margin_top (title, 10);
  gtk_widget_set_margin_start (title, 12);
  gtk_widget_set_margin_end (title, 12);
  gtk_widget_add_css_class (title, "caption-heading");
  gtk_widget_add_css_class (title, "dim-label");
  gtk_label_set_xalign (GTK_LABEL (title), 0);
  self->tile_values[tile] = gtk_label_new ("—");
  gtk_widget_add_css_class (self->tile_values[tile], "title-4");
  gtk_widget_add_css_class (self->tile_values[tile], "numeric");
  gtk_label_set_xalign (GTK_LABEL (self->tile_values[tile]), 0);
  /* Wide enough for the longest figure ("888 k ops/s"). */
  gtk_label_set_width_chars (GTK_LABEL (self->tile_values[tile]), 9);
  gtk_widget_set_margin_start (self->tile_values[tile], 12);
  gtk_widget_set_margin_end (self->tile_values[tile], 12);
  self->tile_details[tile] = gtk_label_new ("");
  gtk_widget_add_css_class (self->tile_details[tile], "caption");
  gtk_widget_add_css_class (self->tile_details[tile], "dim-label");
  gtk_label_set_xalign (GTK_LABEL (self->tile_details[tile]), 0);
  /* Two lines, not one cut short (issue 17, defect 15); a longer detail
   * still ends in an ellipsis, with the whole text in its tooltip. */
  gtk_label_set_wrap (GTK_LABEL (self->tile_details[tile]), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (self->tile_details[tile]), PANGO_WRAP_WORD_CHAR);
  gtk_label_set_lines (GTK_LABEL (self->tile_details[tile]), 2);
  gtk_label_set_ellipsize (GTK_LABEL (self->tile_details[tile]), PANGO_ELLIPSIZE_END);
  /* A long detail must not make every tile wide (they share one width). */
  gtk_label_set_max_width_chars (GTK_LABEL (self->tile_details[tile]), 12);
  gtk_widget_set_margin_bottom (self->tile_details[tile], 10);
  gtk_widget_set_margin_start (self->tile_details[tile], 12);
  gtk_widget_set_margin_end (self->tile_details[tile], 12);
  gtk_accessible_update_relation (GTK_ACCESSIBLE (self->tile_values[tile]), GTK_ACCESSIBLE_RELATION_LABELLED_BY,
                                  title, NULL, -1);
  gtk_box_append (GTK_BOX (box), title);
  gtk_box_append (GTK_BOX (box), self->tile_values[tile]);
  if (tile_sources[tile].chart >= 0)
    {
      self->tile_sparks[tile] = gtk_drawing_area_new ();
      gtk_widget_set_size_request (self->tile_sparks[tile], -1, 22);
      gtk_widget_set_margin_start (self->tile_sparks[tile], 12);
      gtk_widget_set_margin_end (self->tile_sparks[tile], 12);
      gtk_drawing_area_set_draw_func (GTK_DRAWING_AREA (self->tile_sparks[tile]), spark_draw, self, NULL);
      gtk_accessible_update_property (GTK_ACCESSIBLE (self->tile_sparks[tile]), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                      _("The last minute"), -1);
      gtk_box_append (GTK_BOX (box), self->tile_sparks[tile]);
    }
  gtk_box_append (GTK_BOX (box), self->tile_details[tile]);
  return box;
}

/* Hidden series are remembered as "METRIC@CHART" (the chart's index):
 * stable across languages and releases that keep the metric. */
static char *
series_key (guint c,
            guint s)
{
  return g_strdup_printf ("%s@%u", chart_specs[c].series[s].metric, c);
}

static void
series_toggled_cb (SmChart  *chart,
                   guint     s,
                   gboolean  visible,
                   gpointer  user_data)
{
  SmDashboard *self = SM_DASHBOARD (user_data);
  g_auto(GStrv) hidden = g_settings_get_strv (self->settings, "hidden-series");
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autofree char *key = NULL;
  g_auto(GStrv) updated = NULL;
  guint c = 0;

  while (c < N_CHARTS && self->charts[c] != chart)
    c++;
  key = series_key (c, s);
  for (guint i = 0; hidden[i] != NULL; i++)
    if (!g_str_equal (hidden[i], key))
      g_strv_builder_add (builder, hidden[i]);
  if (!visible)
    g_strv_builder_add (builder, key);
  updated = g_strv_builder_end (builder);
  g_settings_set_strv (self->settings, "hidden-series", (const char * const *) updated);
}

static void
restore_hidden_series (SmDashboard *self)
{
  g_auto(GStrv) hidden = g_settings_get_strv (self->settings, "hidden-series");

  for (guint c = 0; c < N_CHARTS; c++)
    for (guint s = 0; s < sm_chart_get_n_series (self->charts[c]); s++)
      {
        g_autofree char *key = series_key (c, s);

        sm_chart_set_series_visible (self->charts[c], s, !g_strv_contains ((const char * const *) hidden, key));
      }
}

static void
sm_dashboard_dispose (GObject *object)
{
  SmDashboard *self = SM_DASHBOARD (object);

  g_clear_object (&self->settings);
  sm_dashboard_set_session (self, NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), SM_TYPE_DASHBOARD);
  G_OBJECT_CLASS (sm_dashboard_parent_class)->dispose (object);
}

static void
toggle_live_action_cb (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *parameter)
{
  SmDashboard *self = SM_DASHBOARD (widget);

  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (self->live_button),
                                !gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (self->live_button)));
}

static void
toggle_tuning_action_cb (GtkWidget  *widget,
                         const char *action_name,
                         GVariant   *parameter)
{
  SmDashboard *self = SM_DASHBOARD (widget);

  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (self->tuning_button),
                                !gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (self->tuning_button)));
}

/* Problems with exports go where the user looks: a toast. */
static void
show_toast (SmDashboard *self,
            const char  *text)
{
  GtkWidget *overlay = gtk_widget_get_ancestor (GTK_WIDGET (self), ADW_TYPE_TOAST_OVERLAY);

  if (overlay != NULL)
    adw_toast_overlay_add_toast (ADW_TOAST_OVERLAY (overlay), adw_toast_new (text));
  else
    g_printerr ("%s\n", text);
}

static void
report_chosen_cb (GtkNativeDialog *chooser,
                  int              response,
                  SmDashboard     *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      g_autofree char *path = g_file_get_path (file);
      g_autoptr(GError) error = NULL;

      g_autofree char *done = NULL;

      if (!sm_dashboard_write_report (self, path, &error))
        done = g_strdup_printf (_("Report not written: %s"), error->message);
      else
        done = g_strdup_printf (_("Report written to %s"), path);
      show_toast (self, done);
    }
  g_object_unref (chooser);
}

static void
charts_chosen_cb (GtkNativeDialog *chooser,
                  int              response,
                  SmDashboard     *self)
{
  const char *format = g_object_get_data (G_OBJECT (chooser), "format");

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) folder = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      g_autofree char *dir = g_file_get_path (folder);
      g_autoptr(GError) error = NULL;
      g_autofree char *done = NULL;

      guint written = sm_dashboard_export_charts (self, dir, format, &error);

      done = error != NULL ? g_strdup_printf (_("Charts not written: %s"), error->message)
                           : g_strdup_printf (_("%u charts written to %s"), written, dir);
      show_toast (self, done);
    }
  g_object_unref (chooser);
}

static void
export_report_action_cb (GtkWidget  *widget,
                         const char *action_name,
                         GVariant   *parameter)
{
  SmDashboard *self = SM_DASHBOARD (widget);
  GtkRoot *root = gtk_widget_get_root (widget);
  GtkFileChooserNative *chooser;
  double run_start;

  /* Said before a file is asked for. */
  if (self->session == NULL || !sm_session_get_run_start (self->session, &run_start))
    {
      show_toast (self, _("Nothing to report yet: a report is of a run of the load (Start Load)"));
      return;
    }
  chooser = gtk_file_chooser_native_new (_("Export Session Report"), GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                         GTK_FILE_CHOOSER_ACTION_SAVE, _("_Export"), _("_Cancel"));
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), "synaptic-mesh-report.pdf");
  g_signal_connect (chooser, "response", G_CALLBACK (report_chosen_cb), widget);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
export_charts_action_cb (GtkWidget  *widget,
                         const char *action_name,
                         GVariant   *parameter)
{
  GtkRoot *root = gtk_widget_get_root (widget);
  GtkFileChooserNative *chooser = gtk_file_chooser_native_new (_("Export the Charts into a Folder"),
                                                               GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                                               GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                                                               _("_Export"), _("_Cancel"));

  g_object_set_data_full (G_OBJECT (chooser), "format", g_variant_dup_string (parameter, NULL), g_free);
  g_signal_connect (chooser, "response", G_CALLBACK (charts_chosen_cb), widget);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
show_window_action_cb (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *parameter)
{
  SmDashboard *self = SM_DASHBOARD (widget);

  gtk_drop_down_set_selected (GTK_DROP_DOWN (self->window_dropdown), g_variant_get_uint32 (parameter));
}

static void
sm_dashboard_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  SmDashboard *self = SM_DASHBOARD (object);

  switch (prop_id)
    {
    case PROP_SESSION:
      g_value_set_object (value, self->session);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sm_dashboard_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  SmDashboard *self = SM_DASHBOARD (object);

  switch (prop_id)
    {
    case PROP_SESSION:
      sm_dashboard_set_session (self, g_value_get_object (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sm_dashboard_class_init (SmDashboardClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = sm_dashboard_dispose;
  object_class->get_property = sm_dashboard_get_property;
  object_class->set_property = sm_dashboard_set_property;

  /**
   * SmDashboard:session:
   *
   * The session the dashboard charts and drives, or %NULL (idle).
   */
  properties[PROP_SESSION] =
    g_param_spec_object ("session", NULL, NULL,
                         SM_TYPE_SESSION,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (SM_TYPE_TUNING_PANEL);
  gtk_widget_class_set_template_from_resource (widget_class, RESOURCE_PREFIX "/ui/sm-dashboard.ui");
  gtk_widget_class_bind_template_child (widget_class, SmDashboard, start_button);
  gtk_widget_class_bind_template_child (widget_class, SmDashboard, rate);
  gtk_widget_class_bind_template_child (widget_class, SmDashboard, live_button);
  gtk_widget_class_bind_template_child (widget_class, SmDashboard, window_dropdown);
  gtk_widget_class_bind_template_child (widget_class, SmDashboard, tuning_button);
  gtk_widget_class_bind_template_child (widget_class, SmDashboard, tiles);
  gtk_widget_class_bind_template_child (widget_class, SmDashboard, latency_bin);
  gtk_widget_class_bind_template_child (widget_class, SmDashboard, charts_flow);
  gtk_widget_class_bind_template_callback (widget_class, start_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, rate_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, live_toggled_cb);
  gtk_widget_class_bind_template_callback (widget_class, window_selected_cb);

  gtk_widget_class_install_action (widget_class, "dashboard.toggle-live", NULL, toggle_live_action_cb);
  gtk_widget_class_install_action (widget_class, "dashboard.toggle-tuning", NULL, toggle_tuning_action_cb);
  gtk_widget_class_install_action (widget_class, "dashboard.export-report", NULL, export_report_action_cb);
  gtk_widget_class_install_action (widget_class, "dashboard.export-charts", "s", export_charts_action_cb);
  gtk_widget_class_install_action (widget_class, "dashboard.show-window", "u", show_window_action_cb);
  /* Space only where the focus is on the dashboard: elsewhere it presses
   * buttons and types spaces. */
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_space, 0, "dashboard.toggle-live", NULL);
}

/* F9, Ctrl+E and Ctrl+1…4 work from anywhere in the window, as window
 * shortcuts do (issue 17, defect 10: F9 did not close the panel from a
 * control inside it, Ctrl+1 did nothing from the header bar). */
static void
add_window_shortcuts (SmDashboard *self)
{
  GtkEventController *controller = gtk_shortcut_controller_new ();
  GtkShortcutController *shortcuts = GTK_SHORTCUT_CONTROLLER (controller);

  gtk_shortcut_controller_set_scope (shortcuts, GTK_SHORTCUT_SCOPE_GLOBAL);
  gtk_shortcut_controller_add_shortcut (shortcuts,
                                        gtk_shortcut_new (gtk_keyval_trigger_new (GDK_KEY_F9, 0),
                                                          gtk_named_action_new ("dashboard.toggle-tuning")));
  gtk_shortcut_controller_add_shortcut (shortcuts,
                                        gtk_shortcut_new (gtk_keyval_trigger_new (GDK_KEY_e, GDK_CONTROL_MASK),
                                                          gtk_named_action_new ("dashboard.export-report")));
  for (guint i = 0; i < G_N_ELEMENTS (windows); i++)
    gtk_shortcut_controller_add_shortcut (shortcuts,
                                          gtk_shortcut_new_with_arguments (gtk_keyval_trigger_new (GDK_KEY_1 + i,
                                                                                                   GDK_CONTROL_MASK),
                                                                           gtk_named_action_new ("dashboard.show-window"),
                                                                           "u", i));
  gtk_widget_add_controller (GTK_WIDGET (self), controller);
}

/* The charts, and the tuning panel (a revealer) at their right: beside
 * them where the width holds both, over them (below their toolbar) where
 * it does not, so that opening the panel never widens the window (as
 * AdwFlap's folded mode; AdwFlap itself is deprecated from libadwaita
 * 1.4).  The first child is the charts with their toolbar on top, the
 * last the panel. */
static void
side_panel_measure (GtkWidget      *widget,
                    GtkOrientation  orientation,
                    int             for_size,
                    int            *minimum,
                    int            *natural,
                    int            *minimum_baseline,
                    int            *natural_baseline)
{
  GtkWidget *charts = gtk_widget_get_first_child (widget);
  GtkWidget *panel = gtk_widget_get_last_child (widget);
  int charts_min, charts_nat, panel_min, panel_nat;

  gtk_widget_measure (charts, orientation, for_size, &charts_min, &charts_nat, NULL, NULL);
  gtk_widget_measure (panel, orientation, -1, &panel_min, &panel_nat, NULL, NULL);
  *minimum = MAX (charts_min, panel_min);
  *natural = orientation == GTK_ORIENTATION_HORIZONTAL ? charts_nat + panel_nat : MAX (charts_nat, panel_nat);
}

static void
side_panel_allocate (GtkWidget *widget,
                     int        width,
                     int        height,
                     int        baseline)
{
  GtkWidget *charts = gtk_widget_get_first_child (widget);
  GtkWidget *panel = gtk_widget_get_last_child (widget);
  int charts_min, panel_width, top;
  gboolean beside;

  gtk_widget_measure (charts, GTK_ORIENTATION_HORIZONTAL, height, &charts_min, NULL, NULL, NULL);
  /* The revealer's natural width follows its transition: 0 when hidden. */
  gtk_widget_measure (panel, GTK_ORIENTATION_HORIZONTAL, height, NULL, &panel_width, NULL, NULL);
  panel_width = MIN (panel_width, width);
  beside = width - panel_width >= charts_min;
  gtk_widget_size_allocate (charts, &(GtkAllocation) { 0, 0, beside ? width - panel_width : width, height }, -1);
  /* Over them, below their toolbar: its button closes the panel. */
  top = beside ? 0 : MIN (height, gtk_widget_get_height (gtk_widget_get_first_child (charts)));
  gtk_widget_size_allocate (panel, &(GtkAllocation) { width - panel_width, top, panel_width, height - top }, -1);
}

static void
sm_dashboard_init (SmDashboard *self)
{
  /* The charts first: the template's signals reach them (the time window). */
  for (guint c = 0; c < N_CHARTS; c++)
    {
      const ChartSpec *spec = &chart_specs[c];

      self->charts[c] = SM_CHART (sm_chart_new (_(spec->title), spec->unit));
      for (guint s = 0; s < G_N_ELEMENTS (spec->series) && spec->series[s].metric != NULL; s++)
        sm_chart_add_series (self->charts[c], sm_metric_series_new (spec->series[s].metric, _(spec->series[s].name),
                                                                    HISTORY),
                             spec->series[s].dashed);
      sm_chart_set_log_scale (self->charts[c], spec->log_scale);
      gtk_widget_set_hexpand (GTK_WIDGET (self->charts[c]), TRUE);
      gtk_widget_set_size_request (GTK_WIDGET (self->charts[c]), -1, c == CHART_LATENCY ? 260 : 200);
    }

  gtk_widget_init_template (GTK_WIDGET (self));
  /* Not a bound template child: AdwBin unparents its child itself. */
  gtk_widget_set_layout_manager (adw_bin_get_child (ADW_BIN (self)),
                                 gtk_custom_layout_new (NULL, side_panel_measure, side_panel_allocate));
  sm_spin_scroll_guard (GTK_WIDGET (self));
  add_window_shortcuts (self);

  gtk_flow_box_set_max_children_per_line (self->tiles, N_TILES);
  for (guint t = 0; t < N_TILES; t++)
    {
      gtk_flow_box_append (self->tiles, make_tile (self, t));
      /* Figures to read, not items to pick. */
      gtk_widget_set_focusable (GTK_WIDGET (gtk_flow_box_get_child_at_index (self->tiles, (int) t)), FALSE);
    }

  /* Latency across the top, the others two by two (one by one when
   * narrow). */
  for (guint c = 0; c < N_CHARTS; c++)
    if (c == CHART_LATENCY)
      adw_bin_set_child (self->latency_bin, GTK_WIDGET (self->charts[c]));
    else
      {
        gtk_flow_box_append (self->charts_flow, GTK_WIDGET (self->charts[c]));
        /* The chart takes the focus, not its place in the flow. */
        gtk_widget_set_focusable (gtk_widget_get_parent (GTK_WIDGET (self->charts[c])), FALSE);
        gtk_widget_set_visible (gtk_widget_get_parent (GTK_WIDGET (self->charts[c])), chart_shown (self, c));
      }

  /* Chart settings outlive the window: its time window and the series
   * people hid. */
  self->settings = g_settings_new (APP_ID);
  g_settings_bind (self->settings, "chart-window", self->window_dropdown, "selected", G_SETTINGS_BIND_DEFAULT);
  restore_hidden_series (self);
  for (guint c = 0; c < N_CHARTS; c++)
    g_signal_connect_object (self->charts[c], "series-toggled", G_CALLBACK (series_toggled_cb), self, 0);

  live_toggled_cb (self);
  running_cb (self);
}

GtkWidget *
sm_dashboard_new (void)
{
  return g_object_new (SM_TYPE_DASHBOARD, NULL);
}

void
sm_dashboard_set_session (SmDashboard *self,
                          SmSession   *session)
{
  g_return_if_fail (SM_IS_DASHBOARD (self));
  g_return_if_fail (session == NULL || SM_IS_SESSION (session));

  /* The tuning panel follows through its binding (sm-dashboard.ui). */
  if (self->session == session)
    return;
  /* Another session's clock: until its run, from its monitor's start. */
  self->time_origin = 0;
  self->was_running = FALSE;
  self->gpu_shown = FALSE;
  for (guint c = CHART_GPU_BUSY; c < N_CHARTS; c++)
    gtk_widget_set_visible (gtk_widget_get_parent (GTK_WIDGET (self->charts[c])), FALSE);
  if (sm_session_watch (&self->session, session, self))
    {
      SmMonitor *monitor = sm_session_get_monitor (session);

      for (guint c = 0; c < N_CHARTS; c++)
        for (guint s = 0; s < G_N_ELEMENTS (chart_specs[c].series); s++)
          self->metrics[c][s] = chart_specs[c].series[s].metric != NULL
                                ? sm_monitor_find_metric (monitor, chart_specs[c].series[s].metric)
                                : -1;
      self->tile_metrics[TILE_P99] = sm_monitor_find_metric (monitor, SM_METRIC_ID_LATENCY_P99);
      self->tile_metrics[TILE_THROUGHPUT] = sm_monitor_find_metric (monitor, SM_METRIC_ID_THROUGHPUT);
      self->tile_metrics[TILE_POOL] = sm_monitor_find_metric (monitor, SM_METRIC_ID_POOL_IN_USE);
      self->tile_metrics[TILE_FRAGMENTATION] = sm_monitor_find_metric (monitor, SM_METRIC_ID_POOL_FRAGMENTATION);
      self->tile_metrics[TILE_SIMD] = sm_monitor_find_metric (monitor, SM_METRIC_ID_SIMD_UTILISATION);
      self->tile_metrics[TILE_BACKEND] = -1;
      g_signal_connect (session, "snapshot", G_CALLBACK (snapshot_cb), self);
      g_signal_connect_swapped (session, "notify::running", G_CALLBACK (running_cb), self);
      running_cb (self);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SESSION]);
}

SmSession *
sm_dashboard_get_session (SmDashboard *self)
{
  g_return_val_if_fail (SM_IS_DASHBOARD (self), NULL);

  return self->session;
}

void
sm_dashboard_set_window (SmDashboard *self,
                         double       seconds)
{
  for (guint c = 0; c < N_CHARTS; c++)
    sm_chart_set_window (self->charts[c], seconds);
}

gsize
sm_dashboard_set_history (SmDashboard *self,
                          guint        seconds,
                          guint        interval_ms)
{
  gsize samples = CLAMP ((guint64) seconds * 1000 / MAX (interval_ms, 1), 16, MAX_HISTORY);

  for (guint c = 0; c < N_CHARTS; c++)
    {
      for (guint s = 0; s < sm_chart_get_n_series (self->charts[c]); s++)
        sm_chart_series_set_capacity (sm_chart_get_series (self->charts[c], s), samples);
      sm_chart_samples_added (self->charts[c]);
    }
  return samples;
}

SmChart *
sm_dashboard_get_chart (SmDashboard *self,
                        guint        index)
{
  g_return_val_if_fail (index < N_CHARTS, NULL);
  return self->charts[index];
}

guint
sm_dashboard_get_n_charts (SmDashboard *self)
{
  return N_CHARTS;
}

gboolean
sm_dashboard_get_chart_shown (SmDashboard *self,
                              guint        index)
{
  g_return_val_if_fail (index < N_CHARTS, FALSE);
  return chart_shown (self, index);
}

const char *
sm_dashboard_get_tile_text (SmDashboard *self,
                            guint        index)
{
  g_return_val_if_fail (index < N_TILES, NULL);
  return gtk_label_get_text (GTK_LABEL (self->tile_values[index]));
}

const char *
sm_dashboard_get_tile_detail (SmDashboard *self,
                              guint        index)
{
  g_return_val_if_fail (index < N_TILES, NULL);
  return gtk_label_get_text (GTK_LABEL (self->tile_details[index]));
}

void
sm_dashboard_add_marker (SmDashboard *self,
                         double       t,
                         const char  *what)
{
  for (guint c = 0; c < N_CHARTS; c++)
    sm_chart_add_marker (self->charts[c], t - self->time_origin, what);
}

guint
sm_dashboard_export_charts (SmDashboard  *self,
                            const char   *dir,
                            const char   *format,
                            GError      **error)
{
  guint written = 0;

  for (guint c = 0; c < N_CHARTS; c++)
    {
      g_autofree char *name = g_strdup_printf ("synaptic-mesh-%s.%s", chart_specs[c].file_name, format);
      g_autofree char *path = g_build_filename (dir, name, NULL);

      if (!chart_shown (self, c))
        continue;
      if (!sm_chart_export (self->charts[c], path, 1200, 400, error))
        return 0;
      written++;
    }
  return written;
}

gboolean
sm_dashboard_write_report (SmDashboard  *self,
                           const char   *path,
                           GError      **error)
{
  const SmChartView *views[N_CHARTS];
  guint n_views = 0;
  g_autoptr(GPtrArray) all = NULL;
  g_autoptr(GPtrArray) recommendations = NULL;
  g_autofree char *settings = NULL, *model = NULL, *wait = NULL;
  SmEngine *engine;
  double run_start;

  /* A report is of a run: with none yet, there would be idle charts and
   * nothing of the run to say (issue 17, defect 8). */
  if (self->session == NULL || !sm_session_get_run_start (self->session, &run_start))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   _("Nothing to report yet: a report is of a run of the load (Start Load)"));
      return FALSE;
    }
  for (guint c = 0; c < N_CHARTS; c++)
    if (chart_shown (self, c))
      views[n_views++] = sm_chart_get_view (self->charts[c]);

  /* The run's own recommendations, not those of an earlier one. */
  all = sm_advisor_list (sm_session_get_advisor (self->session));
  recommendations = g_ptr_array_new_with_free_func ((GDestroyNotify) sm_recommendation_free);
  for (guint i = 0; i < all->len; i++)
    {
      SmRecommendation *rec = g_ptr_array_index (all, i);

      if (rec->fired_ms >= run_start * 1000)
        g_ptr_array_add (recommendations, sm_recommendation_copy (rec));
    }

  engine = sm_session_get_engine (self->session);
  model = sm_engine_dup_model_description (engine);
  wait = sm_chart_format_value (sm_engine_get_max_wait_us (engine), "µs");
  settings = g_strdup_printf (_("Model %s; kernels %s, %u worker threads, batches of up to %u waiting up to %s; "
                                "%g queries/s offered."),
                              model != NULL ? model : _("none"), sm_backend_get_name (sm_engine_get_backend (engine)),
                              sm_engine_get_threads (engine), sm_engine_get_max_batch (engine), wait,
                              sm_session_get_rate (self->session));
  return sm_report_write_pdf (path, _("Synaptic Mesh tuning run"), settings, views, n_views, recommendations,
                              error);
}
