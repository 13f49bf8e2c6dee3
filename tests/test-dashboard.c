/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>
#include <adwaita.h>
#include <glib/gstdio.h>

#include "gtk-test-util.h"
#include "sm-dashboard.h"
#include "sm-gpu.h"
#include "sm-metric-ids.h"
#include "sm-metric-series.h"
#include "sm-row-filter.h"
#include "sm-recommendations-page.h"
#include "sm-session-comparison.h"
#include "sm-session-replay.h"
#include "sm-sessions-page.h"
#include "sm-tuning-panel.h"

/* The chart widget: a live window that follows the newest sample and
 * stays put when paused, series toggled, a selection kept, exports. */
/* The window goes, then the session once its stop has finished on its
 * thread, then the engine after it. */
static void
close_all (GtkWidget *window,
           SmSession *session,
           SmEngine  *engine)
{
  gint64 until = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  gtk_window_destroy (GTK_WINDOW (window));
  g_object_add_weak_pointer (G_OBJECT (session), (gpointer *) &session);
  g_object_unref (session);
  while (session != NULL && g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, TRUE);
  g_assert_null (session);
  drain_main_loop (500);
  sm_engine_free (engine);
}

static void
test_chart_widget (void)
{
  SmChart *chart = SM_CHART (sm_chart_new ("Latency", "µs"));
  g_autofree char *dir = g_dir_make_tmp ("synmesh-chart-XXXXXX", NULL);
  g_autofree char *png = g_build_filename (dir, "chart.png", NULL);
  g_autofree char *svg = g_build_filename (dir, "chart.svg", NULL);
  g_autofree char *png_data = NULL, *svg_data = NULL;
  g_autoptr(GError) error = NULL;
  gsize png_size;
  double t0, t1;

  g_object_ref_sink (chart);
  sm_chart_add_series (chart, sm_chart_series_new ("p50", 1000), FALSE);
  sm_chart_add_series (chart, sm_chart_series_new ("p99", 1000), FALSE);
  sm_chart_set_window (chart, 60);
  for (guint i = 0; i <= 100; i++)
    {
      sm_chart_series_append (sm_chart_get_series (chart, 0), i, 100 + i);
      sm_chart_series_append (sm_chart_get_series (chart, 1), i, 500 + i);
    }
  sm_chart_samples_added (chart);
  g_assert_cmpfloat (sm_chart_get_view (chart)->t1, ==, 100);
  g_assert_cmpfloat (sm_chart_get_view (chart)->t0, ==, 40);

  /* Paused: the data keep coming, the window stays. */
  sm_chart_set_live (chart, FALSE);
  sm_chart_series_append (sm_chart_get_series (chart, 0), 130, 1);
  sm_chart_samples_added (chart);
  g_assert_cmpfloat (sm_chart_get_view (chart)->t1, ==, 100);
  g_assert_cmpuint (sm_chart_series_get_length (sm_chart_get_series (chart, 0)), ==, 102);
  sm_chart_set_live (chart, TRUE);
  g_assert_cmpfloat (sm_chart_get_view (chart)->t1, ==, 130);

  sm_chart_set_series_visible (chart, 1, FALSE);
  g_assert_false (sm_chart_get_series_visible (chart, 1));
  g_assert_true (sm_chart_get_view (chart)->hidden[1]);
  sm_chart_set_series_visible (chart, 1, TRUE);

  g_assert_false (sm_chart_get_selection (chart, &t0, &t1));
  sm_chart_set_selection (chart, 90, 80);
  g_assert_true (sm_chart_get_selection (chart, &t0, &t1));
  g_assert_cmpfloat (t0, ==, 80);
  g_assert_cmpfloat (t1, ==, 90);

  /* The keyboard: End puts the crosshair on the newest sample, arrows
   * step by a hundredth of the view, Shift extends a selection, Escape
   * clears both. */
  g_assert_true (gtk_widget_get_focusable (GTK_WIDGET (chart)));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (chart), "chart.edge", "b", TRUE));
  g_assert_cmpfloat (sm_chart_get_view (chart)->hover_t, ==, 130);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (chart), "chart.step", "i", -1));
  g_assert_cmpfloat_with_epsilon (sm_chart_get_view (chart)->hover_t, 129.4, 1e-9);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (chart), "chart.clear", NULL));
  g_assert_false (sm_chart_get_selection (chart, &t0, &t1));
  g_assert_true (isnan (sm_chart_get_view (chart)->hover_t));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (chart), "chart.step", "i", -1));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (chart), "chart.extend", "i", -10));
  g_assert_true (sm_chart_get_selection (chart, &t0, &t1));
  g_assert_cmpfloat_with_epsilon (t0, 123.4, 1e-9);
  g_assert_cmpfloat_with_epsilon (t1, 129.4, 1e-9);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (chart), "chart.edge", "b", FALSE));
  g_assert_cmpfloat (sm_chart_get_view (chart)->hover_t, ==, 70);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (chart), "chart.step", "i", -10));
  g_assert_cmpfloat (sm_chart_get_view (chart)->hover_t, ==, 70);   /* stays in the view */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (chart), "chart.clear", NULL));

  /* Zoom into a selection (Enter) and back (Backspace): the view holds
   * the selection while samples come, then follows again. */
  g_assert_false (sm_chart_zoom_to_selection (chart));   /* nothing selected */
  sm_chart_set_selection (chart, 100, 110);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (chart), "chart.zoom-in", NULL));
  g_assert_true (sm_chart_get_zoomed (chart));
  g_assert_cmpfloat (sm_chart_get_view (chart)->t0, ==, 100);
  g_assert_cmpfloat (sm_chart_get_view (chart)->t1, ==, 110);
  sm_chart_series_append (sm_chart_get_series (chart, 0), 140, 1);
  sm_chart_samples_added (chart);
  g_assert_cmpfloat (sm_chart_get_view (chart)->t1, ==, 110);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (chart), "chart.zoom-out", NULL));
  g_assert_false (sm_chart_get_zoomed (chart));
  g_assert_true (sm_chart_get_live (chart));
  g_assert_cmpfloat (sm_chart_get_view (chart)->t1, ==, 140);
  g_assert_cmpfloat (sm_chart_get_view (chart)->t0, ==, 80);

  /* The axis menu's choices (issue 17): a fixed axis keeps its range as
   * larger values come; the log scale is per chart and frees the axis. */
  {
    gboolean log_scale = TRUE, fixed = FALSE;
    double y_max;

    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (chart), "chart.fixed-axis", NULL));
    g_object_get (chart, "log-scale", &log_scale, "fixed-axis", &fixed, NULL);
    g_assert_false (log_scale);
    g_assert_true (fixed);
    y_max = sm_chart_get_view (chart)->y_max;
    g_assert_cmpfloat (y_max, >=, 600);
    g_assert_cmpfloat (y_max, <, 10000);
    sm_chart_series_append (sm_chart_get_series (chart, 1), 141, 50000);
    sm_chart_samples_added (chart);
    g_assert_cmpfloat (sm_chart_get_view (chart)->y_max, ==, y_max);
    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (chart), "chart.log-scale", NULL));
    g_object_get (chart, "log-scale", &log_scale, "fixed-axis", &fixed, NULL);
    g_assert_true (log_scale);
    g_assert_false (fixed);
    g_assert_true (sm_chart_get_view (chart)->log_scale);
    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (chart), "chart.log-scale", NULL));
  }

  g_assert_true (sm_chart_export (chart, png, 800, 300, &error));
  g_assert_no_error (error);
  g_assert_true (sm_chart_export (chart, svg, 800, 300, &error));
  g_assert_true (g_file_get_contents (png, &png_data, &png_size, NULL));
  g_assert_cmpuint (png_size, >, 8);
  g_assert_cmpmem (png_data, 8, "\x89PNG\r\n\x1a\n", 8);
  g_assert_true (g_file_get_contents (svg, &svg_data, NULL, NULL));
  g_assert_nonnull (strstr (svg_data, "<svg"));
  g_assert_false (sm_chart_export (chart, "/nonexistent/dir/chart.png", 800, 300, &error));
  g_assert_nonnull (error);

  g_unlink (png);
  g_unlink (svg);
  g_rmdir (dir);
  g_assert_finalize_object (chart);
}

/* Labels shown under @widget whose text starts with @prefix. */
static void
collect_labels (GtkWidget  *widget,
                const char *prefix,
                GPtrArray  *found)
{
  if (GTK_IS_LABEL (widget) && g_str_has_prefix (gtk_label_get_text (GTK_LABEL (widget)), prefix))
    g_ptr_array_add (found, widget);
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL; child = gtk_widget_get_next_sibling (child))
    collect_labels (child, prefix, found);
}

static void
knob_changed_cb (SmSession  *session,
                 double      t,
                 const char *what,
                 gboolean    ok,
                 gboolean   *changed)
{
  g_assert_true (ok);
  *changed = TRUE;
}

typedef struct
{
  guint  count;
  char  *last;
} KnobChanges;

static void
count_knob_changes (SmSession   *session,
                    double       t,
                    const char  *what,
                    gboolean     ok,
                    KnobChanges *changes)
{
  changes->count++;
  g_free (changes->last);
  changes->last = g_strdup (what);
}

static void
count_tick (guint *ticks)
{
  (*ticks)++;
}

/* Exports the charts shown as SVG: @count files, among them one named
 * by chart for each of @names. */
static void
export_charts_named (SmDashboard       *dashboard,
                     guint              count,
                     const char * const *names)
{
  g_autofree char *dir = g_dir_make_tmp ("synmesh-charts-XXXXXX", NULL);
  g_autoptr(GError) error = NULL;

  g_assert_cmpuint (sm_dashboard_export_charts (dashboard, dir, "svg", &error), ==, count);
  g_assert_no_error (error);
  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autofree char *name = g_strdup_printf ("synaptic-mesh-%s.svg", names[i]);
      g_autofree char *path = g_build_filename (dir, name, NULL);

      g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));
    }
  remove_tmp_dir (dir);
}

static gboolean
charts_filled (SmDashboard *dashboard,
               gsize        samples)
{
  for (guint c = 0; c < sm_dashboard_get_n_charts (dashboard); c++)
    if (sm_dashboard_get_chart_shown (dashboard, c) &&
        sm_chart_series_get_length (sm_chart_get_series (sm_dashboard_get_chart (dashboard, c), 0)) < samples)
      return FALSE;
  return TRUE;
}

/* The dashboard on a live engine: load started from its button, charts
 * and tiles fill with measured values, the load stops again. */
static void
test_dashboard_live (void)
{
  g_autoptr(GError) error = NULL;
  SmEngine *engine = sm_engine_new (64 * 1024 * 1024, 2, &error);
  SmSession *session;
  GtkWidget *window = gtk_window_new ();
  SmDashboard *dashboard = SM_DASHBOARD (sm_dashboard_new ());
  SmChartSeries *p50;
  gboolean changed = FALSE;
  gint64 until;

  g_assert_no_error (error);
  g_assert_true (sm_monitor_set_interval (sm_engine_get_monitor (engine), 50, NULL));
  session = sm_session_new (engine, NULL);
  sm_dashboard_set_session (dashboard, session);
  /* The knobs beside the charts follow the dashboard's session (a binding
   * in its template). */
  g_assert_true (sm_tuning_panel_get_session (SM_TUNING_PANEL (find_type (GTK_WIDGET (dashboard),
                                                                          SM_TYPE_TUNING_PANEL))) == session);
  gtk_window_set_child (GTK_WINDOW (window), GTK_WIDGET (dashboard));
  gtk_window_set_default_size (GTK_WINDOW (window), 1200, 800);
  gtk_window_present (GTK_WINDOW (window));

  /* No report before a run (issue 17, defect 8): idle charts are no
   * report of anything. */
  {
    g_autofree char *dir = g_dir_make_tmp ("synmesh-report-XXXXXX", NULL);
    g_autofree char *pdf = g_build_filename (dir, "report.pdf", NULL);
    g_autoptr(GError) report_error = NULL;

    g_assert_false (sm_dashboard_write_report (dashboard, pdf, &report_error));
    g_assert_error (report_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
    g_assert_false (g_file_test (pdf, G_FILE_TEST_EXISTS));
    g_rmdir (dir);
  }

  /* Idle figures come first (2 s of them); a run's charts then start
   * again from 0:00, not from the app's start (issue 17, defect 15). */
  until = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (!charts_filled (dashboard, 40) && g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (charts_filled (dashboard, 40));

  sm_session_start (session, 2000);
  g_assert_true (sm_session_get_running (session));
  until = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (!charts_filled (dashboard, 10) && g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (charts_filled (dashboard, 10));
  {
    SmChartSeries *first = sm_chart_get_series (sm_dashboard_get_chart (dashboard, 1), 0);
    double t[2], run_start, now = sm_monitor_get_time_ms (sm_engine_get_monitor (engine)) / 1000.0;
    const double *t1, *v1, *t2, *v2;
    gsize n1, n2;

    sm_chart_series_get_runs (first, &t1, &v1, &n1, &t2, &v2, &n2);
    t[0] = n1 > 0 ? t1[0] : t2[0];
    t[1] = sm_chart_series_get_last_time (first);

    g_assert_true (sm_session_get_run_start (session, &run_start));
    g_test_message ("run started %.2f s into the monitor's time; charted from %.2f s to %.2f s", run_start, t[0], t[1]);
    g_assert_cmpfloat (run_start, >=, 1.9);   /* after 40 idle samples at 50 ms */
    /* From the run's start, not the monitor's: nothing before 0, nothing
     * later than the time the run has had. */
    g_assert_cmpfloat (t[0], >=, 0);
    g_assert_cmpfloat (t[1], <=, now - run_start + 0.001);
  }

  /* Measured latencies, not placeholders: the newest p50 is a positive
   * number of microseconds. */
  p50 = sm_chart_get_series (sm_dashboard_get_chart (dashboard, 0), 0);
  until = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (!(sm_chart_series_value_at (p50, sm_chart_series_get_last_time (p50)) > 0)
         && g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpfloat (sm_chart_series_value_at (p50, sm_chart_series_get_last_time (p50)), >, 0);
  g_assert_true (g_str_has_suffix (sm_dashboard_get_tile_text (dashboard, 0), "s"));
  g_assert_true (g_str_has_suffix (sm_dashboard_get_tile_text (dashboard, 1), "ops/s"));

  /* Live history: shrinking keeps the newest samples, within bounds. */
  {
    double newest = sm_chart_series_get_last_time (p50);

    g_assert_cmpuint (sm_dashboard_set_history (dashboard, 1, 200), ==, 16);
    g_assert_cmpuint (sm_chart_series_get_length (p50), <=, 16);
    g_assert_cmpfloat (sm_chart_series_get_last_time (p50), ==, newest);
    g_assert_cmpuint (sm_dashboard_set_history (dashboard, 24 * 3600, 50), ==, 100000);
    g_assert_cmpuint (sm_dashboard_set_history (dashboard, 3600, 250), ==, 14400);
  }

  /* A knob from the tuning panel (F9): applied off the main thread,
   * announced, and the engine has it. */
  g_signal_connect (session, "knob-changed", G_CALLBACK (knob_changed_cb), &changed);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (dashboard), "dashboard.toggle-tuning", NULL));
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (find_type (find_row (GTK_WIDGET (dashboard), "Worker _Threads"),
                                                         GTK_TYPE_SPIN_BUTTON)), 3);
  until = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (!changed && g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (changed);
  g_assert_cmpuint (sm_engine_get_threads (engine), ==, 3);

  /* Four clicks in a burst are one change, one event and one marker,
   * named without the title's mnemonic. */
  {
    GtkSpinButton *threads = GTK_SPIN_BUTTON (find_type (find_row (GTK_WIDGET (dashboard), "Worker _Threads"),
                                                         GTK_TYPE_SPIN_BUTTON));
    KnobChanges changes = { 0 };
    gulong id = g_signal_connect (session, "knob-changed", G_CALLBACK (count_knob_changes), &changes);

    for (int value = 4; value <= 7; value++)
      gtk_spin_button_set_value (threads, value);
    until = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
    while (changes.count == 0 && g_get_monotonic_time () < until)
      g_main_context_iteration (NULL, TRUE);
    /* Nothing more comes after the settled one. */
    until = g_get_monotonic_time () + G_USEC_PER_SEC;
    while (g_get_monotonic_time () < until)
      g_main_context_iteration (NULL, FALSE);
    g_assert_cmpuint (changes.count, ==, 1);
    /* What changed, from what to what, and who changed it (issue 17). */
    g_assert_cmpstr (changes.last, ==, "Worker Threads: 3 → 7, by hand");
    g_assert_cmpuint (sm_engine_get_threads (engine), ==, 7);
    g_signal_handler_disconnect (session, id);
    g_free (changes.last);
  }

  /* A change of the offered load during a run is marked and recorded
   * like a knob, once per burst, from the first rate to the last. */
  {
    KnobChanges changes = { 0 };
    gulong id = g_signal_connect (session, "knob-changed", G_CALLBACK (count_knob_changes), &changes);
    double before = sm_session_get_rate (session);
    g_autofree char *expected = g_strdup_printf ("Offered rate: %g → %g queries/s", before, before + 30);

    g_assert_true (sm_session_get_running (session));
    for (int step = 1; step <= 3; step++)
      sm_session_set_rate (session, before + 10 * step);
    until = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
    while (changes.count == 0 && g_get_monotonic_time () < until)
      g_main_context_iteration (NULL, TRUE);
    until = g_get_monotonic_time () + G_USEC_PER_SEC;
    while (g_get_monotonic_time () < until)
      g_main_context_iteration (NULL, FALSE);
    g_assert_cmpuint (changes.count, ==, 1);
    g_assert_cmpstr (changes.last, ==, expected);
    g_signal_handler_disconnect (session, id);
    g_free (changes.last);
  }

  /* A model from the panel: loaded on a thread while the load runs. */
  changed = FALSE;
  adw_combo_row_set_selected (ADW_COMBO_ROW (find_row (GTK_WIDGET (dashboard), "Pr_eset")), SM_PRESET_MICRO);
  until = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (!changed && g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (changed);
  {
    g_autofree char *model = sm_engine_dup_model_description (engine);

    g_assert_nonnull (strstr (model, "micro"));
  }

  /* The session report: a PDF of the charts and recommendations. */
  {
    g_autofree char *dir = g_dir_make_tmp ("synmesh-report-XXXXXX", NULL);
    g_autofree char *pdf = g_build_filename (dir, "report.pdf", NULL);
    g_autofree char *data = NULL;
    gsize size;

    g_assert_true (sm_dashboard_write_report (dashboard, pdf, &error));
    g_assert_no_error (error);
    g_assert_true (g_file_get_contents (pdf, &data, &size, NULL));
    g_assert_cmpuint (size, >, 1000);
    g_assert_cmpmem (data, 5, "%PDF-", 5);
    g_unlink (pdf);
    g_rmdir (dir);
  }

  /* The charts as files, named by chart (not synaptic-mesh-1…5). */
  export_charts_named (dashboard, 5, (const char * const[]) { "latency", "throughput", "memory-pool", "fragmentation",
                                                              "queue-and-batches", NULL });

  /* The window picker: the whole session starts at zero. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (dashboard), "dashboard.show-window", "u", 3));
  g_assert_cmpfloat (sm_chart_get_view (sm_dashboard_get_chart (dashboard, 0))->t0, ==, 0);

  /* Chart settings are remembered: a new dashboard opens on the same time
   * window, with the series hidden from a legend still hidden. */
  sm_chart_set_series_visible (sm_dashboard_get_chart (dashboard, 0), 1, FALSE);
  g_signal_emit_by_name (sm_dashboard_get_chart (dashboard, 0), "series-toggled", 1, FALSE);
  {
    SmDashboard *again = SM_DASHBOARD (g_object_ref_sink (sm_dashboard_new ()));
    g_autoptr(GSettings) settings = g_settings_new (APP_ID);
    g_auto(GStrv) hidden = NULL;

    g_assert_false (sm_chart_get_series_visible (sm_dashboard_get_chart (again, 0), 1));
    g_assert_true (sm_chart_get_series_visible (sm_dashboard_get_chart (again, 0), 0));
    g_assert_cmpuint (g_settings_get_uint (settings, "chart-window"), ==, 3);
    g_assert_cmpuint (gtk_drop_down_get_selected (GTK_DROP_DOWN (find_type (GTK_WIDGET (again), GTK_TYPE_DROP_DOWN))),
                      ==, 3);
    g_signal_emit_by_name (sm_dashboard_get_chart (dashboard, 0), "series-toggled", 1, TRUE);
    hidden = g_settings_get_strv (settings, "hidden-series");
    g_assert_cmpuint (g_strv_length (hidden), ==, 0);
    g_settings_reset (settings, "chart-window");
    g_object_unref (again);
  }
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (dashboard), "dashboard.toggle-live", NULL));
  g_assert_false (sm_chart_get_live (sm_dashboard_get_chart (dashboard, 0)));

  sm_session_stop (session);
  g_assert_false (sm_session_get_running (session));

  close_all (window, session, engine);
}

/* The advisor in the app: kernels forced to scalar code make the SIMD
 * rule fire, its row appears on the page, Apply there puts the best
 * kernels back (off the main thread) and a knob change is announced. */
static void
set_int (int     *target,
         gboolean value)
{
  *target = value;
}

static void
test_recommendations_apply (void)
{
  g_autofree char *dir = g_dir_make_tmp ("synmesh-app-db-XXXXXX", NULL);
  g_autofree char *db = g_build_filename (dir, "synmesh.db", NULL);
  g_autoptr(SmStore) store = NULL;
  g_autoptr(GPtrArray) sessions = NULL, recorded = NULL;
  g_autoptr(GError) error = NULL;
  SmEngine *engine = sm_engine_new (64 * 1024 * 1024, 2, &error);
  SmSession *session;
  GtkWidget *window = gtk_window_new ();
  SmRecommendationsPage *page = SM_RECOMMENDATIONS_PAGE (sm_recommendations_page_new ());
  g_autoptr(GPtrArray) list = NULL;
  SmRecommendation *simd = NULL;
  SmSessionsPage *sessions_page;
  gboolean changed = FALSE;
  guint ticks = 0, recorded_runs = 0;
  gint64 until;

  g_assert_no_error (error);
  g_assert_true (sm_monitor_set_interval (sm_engine_get_monitor (engine), 50, NULL));
  g_assert_true (sm_engine_set_backend (engine, SM_BACKEND_GENERIC, NULL));
  session = sm_session_new (engine, db);
  g_assert_nonnull (sm_session_get_store (session));
  sm_advisor_set_window (sm_session_get_advisor (session), 4);
  sm_advisor_set_latency_target (sm_session_get_advisor (session), 1e9);
  g_signal_connect (session, "knob-changed", G_CALLBACK (knob_changed_cb), &changed);
  g_signal_connect_swapped (session, "snapshot", G_CALLBACK (count_tick), &ticks);
  sm_recommendations_page_set_session (page, session);
  gtk_window_set_child (GTK_WINDOW (window), GTK_WIDGET (page));
  gtk_window_present (GTK_WINDOW (window));

  sm_session_start (session, 1000);
  until = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (simd == NULL && g_get_monotonic_time () < until)
    {
      g_main_context_iteration (NULL, TRUE);
      g_clear_pointer (&list, g_ptr_array_unref);
      list = sm_advisor_list (sm_session_get_advisor (session));
      for (guint i = 0; i < list->len; i++)
        if (g_str_equal (((SmRecommendation *) g_ptr_array_index (list, i))->rule, "simd-utilisation"))
          simd = g_ptr_array_index (list, i);
    }
  g_assert_nonnull (simd);
  /* Delivered to the page through the main loop, with any that fired
   * before it. */
  until = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (sm_recommendations_page_get_n_rows (page) < list->len && g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (sm_recommendations_page_get_n_rows (page), >=, list->len);
  /* Each says when it fired (issue 17: timestamps on recommendations). */
  {
    const char *subtitle = adw_action_row_get_subtitle (ADW_ACTION_ROW (find_type (GTK_WIDGET (page),
                                                                                   ADW_TYPE_ACTION_ROW)));

    g_assert_true (g_regex_match_simple ("^At [0-9]{2}:[0-9]{2}:[0-9]{2}: ", subtitle, 0, 0));
  }

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "recommendations.apply", "u", simd->id));
  until = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (!changed && g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (changed);
  g_assert_cmpint (sm_engine_get_backend (engine), ==, SM_BACKEND_AUTO);

  /* The run ends and shows on the Sessions page, whose replay reads it
   * back from the database. */
  until = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  sessions_page = SM_SESSIONS_PAGE (sm_sessions_page_new ());
  g_object_ref_sink (sessions_page);
  sm_sessions_page_set_session (sessions_page, session);
  g_signal_connect_swapped (session, "run-recorded", G_CALLBACK (count_tick), &recorded_runs);
  sm_session_stop (session);
  /* Listed once the run is complete in the database, not before. */
  while (recorded_runs < 1 && g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (recorded_runs, ==, 1);
  sm_sessions_page_refresh (sessions_page);
  while (sm_sessions_page_get_n_sessions (sessions_page) == 0 && g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (sm_sessions_page_get_n_sessions (sessions_page), ==, 1);
  {
    g_autoptr(GPtrArray) infos = sm_store_list_sessions (sm_session_get_store (session), &error);
    GtkWidget *replay = find_type (GTK_WIDGET (sessions_page), SM_TYPE_SESSION_REPLAY);
    SmChartSeries *replayed = sm_chart_get_series (sm_session_replay_get_chart (SM_SESSION_REPLAY (replay), 1), 0);

    until = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (sessions_page), "sessions.open", "x",
                                               ((SmSessionInfo *) g_ptr_array_index (infos, 0))->id));
    while (sm_chart_series_get_length (replayed) == 0 && g_get_monotonic_time () < until)
      g_main_context_iteration (NULL, TRUE);
    g_assert_cmpuint (sm_chart_series_get_length (replayed), >, 0);

    /* Replay shows what the dashboard showed (issue 17, defect 4): p90
     * too, the fragmentation and queue charts, and the applied change
     * marked on every chart. */
    g_assert_cmpuint (sm_chart_get_n_series (sm_session_replay_get_chart (SM_SESSION_REPLAY (replay), 0)), ==, 3);
    g_assert_cmpstr (sm_chart_series_get_name (sm_chart_get_series (sm_session_replay_get_chart (SM_SESSION_REPLAY (replay),
                                                                                                  4), 1)),
                     ==, "mean batch");
    while (sm_chart_get_view (sm_session_replay_get_chart (SM_SESSION_REPLAY (replay), 4))->n_markers == 0
           && g_get_monotonic_time () < until)
      g_main_context_iteration (NULL, TRUE);
    for (guint c = 0; c < 5; c++)
      g_assert_cmpuint (sm_chart_get_view (sm_session_replay_get_chart (SM_SESSION_REPLAY (replay), c))->n_markers, >=, 1);

    /* The replayed run's report, from the page (defect 8). */
    {
      g_autofree char *pdf = g_build_filename (dir, "replayed.pdf", NULL);
      int reported = -1;
      gulong handler = g_signal_connect_swapped (sessions_page, "exported", G_CALLBACK (set_int), &reported);

      g_assert_true (sm_sessions_page_report (sessions_page, pdf));
      while (reported < 0 && g_get_monotonic_time () < until)
        g_main_context_iteration (NULL, TRUE);
      g_assert_cmpint (reported, ==, TRUE);
      g_assert_true (g_file_test (pdf, G_FILE_TEST_IS_REGULAR));
      g_signal_handler_disconnect (sessions_page, handler);
      g_unlink (pdf);
    }
  }
  /* A second run, and the two compared from the page: both selected by
   * their check buttons, charted from their starts. */
  sm_session_start (session, 1000);
  ticks = 0;
  until = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (ticks < 5 && g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, TRUE);
  sm_session_stop (session);
  until = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (recorded_runs < 2 && g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, TRUE);
  sm_sessions_page_refresh (sessions_page);
  while (sm_sessions_page_get_n_sessions (sessions_page) < 2 && g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (sm_sessions_page_get_n_sessions (sessions_page), ==, 2);
  {
    g_autoptr(GPtrArray) checks = g_ptr_array_new ();
    GtkWidget *comparison;
    SmChartSeries *b;

    collect_type (GTK_WIDGET (sessions_page), GTK_TYPE_CHECK_BUTTON, checks);
    g_assert_cmpuint (checks->len, ==, 2);
    for (guint i = 0; i < checks->len; i++)
      gtk_check_button_set_active (g_ptr_array_index (checks, i), TRUE);
    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (sessions_page), "sessions.compare", NULL));
    comparison = find_type (GTK_WIDGET (sessions_page), SM_TYPE_SESSION_COMPARISON);
    b = sm_chart_get_series (sm_session_comparison_get_chart (SM_SESSION_COMPARISON (comparison), 1), 1);
    until = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
    while (sm_chart_series_get_length (b) == 0 && g_get_monotonic_time () < until)
      g_main_context_iteration (NULL, TRUE);
    g_assert_cmpuint (sm_chart_series_get_length (b), >, 0);
    /* The applied change, marked in its run's colour (defect 4). */
    {
      SmChart *chart = sm_session_comparison_get_chart (SM_SESSION_COMPARISON (comparison), 0);

      while (sm_chart_get_view (chart)->n_markers == 0 && g_get_monotonic_time () < until)
        g_main_context_iteration (NULL, TRUE);
      g_assert_cmpuint (sm_chart_get_view (chart)->n_markers, >=, 1);
      for (guint i = 0; i < sm_chart_get_view (chart)->n_markers; i++)
        g_assert_cmpint (sm_chart_get_view (chart)->marker_series[i], >=, 0);
    }

    /* As `synmesh sessions compare` says it: the change with its interval
     * (or why there is none), and the settings that differ (the first
     * run started on the generic kernels). */
    {
      g_autoptr(GPtrArray) settings = g_ptr_array_new ();
      g_autoptr(GPtrArray) changes = g_ptr_array_new ();
      gboolean qualified = FALSE;

      collect_labels (comparison, "Settings that differ:", settings);
      g_assert_cmpuint (settings->len, ==, 1);
      g_test_message ("%s", gtk_label_get_text (g_ptr_array_index (settings, 0)));
      collect_labels (comparison, "", changes);
      for (guint i = 0; i < changes->len; i++)
        {
          const char *text = gtk_label_get_text (g_ptr_array_index (changes, i));

          qualified |= strstr (text, " % [") != NULL || strstr (text, "too few samples for an interval") != NULL;
        }
      g_assert_true (qualified);
    }
  }

  /* Rename, through its dialog: the new name is in the database. */
  {
    g_autoptr(GPtrArray) infos = sm_store_list_sessions (sm_session_get_store (session), &error);
    gint64 id = ((SmSessionInfo *) g_ptr_array_index (infos, 0))->id;
    SmAlert *dialog;
    gboolean renamed = FALSE;

    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (sessions_page), "sessions.rename", "x", id));
    dialog = find_dialog (NULL);
    gtk_editable_set_text (GTK_EDITABLE (find_type (GTK_WIDGET (dialog), GTK_TYPE_TEXT)), "cache off, 2 threads");
    press_dialog_button (dialog, "_Rename");
    until = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
    while (!renamed && g_get_monotonic_time () < until)
      {
        g_autoptr(GPtrArray) now = sm_store_list_sessions (sm_session_get_store (session), NULL);

        for (guint i = 0; i < now->len; i++)
          renamed |= g_str_equal (((SmSessionInfo *) g_ptr_array_index (now, i))->name, "cache off, 2 threads");
        g_main_context_iteration (NULL, FALSE);
        g_usleep (5000);
      }
    g_assert_true (renamed);
  }

  /* Export: a progress bar while it runs, one export at a time, the file
   * once it is done. */
  {
    g_autoptr(GPtrArray) infos = sm_store_list_sessions (sm_session_get_store (session), &error);
    gint64 id = ((SmSessionInfo *) g_ptr_array_index (infos, 0))->id;
    g_autofree char *csv_path = g_build_filename (dir, "export.csv", NULL);
    g_autofree char *csv = NULL;
    GtkRevealer *bar = GTK_REVEALER (find_type (GTK_WIDGET (sessions_page), GTK_TYPE_REVEALER));
    int exported = -1;

    g_signal_connect_swapped (sessions_page, "exported", G_CALLBACK (set_int), &exported);
    g_assert_true (sm_sessions_page_export (sessions_page, id, "csv", csv_path));
    g_assert_true (gtk_revealer_get_reveal_child (bar));
    g_assert_false (sm_sessions_page_export (sessions_page, id, "json", csv_path));
    until = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
    while (exported < 0 && g_get_monotonic_time () < until)
      g_main_context_iteration (NULL, TRUE);
    g_assert_cmpint (exported, ==, TRUE);
    g_assert_false (gtk_revealer_get_reveal_child (bar));
    g_assert_true (g_file_get_contents (csv_path, &csv, NULL, NULL));
    g_assert_true (g_str_has_prefix (csv, "session,metric,t_ms,value,detail\n"));
    g_assert_false (sm_sessions_page_export (sessions_page, id + 1000, "csv", csv_path));
  }

  g_object_unref (sessions_page);
  close_all (window, session, engine);

  /* The run is in the database, with the recommendation as applied. */
  store = sm_store_open (db, NULL, &error);
  g_assert_no_error (error);
  sessions = sm_store_list_sessions (store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sessions->len, ==, 2);
  for (guint i = 0; i < sessions->len; i++)
    {
      g_assert_cmpint (((SmSessionInfo *) g_ptr_array_index (sessions, i))->samples, >, 0);
      g_assert_cmpint (((SmSessionInfo *) g_ptr_array_index (sessions, i))->ended_ms, >, 0);
    }
  /* The first run has the applied recommendation. */
  {
    gboolean applied = FALSE;

    for (guint k = 0; k < sessions->len; k++)
      {
        g_clear_pointer (&recorded, g_ptr_array_unref);
        recorded = sm_store_list_recommendations (store, ((SmSessionInfo *) g_ptr_array_index (sessions, k))->id, &error);
        g_assert_no_error (error);
        for (guint i = 0; i < recorded->len; i++)
          {
            SmRecommendation *rec = g_ptr_array_index (recorded, i);

            if (g_str_equal (rec->rule, "simd-utilisation") && rec->status == SM_RECOMMENDATION_APPLIED)
              applied = TRUE;
          }
      }
    g_assert_true (applied);
  }
  g_clear_pointer (&store, sm_store_free);
  remove_tmp_dir (dir);
}

static gboolean
panel_revealed (gpointer dashboard)
{
  GtkWidget *revealer = gtk_widget_get_parent (find_type (dashboard, SM_TYPE_TUNING_PANEL));

  return gtk_revealer_get_child_revealed (GTK_REVEALER (revealer));
}

/* Issue 17, defect 12: the Kernels list shows a level this CPU lacks
 * greyed out with the reason (its item is neither activatable nor
 * selectable: a click does nothing). */
static void
test_tuning_kernels_list (void)
{
  g_autoptr(GError) error = NULL;
  SmEngine *engine = sm_engine_new (64 * 1024 * 1024, 1, &error);
  SmSession *session = sm_session_new (engine, NULL);
  GtkWidget *window = gtk_window_new ();
  SmDashboard *dashboard = SM_DASHBOARD (sm_dashboard_new ());
  GtkWidget *row;
  guint unavailable = 0;

  sm_dashboard_set_session (dashboard, session);
  gtk_window_set_child (GTK_WINDOW (window), GTK_WIDGET (dashboard));
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (dashboard), "dashboard.toggle-tuning", NULL));
  /* A list pops up from a row on screen: the window mapped, the panel
   * slid in. */
  wait_until (panel_revealed, dashboard);
  row = find_row (GTK_WIDGET (dashboard), "_Kernels");
  g_assert_true (gtk_widget_activate (row));   /* opens its list */
  drain_main_loop (200);

  for (SmBackend b = 0; b < SM_N_BACKENDS; b++)
    {
      const char *reason = NULL;
      g_autofree char *prefix = g_strdup_printf ("%s — ", sm_backend_get_name (b));
      g_autoptr(GPtrArray) labels = g_ptr_array_new ();

      collect_labels (row, prefix, labels);
      if (sm_backend_get_kernels (b, &reason) != NULL)
        {
          g_assert_cmpuint (labels->len, ==, 0);
          continue;
        }
      unavailable++;
      g_assert_cmpuint (labels->len, ==, 1);
      g_assert_nonnull (strstr (gtk_label_get_text (g_ptr_array_index (labels, 0)), reason));
      g_assert_false (gtk_widget_is_sensitive (g_ptr_array_index (labels, 0)));
    }
  /* An x86 CPU lacks NEON, an Arm one AVX: there is always one. */
  g_assert_cmpuint (unavailable, >, 0);

  gtk_popover_popdown (GTK_POPOVER (find_type (row, GTK_TYPE_POPOVER)));
  drain_main_loop (200);
  close_all (window, session, engine);
}

/* Issue 17, defect 7: the wheel over a spin button the user has not
 * clicked into scrolls the page and changes no knob; the toolbar with the
 * load rate stays above the scrolling charts. */
static void
test_dashboard_wheel (void)
{
  g_autoptr(GError) error = NULL;
  SmEngine *engine = sm_engine_new (64 * 1024 * 1024, 1, &error);
  SmSession *session = sm_session_new (engine, NULL);
  GtkWidget *window = gtk_window_new ();
  SmDashboard *dashboard = SM_DASHBOARD (sm_dashboard_new ());
  g_autoptr(GPtrArray) spins = g_ptr_array_new ();
  GtkWidget *rate;

  sm_dashboard_set_session (dashboard, session);
  gtk_window_set_child (GTK_WINDOW (window), GTK_WIDGET (dashboard));
  gtk_window_set_default_size (GTK_WINDOW (window), 1200, 500);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (dashboard), "dashboard.toggle-tuning", NULL));
  drain_main_loop (600);

  rate = find_type (GTK_WIDGET (dashboard), GTK_TYPE_SPIN_BUTTON);
  g_assert_nonnull (rate);
  g_assert_null (gtk_widget_get_ancestor (rate, GTK_TYPE_SCROLLED_WINDOW));

  collect_type (GTK_WIDGET (dashboard), GTK_TYPE_SPIN_BUTTON, spins);
  g_assert_cmpuint (spins->len, >, 5);
  for (guint i = 0; i < spins->len; i++)
    {
      GtkSpinButton *spin = g_ptr_array_index (spins, i);
      g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (GTK_WIDGET (spin));
      GtkEventController *guard = NULL;
      double before = gtk_spin_button_get_value (spin);
      gboolean handled = FALSE;

      for (guint c = 0; c < g_list_model_get_n_items (controllers); c++)
        {
          g_autoptr(GtkEventController) controller = g_list_model_get_item (controllers, c);

          if (GTK_IS_EVENT_CONTROLLER_SCROLL (controller)
              && gtk_event_controller_get_propagation_phase (controller) == GTK_PHASE_CAPTURE)
            {
              g_assert_null (guard);   /* one, however the pages nest */
              guard = controller;
            }
        }
      g_assert_nonnull (guard);

      /* Not focused: the wheel is the page's. */
      g_signal_emit_by_name (guard, "scroll", 0.0, 3.0, &handled);
      g_assert_true (handled);
      g_assert_cmpfloat (gtk_spin_button_get_value (spin), ==, before);
      /* Clicked into: the wheel turns it (GTK's own handler runs). */
      g_assert_true (gtk_widget_grab_focus (GTK_WIDGET (spin)));
      g_signal_emit_by_name (guard, "scroll", 0.0, 3.0, &handled);
      g_assert_false (handled);
    }

  close_all (window, session, engine);
}

/* Issue 17, defect 3: a series keeps its colour across views, whatever
 * its position in its chart (p99 was green live, orange in replay). */
static void
test_chart_colors_by_metric (void)
{
  SmDashboard *dashboard = SM_DASHBOARD (g_object_ref_sink (sm_dashboard_new ()));
  SmSessionReplay *replay = SM_SESSION_REPLAY (g_object_ref_sink (sm_session_replay_new ()));
  /* chart, series: live (dashboard) and replay */
  static const struct { guint live_chart, live_series, replay_chart, replay_series; } same[] = {
    { 0, 0, 0, 0 },   /* p50 */
    { 0, 2, 0, 2 },   /* p99 */
    { 2, 0, 2, 0 },   /* pool in use */
    { 2, 2, 2, 2 },   /* pool limit */
  };

  for (guint i = 0; i < G_N_ELEMENTS (same); i++)
    {
      SmChartSeries *live = sm_chart_get_series (sm_dashboard_get_chart (dashboard, same[i].live_chart),
                                                 same[i].live_series);
      SmChartSeries *again = sm_chart_get_series (sm_session_replay_get_chart (replay, same[i].replay_chart),
                                                  same[i].replay_series);

      g_assert_cmpstr (sm_chart_series_get_name (live), ==, sm_chart_series_get_name (again));
      g_assert_cmpint (sm_chart_series_get_color (live), >=, 0);
      g_assert_cmpint (sm_chart_series_get_color (live), ==, sm_chart_series_get_color (again));
    }
  /* Alone in a chart of its own, p99 keeps its colour. */
  {
    g_autoptr(SmChartSeries) alone = sm_metric_series_new (SM_METRIC_ID_LATENCY_P99, "p99", 10);

    g_assert_cmpint (sm_chart_series_get_color (alone), ==,
                     sm_chart_series_get_color (sm_chart_get_series (sm_dashboard_get_chart (dashboard, 0), 2)));
  }
  /* Different in one chart. */
  g_assert_cmpint (sm_metric_series_color (SM_METRIC_ID_LATENCY_P99), !=, sm_metric_series_color (SM_METRIC_ID_LATENCY_P50));
  g_object_unref (replay);
  g_object_unref (dashboard);
}

/* Issue 17, defect 10: F9, Ctrl+E and Ctrl+1…4 are window shortcuts,
 * whatever has the focus (a global shortcut controller), not bindings
 * that only hear keys from a focused child of the dashboard. */
static void
test_dashboard_shortcuts_global (void)
{
  g_autoptr(GtkWidget) dashboard = g_object_ref_sink (sm_dashboard_new ());
  /* Freed first: it watches the dashboard. */
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (dashboard);
  static const char * const wanted[] = { "F9", "<Control>e", "<Control>1", "<Control>2", "<Control>3", "<Control>4" };
  guint found = 0;

  for (guint c = 0; c < g_list_model_get_n_items (controllers); c++)
    {
      g_autoptr(GtkEventController) controller = g_list_model_get_item (controllers, c);

      if (!GTK_IS_SHORTCUT_CONTROLLER (controller)
          || gtk_shortcut_controller_get_scope (GTK_SHORTCUT_CONTROLLER (controller)) != GTK_SHORTCUT_SCOPE_GLOBAL)
        continue;
      for (guint s = 0; s < g_list_model_get_n_items (G_LIST_MODEL (controller)); s++)
        {
          g_autoptr(GtkShortcut) shortcut = g_list_model_get_item (G_LIST_MODEL (controller), s);
          g_autofree char *trigger = gtk_shortcut_trigger_to_string (gtk_shortcut_get_trigger (shortcut));

          for (guint w = 0; w < G_N_ELEMENTS (wanted); w++)
            found += g_str_equal (trigger, wanted[w]);
        }
    }
  g_assert_cmpuint (found, ==, G_N_ELEMENTS (wanted));
}

/* One suggested action in the view (GNOME's HIG): of several open
 * recommendations, only the newest's Apply is. */
static void
test_recommendations_one_suggested (void)
{
  g_autoptr(GError) error = NULL;
  SmEngine *engine = sm_engine_new (64 * 1024 * 1024, 1, &error);
  SmSession *session = sm_session_new (engine, NULL);
  GtkWidget *window = gtk_window_new ();
  SmRecommendationsPage *page = SM_RECOMMENDATIONS_PAGE (sm_recommendations_page_new ());
  g_autoptr(GPtrArray) buttons = g_ptr_array_new ();
  guint suggested = 0;

  sm_recommendations_page_set_session (page, session);
  gtk_window_set_child (GTK_WINDOW (window), GTK_WIDGET (page));
  gtk_window_present (GTK_WINDOW (window));
  for (guint id = 1; id <= 3; id++)
    {
      SmRecommendation rec = { .id = id, .rule = "test", .title = (char *) "A rule", .evidence = (char *) "why",
                               .expected = (char *) "better", .action = (char *) "Change it",
                               .status = SM_RECOMMENDATION_OPEN, .before = NAN, .after = NAN };

      g_signal_emit_by_name (session, "recommendation", &rec, FALSE);
    }
  g_assert_cmpuint (sm_recommendations_page_get_n_rows (page), ==, 3);
  collect_type (GTK_WIDGET (page), GTK_TYPE_BUTTON, buttons);
  for (guint i = 0; i < buttons->len; i++)
    if (gtk_widget_has_css_class (g_ptr_array_index (buttons, i), "suggested-action"))
      {
        suggested++;
        g_assert_cmpuint (g_variant_get_uint32 (gtk_actionable_get_action_target_value (g_ptr_array_index (buttons, i))),
                          ==, 3);
      }
  g_assert_cmpuint (suggested, ==, 1);
  close_all (window, session, engine);
}

/* Issue 17, defect 15: the text under the arrivals describes the mode
 * chosen (it described closed loop while Poisson was selected). */
static void
test_tuning_workload_text (void)
{
  static const char * const says[] = { "at random", "evenly spaced", "outstanding" };
  GtkWidget *panel = g_object_ref_sink (sm_tuning_panel_new ());
  GtkWidget *row = find_row (panel, "_Arrivals");

  for (guint mode = 0; mode < G_N_ELEMENTS (says); mode++)
    {
      adw_combo_row_set_selected (ADW_COMBO_ROW (row), mode);
      for (guint other = 0; other < G_N_ELEMENTS (says); other++)
        g_assert_true ((strstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (row)), says[other]) != NULL)
                       == (other == mode));
    }
  g_object_unref (panel);
}

/* The GPU from the tuning panel: uploaded off the main thread, announced,
 * and the engine runs on it; its status is on the Kernels tile. */
/* Whether the GPU charts hold a batch run, its busy share and the
 * latency of its stage, each above zero. */
static gboolean
gpu_charted (SmDashboard *dashboard)
{
  for (guint c = 5; c < 8; c++)
    {
      SmChartSeries *series = sm_chart_get_series (sm_dashboard_get_chart (dashboard, c), 0);
      SmChartStats stats;

      if (!sm_chart_series_get_stats (series, -INFINITY, INFINITY, &stats) || !(stats.max > 0))
        return FALSE;
    }
  return TRUE;
}

static void
test_tuning_gpu (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SmGpu) probe = NULL;
  SmEngine *engine;
  SmSession *session;
  GtkWidget *window;
  SmDashboard *dashboard;
  gboolean changed = FALSE;
  gint64 until;

  /* Mesa's lavapipe stands in where there is no GPU. */
  g_setenv ("SM_GPU_ALLOW_CPU", "1", TRUE);
  probe = sm_gpu_new (&error);
  if (probe == NULL)
    {
      g_test_skip (error->message);
      return;
    }
  g_clear_pointer (&probe, sm_gpu_free);
  engine = sm_engine_new (64 * 1024 * 1024, 1, &error);
  g_assert_no_error (error);
  g_assert_true (sm_monitor_set_interval (sm_engine_get_monitor (engine), 50, NULL));
  session = sm_session_new (engine, NULL);
  window = gtk_window_new ();
  dashboard = SM_DASHBOARD (sm_dashboard_new ());
  sm_dashboard_set_session (dashboard, session);
  gtk_window_set_child (GTK_WINDOW (window), GTK_WIDGET (dashboard));
  gtk_window_present (GTK_WINDOW (window));
  g_signal_connect (session, "knob-changed", G_CALLBACK (knob_changed_cb), &changed);

  /* No GPU charts while it is off: three empty boxes (issue 17). */
  for (guint c = 0; c < sm_dashboard_get_n_charts (dashboard); c++)
    g_assert_cmpint (sm_dashboard_get_chart_shown (dashboard, c), ==, c < 5);
  g_assert_false (gtk_widget_get_visible (gtk_widget_get_parent (GTK_WIDGET (sm_dashboard_get_chart (dashboard, 5)))));

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (dashboard), "dashboard.toggle-tuning", NULL));
  adw_combo_row_set_selected (ADW_COMBO_ROW (find_row (GTK_WIDGET (dashboard), "_GPU")), SM_GPU_ON);
  until = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (!changed && g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (changed);
  g_assert_cmpint (sm_engine_get_gpu_mode (engine), ==, SM_GPU_ON);
  sm_session_start (session, 200);
  until = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (strstr (sm_dashboard_get_tile_detail (dashboard, 5), "GPU on") == NULL && g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, TRUE);
  g_assert_nonnull (strstr (sm_dashboard_get_tile_detail (dashboard, 5), "GPU on"));

  /* On: its charts, busy share, batches and the GPU stage's latency, with
   * what it measured, and in the exports. */
  until = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (!gpu_charted (dashboard) && g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (gpu_charted (dashboard));
  g_assert_true (sm_dashboard_get_chart_shown (dashboard, 5));
  g_assert_true (gtk_widget_get_visible (gtk_widget_get_parent (GTK_WIDGET (sm_dashboard_get_chart (dashboard, 7)))));
  export_charts_named (dashboard, 8, (const char * const[]) { "gpu-busy", "gpu-batches", "gpu-latency", NULL });
  sm_session_stop (session);
  close_all (window, session, engine);
}

static void
count_pruned (SmSession *session,
              guint      thinned,
              guint      deleted,
              guint     *total_deleted)
{
  *total_deleted += deleted;
}

/* Retention from the preferences: applied on a thread, the newest session
 * kept, and the pages told. */
static void
test_session_retention (void)
{
  g_autofree char *dir = g_dir_make_tmp ("synmesh-retention-XXXXXX", NULL);
  g_autofree char *db = g_build_filename (dir, "synmesh.db", NULL);
  g_autoptr(GError) error = NULL;
  SmEngine *engine = sm_engine_new (64 * 1024 * 1024, 1, &error);
  SmSession *session;
  g_autoptr(GPtrArray) left = NULL;
  guint deleted = 0;
  gint64 until;

  g_assert_no_error (error);
  session = sm_session_new (engine, db);
  for (int i = 0; i < 3; i++)
    sm_store_end_session (sm_session_get_store (session),
                          sm_store_begin_session (sm_session_get_store (session), "old", "m", "{}", NULL));
  sm_store_flush (sm_session_get_store (session));
  g_signal_connect (session, "store-pruned", G_CALLBACK (count_pruned), &deleted);
  sm_session_apply_retention (session, 0, 1);
  until = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (deleted == 0 && g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (deleted, ==, 2);
  left = sm_store_list_sessions (sm_session_get_store (session), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (left->len, ==, 1);

  g_object_unref (session);
  drain_main_loop (100);
  sm_engine_free (engine);
  remove_tmp_dir (dir);
}

static void
keep_result (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

/* A session that recorded mesh peers' figures ("peer.<fingerprint>.…",
 * as the node puts them in the monitor) replays them: a chart per figure,
 * a series per peer named by it; one that recorded none has no such
 * charts. */
static void
test_replay_peer_figures (void)
{
  g_autofree char *dir = g_dir_make_tmp ("synmesh-replay-peers-XXXXXX", NULL);
  g_autofree char *db = g_build_filename (dir, "synmesh.db", NULL);
  g_autoptr(GError) error = NULL;
  SmEngine *engine = sm_engine_new (64 * 1024 * 1024, 1, &error);
  g_autoptr(SmMonitor) monitor = sm_monitor_new ();
  const char *peers[] = { "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210" };
  const char *names[] = { "a (01:23:45:67)", "b (fe:dc:ba:98)" };
  SmSession *session;
  SmStore *store;
  GtkWidget *replay;
  gint64 ids[2];
  guint index[2][2], gpu_busy;
  g_autoptr(GPtrArray) infos = NULL;
  gint64 until;

  g_assert_no_error (error);
  session = sm_session_new (engine, db);
  store = sm_session_get_store (session);
  for (guint p = 0; p < 2; p++)
    for (guint f = 0; f < 2; f++)
      {
        const char *figure = f == 0 ? SM_METRIC_PEER_THROUGHPUT : SM_METRIC_PEER_P99;
        g_autofree char *id = g_strdup_printf (SM_METRIC_PEER_PREFIX "%s.%s", peers[p], figure);
        g_autofree char *name = g_strdup_printf ("%s %s", names[p], f == 0 ? "throughput" : "p99");

        index[p][f] = sm_monitor_add_value (monitor, id, name, f == 0 ? "ops/s" : "µs",
                                            f == 0 ? SM_METRIC_RATE : SM_METRIC_LATENCY);
      }
  /* The first session used the GPU: its charts come with it. */
  gpu_busy = sm_monitor_add_value (monitor, SM_METRIC_ID_GPU_BUSY, "GPU busy", "%", SM_METRIC_GAUGE);
  ids[0] = sm_store_begin_session (store, "with peers", "m", "{}", &error);
  g_assert_no_error (error);
  sm_store_add_event (store, ids[0], 2000, "knob", "Worker threads: 2 → 1");
  for (guint t = 0; t < 4; t++)
    {
      g_autoptr(SmMonitorSnapshot) snapshot = NULL;

      for (guint p = 0; p < 2; p++)
        for (guint f = 0; f < 2; f++)
          sm_monitor_set_value (monitor, index[p][f], 100.0 * (p + 1) + t);
      sm_monitor_set_value (monitor, gpu_busy, 10.0 * t);
      snapshot = sm_monitor_tick (monitor);
      sm_store_add_snapshot (store, ids[0], monitor, snapshot);
    }
  /* The session lasts past its samples' times (ms on the monitor's clock):
   * a replay reads from 0 to its length. */
  g_usleep (100 * 1000);
  sm_store_end_session (store, ids[0]);
  ids[1] = sm_store_begin_session (store, "alone", "m", "{}", &error);
  g_assert_no_error (error);
  sm_store_end_session (store, ids[1]);
  sm_store_flush (store);

  /* The exports carry them as every other metric. */
  for (guint f = 0; f < 2; f++)
    {
      const char *format = f == 0 ? "csv" : "json";
      g_autofree char *path = g_strdup_printf ("%s/peers.%s", dir, format);
      g_autofree char *text = NULL;

      g_assert_true (sm_store_export (store, ids[0], format, path, 0, NULL, NULL, &error));
      g_assert_no_error (error);
      g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
      g_assert_nonnull (strstr (text, SM_METRIC_PEER_PREFIX "fedcba9876543210fedcba9876543210." SM_METRIC_PEER_P99));
      g_unlink (path);
    }

  infos = sm_store_list_sessions (store, &error);
  g_assert_no_error (error);
  replay = g_object_ref_sink (sm_session_replay_new ());
  sm_session_replay_set_session (SM_SESSION_REPLAY (replay), session);
  /* No session shown yet: nothing to report. */
  {
    GAsyncResult *result = NULL;

    sm_session_replay_save_report_async (SM_SESSION_REPLAY (replay), "/nonexistent/x.pdf", NULL, keep_result, &result);
    while (result == NULL)
      g_main_context_iteration (NULL, TRUE);
    g_assert_false (sm_session_replay_save_report_finish (SM_SESSION_REPLAY (replay), result, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
    g_clear_error (&error);
    g_object_unref (result);
  }
  for (guint s = 0; s < 2; s++)
    {
      const SmSessionInfo *info = NULL;

      for (guint i = 0; i < infos->len; i++)
        if (((SmSessionInfo *) g_ptr_array_index (infos, i))->id == ids[s])
          info = g_ptr_array_index (infos, i);
      g_assert_nonnull (info);
      sm_session_replay_show (SM_SESSION_REPLAY (replay), info);
      until = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
      if (s == 0)
        {
          while ((sm_session_replay_get_n_peer_charts (SM_SESSION_REPLAY (replay)) < 2
                  || sm_chart_series_get_length (sm_chart_get_series (sm_session_replay_get_peer_chart (SM_SESSION_REPLAY (replay), 1), 1)) == 0)
                 && g_get_monotonic_time () < until)
            g_main_context_iteration (NULL, TRUE);
          g_assert_cmpuint (sm_session_replay_get_n_peer_charts (SM_SESSION_REPLAY (replay)), ==, 2);
          g_assert_cmpuint (sm_chart_series_get_length (sm_chart_get_series (sm_session_replay_get_peer_chart (SM_SESSION_REPLAY (replay), 1), 1)), >, 0);
          while (!gtk_widget_get_visible (GTK_WIDGET (sm_session_replay_get_chart (SM_SESSION_REPLAY (replay), 5)))
                 && g_get_monotonic_time () < until)
            g_main_context_iteration (NULL, TRUE);
          g_assert_true (gtk_widget_get_visible (GTK_WIDGET (sm_session_replay_get_chart (SM_SESSION_REPLAY (replay), 5))));
          for (guint c = 0; c < 2; c++)
            {
              SmChart *chart = sm_session_replay_get_peer_chart (SM_SESSION_REPLAY (replay), c);

              g_assert_cmpuint (sm_chart_get_n_series (chart), ==, 2);
              for (guint p = 0; p < 2; p++)
                g_assert_cmpstr (sm_chart_series_get_name (sm_chart_get_series (chart, p)), ==, names[p]);
            }

          /* Its report (issue 17, defect 8): a PDF of this session. */
          {
            g_autofree char *pdf = g_build_filename (dir, "with-peers.pdf", NULL);
            g_autofree char *text = NULL;
            GAsyncResult *result = NULL;
            gsize size;

            sm_session_replay_save_report_async (SM_SESSION_REPLAY (replay), pdf, NULL, keep_result, &result);
            while (result == NULL)
              g_main_context_iteration (NULL, TRUE);
            g_assert_true (sm_session_replay_save_report_finish (SM_SESSION_REPLAY (replay), result, &error));
            g_assert_no_error (error);
            g_object_unref (result);
            g_assert_true (g_file_get_contents (pdf, &text, &size, NULL));
            g_assert_true (g_str_has_prefix (text, "%PDF-"));
            g_assert_cmpuint (size, >, 1000);
            g_unlink (pdf);
          }
        }
      else
        {
          drain_main_loop (300);
          g_assert_cmpuint (sm_session_replay_get_n_peer_charts (SM_SESSION_REPLAY (replay)), ==, 0);
          /* Without the GPU, no GPU charts. */
          for (guint c = 5; c < 8; c++)
            g_assert_false (gtk_widget_get_visible (GTK_WIDGET (sm_session_replay_get_chart (SM_SESSION_REPLAY (replay), c))));
        }
    }

  /* Listed newest first, and found by a word of their name (the search
   * matches titles and subtitles, every word, case aside). */
  {
    SmSessionsPage *sessions_page = SM_SESSIONS_PAGE (g_object_ref_sink (sm_sessions_page_new ()));
    GtkWidget *search, *list;
    guint shown = 0;
    const char *first;

    g_assert_true (sm_row_filter_matches ("WITH pe", "with peers", NULL));
    g_assert_false (sm_row_filter_matches ("with alone", "with peers", "2 s"));
    g_assert_true (sm_row_filter_matches ("", "x", NULL));
    sm_sessions_page_set_session (sessions_page, session);
    sm_sessions_page_refresh (sessions_page);
    until = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
    while (sm_sessions_page_get_n_sessions (sessions_page) < 2 && g_get_monotonic_time () < until)
      g_main_context_iteration (NULL, TRUE);
    list = find_type (GTK_WIDGET (sessions_page), GTK_TYPE_LIST_BOX);
    first = adw_preferences_row_get_title (ADW_PREFERENCES_ROW (gtk_widget_get_first_child (list)));
    g_assert_cmpstr (first, ==, "alone");
    search = find_type (GTK_WIDGET (sessions_page), GTK_TYPE_SEARCH_ENTRY);
    gtk_editable_set_text (GTK_EDITABLE (search), "PEERS");
    g_signal_emit_by_name (search, "search-changed");
    drain_main_loop (50);
    for (GtkWidget *row = gtk_widget_get_first_child (list); row != NULL; row = gtk_widget_get_next_sibling (row))
      if (ADW_IS_ACTION_ROW (row) && gtk_widget_get_child_visible (row))
        {
          shown++;
          g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)), ==, "with peers");
        }
    g_assert_cmpuint (shown, ==, 1);
    /* Nothing left: a line says so. */
    gtk_editable_set_text (GTK_EDITABLE (search), "no such words");
    g_signal_emit_by_name (search, "search-changed");
    {
      GtkWidget *line = gtk_widget_get_next_sibling (search);

      g_assert_true (GTK_IS_LABEL (line));
      g_assert_true (gtk_widget_get_visible (line));
      gtk_editable_set_text (GTK_EDITABLE (search), "");
      g_signal_emit_by_name (search, "search-changed");
      g_assert_false (gtk_widget_get_visible (line));
    }
    g_object_unref (sessions_page);
  }

  /* Compared: A's change marked in A's colour, B had none. */
  {
    GtkWidget *comparison = g_object_ref_sink (sm_session_comparison_new ());
    const SmSessionInfo *a = NULL, *b = NULL;
    SmChart *chart;

    for (guint i = 0; i < infos->len; i++)
      {
        const SmSessionInfo *info = g_ptr_array_index (infos, i);

        if (info->id == ids[0])
          a = info;
        else if (info->id == ids[1])
          b = info;
      }
    sm_session_comparison_set_session (SM_SESSION_COMPARISON (comparison), session);
    sm_session_comparison_show (SM_SESSION_COMPARISON (comparison), a, b);
    chart = sm_session_comparison_get_chart (SM_SESSION_COMPARISON (comparison), 0);
    until = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
    while (sm_chart_get_view (chart)->n_markers == 0 && g_get_monotonic_time () < until)
      g_main_context_iteration (NULL, TRUE);
    drain_main_loop (200);
    g_assert_cmpuint (sm_chart_get_view (chart)->n_markers, ==, 1);
    g_assert_cmpfloat (sm_chart_get_view (chart)->markers[0], ==, 2.0);
    g_assert_cmpint (sm_chart_get_view (chart)->marker_series[0], ==, 0);
    g_object_unref (comparison);
  }

  g_object_unref (replay);
  g_object_unref (session);
  drain_main_loop (100);
  sm_engine_free (engine);
  remove_tmp_dir (dir);
}

int
main (int   argc,
      char *argv[])
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/app/chart/widget", test_chart_widget);
  g_test_add_func ("/app/dashboard/live", test_dashboard_live);
  g_test_add_func ("/app/recommendations/apply", SANITIZED (test_recommendations_apply));
  g_test_add_func ("/app/session/retention", test_session_retention);
  g_test_add_func ("/app/replay/peer-figures", test_replay_peer_figures);
  /* Shaders on lavapipe under full unwinding take minutes: not with the sanitizers. */
  g_test_add_func ("/app/dashboard/wheel", test_dashboard_wheel);
  g_test_add_func ("/app/chart/colors-by-metric", test_chart_colors_by_metric);
  g_test_add_func ("/app/dashboard/shortcuts-global", test_dashboard_shortcuts_global);
  g_test_add_func ("/app/recommendations/one-suggested", test_recommendations_one_suggested);
  g_test_add_func ("/app/tuning/workload-text", test_tuning_workload_text);
  g_test_add_func ("/app/tuning/kernels-list", test_tuning_kernels_list);
  g_test_add_func ("/app/tuning/gpu", SANITIZED (test_tuning_gpu));

  return g_test_run ();
}
