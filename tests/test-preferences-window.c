/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <adwaita.h>

#include "gtk-test-util.h"
#include "sm-paths.h"
#include "sm-preferences-window.h"

static void
test_preferences_style_follows_settings (void)
{
  g_autoptr(GSettings) settings = g_settings_new (APP_ID);
  g_autofree char *scheme = NULL;
  SmPreferencesWindow *window;
  AdwComboRow *style_row;

  g_settings_set_string (settings, "color-scheme", "light");
  window = sm_preferences_window_new (settings);
  g_object_ref (window);

  style_row = ADW_COMBO_ROW (gtk_widget_get_template_child (GTK_WIDGET (window),
                                                            SM_TYPE_PREFERENCES_WINDOW,
                                                            "style_row"));
  g_assert_cmpuint (adw_combo_row_get_selected (style_row), ==, 1);

  /* Choosing a row saves the setting at once … */
  adw_combo_row_set_selected (style_row, 2);
  scheme = g_settings_get_string (settings, "color-scheme");
  g_assert_cmpstr (scheme, ==, "dark");

  /* … and a change made elsewhere shows in the row. */
  g_settings_set_string (settings, "color-scheme", "default");
  g_assert_cmpuint (adw_combo_row_get_selected (style_row), ==, 0);

  close_dialog (window);
  g_assert_finalize_object (window);
}

static void
test_preferences_shows_data_dir (void)
{
  g_autoptr(GSettings) settings = g_settings_new (APP_ID);
  SmPreferencesWindow *window;
  AdwActionRow *row;

  g_setenv (SM_DATA_DIR_ENV, "/tmp/synmesh-prefs-test", TRUE);
  window = sm_preferences_window_new (settings);
  g_object_ref (window);
  g_unsetenv (SM_DATA_DIR_ENV);

  row = ADW_ACTION_ROW (gtk_widget_get_template_child (GTK_WIDGET (window),
                                                       SM_TYPE_PREFERENCES_WINDOW,
                                                       "data_dir_row"));
  g_assert_cmpstr (adw_action_row_get_subtitle (row), ==, "/tmp/synmesh-prefs-test");

  close_dialog (window);
  g_assert_finalize_object (window);
}

/* The measurement settings are spin buttons bound to GSettings, with the
 * schema's limits. */
static void
test_preferences_measurements (void)
{
  g_autoptr(GSettings) settings = g_settings_new (APP_ID);
  SmPreferencesWindow *window = sm_preferences_window_new (settings);
  GtkSpinButton *refresh, *target;

  g_object_ref (window);
  refresh = GTK_SPIN_BUTTON (gtk_widget_get_template_child (GTK_WIDGET (window), SM_TYPE_PREFERENCES_WINDOW,
                                                            "refresh_spin"));
  target = GTK_SPIN_BUTTON (gtk_widget_get_template_child (GTK_WIDGET (window), SM_TYPE_PREFERENCES_WINDOW,
                                                           "target_spin"));
  g_assert_cmpfloat (gtk_spin_button_get_value (refresh), ==, 250);
  g_assert_cmpfloat (gtk_spin_button_get_value (target), ==, 1000);

  gtk_spin_button_set_value (refresh, 100);
  g_assert_cmpuint (g_settings_get_uint (settings, "refresh-interval"), ==, 100);
  gtk_spin_button_set_value (refresh, 5);   /* below the range: clamped */
  g_assert_cmpuint (g_settings_get_uint (settings, "refresh-interval"), ==, 50);
  g_settings_set_uint (settings, "latency-target", 2500);
  g_assert_cmpfloat (gtk_spin_button_get_value (target), ==, 2500);

  g_settings_reset (settings, "refresh-interval");
  g_settings_reset (settings, "latency-target");
  close_dialog (window);
  g_assert_finalize_object (window);
}

static gpointer
template_child (SmPreferencesWindow *window,
                const char          *name)
{
  return gtk_widget_get_template_child (GTK_WIDGET (window), SM_TYPE_PREFERENCES_WINDOW, name);
}

/* History, units and retention: bound both ways, within the schema's
 * limits. */
static void
test_preferences_history_units_retention (void)
{
  g_autoptr(GSettings) settings = g_settings_new (APP_ID);
  SmPreferencesWindow *window = sm_preferences_window_new (settings);
  GtkSpinButton *history, *days, *size;
  AdwComboRow *unit;

  g_object_ref (window);
  history = template_child (window, "history_spin");
  days = template_child (window, "retention_days_spin");
  size = template_child (window, "retention_size_spin");
  unit = template_child (window, "latency_unit_row");
  g_assert_cmpfloat (gtk_spin_button_get_value (history), ==, 60);
  g_assert_cmpfloat (gtk_spin_button_get_value (days), ==, 0);
  g_assert_cmpfloat (gtk_spin_button_get_value (size), ==, 0);
  g_assert_cmpuint (adw_combo_row_get_selected (unit), ==, 0);

  gtk_spin_button_set_value (history, 5000);   /* above the range: clamped */
  g_assert_cmpuint (g_settings_get_uint (settings, "history-length"), ==, 1440);
  gtk_spin_button_set_value (days, 30);
  g_assert_cmpuint (g_settings_get_uint (settings, "retention-days"), ==, 30);
  gtk_spin_button_set_value (size, 512);
  g_assert_cmpuint (g_settings_get_uint (settings, "retention-size"), ==, 512);
  adw_combo_row_set_selected (unit, 2);
  g_assert_cmpint (g_settings_get_enum (settings, "latency-unit"), ==, 2);
  g_settings_set_string (settings, "latency-unit", "microseconds");
  g_assert_cmpuint (adw_combo_row_get_selected (unit), ==, 1);

  for (const char * const *key = (const char * const[]) { "history-length", "retention-days", "retention-size",
                                                          "latency-unit", NULL }; *key != NULL; key++)
    g_settings_reset (settings, *key);
  close_dialog (window);
  g_assert_finalize_object (window);
}

int
main (int   argc,
      char *argv[])
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/app/preferences/style-follows-settings", test_preferences_style_follows_settings);
  g_test_add_func ("/app/preferences/shows-data-dir", test_preferences_shows_data_dir);
  g_test_add_func ("/app/preferences/measurements", test_preferences_measurements);
  g_test_add_func ("/app/preferences/history-units-retention", test_preferences_history_units_retention);

  return g_test_run ();
}
