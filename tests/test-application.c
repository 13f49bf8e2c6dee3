/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <adwaita.h>

#include "gtk-test-util.h"
#include "sm-application.h"
#include "sm-preferences-window.h"
#include "sm-window.h"

static void
flush_events (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static GtkWindow *
find_toplevel (GType type)
{
  g_autoptr(GListModel) toplevels = g_object_ref (gtk_window_get_toplevels ());

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GtkWindow) window = g_list_model_get_item (toplevels, i);

      if (G_TYPE_CHECK_INSTANCE_TYPE (window, type))
        return window;
    }

  return NULL;
}

/* Closes the dialog of @type that is shown: a window of its own with
 * libadwaita 1.2, a widget over the main window from 1.5. */
static void
close_shown (GType type)
{
  GtkWidget *dialog = find_shown (type);
  gint64 until = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  g_assert_nonnull (dialog);
  close_dialog (dialog);
  /* An AdwDialog leaves with an animation. */
  while (find_shown (type) != NULL && g_get_monotonic_time () < until)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (2000);
  g_assert_null (find_shown (type));
}

/* Runs @app through g_application_run(), as main() does, and calls @steps
 * once it is active: startup and shutdown both happen, so that the test can
 * check at the end that nothing kept the application alive. */
static void
run_application (SmApplication *app,
                 GCallback      steps)
{
  char *argv[] = { (char *) "synaptic-mesh", NULL };

  /* Tests run in parallel on one session bus: stay off the unique name. */
  g_application_set_flags (G_APPLICATION (app), G_APPLICATION_NON_UNIQUE);
  g_signal_connect_after (app, "activate", steps, NULL);
  g_assert_cmpint (g_application_run (G_APPLICATION (app), 1, argv), ==, 0);
  g_assert_finalize_object (app);
}

static void
actions_steps_cb (SmApplication *app)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (app));

  /* Default handlers run first: the window exists already. */
  g_assert_true (SM_IS_WINDOW (window));
  flush_events ();

  /* The About dialog's icon, installed or not (issue 17, defect 13). */
  g_assert_true (gtk_icon_theme_has_icon (gtk_icon_theme_get_for_display (gtk_widget_get_display (GTK_WIDGET (window))),
                                          APP_ID));
  g_action_group_activate_action (G_ACTION_GROUP (app), "about", NULL);
  flush_events ();
  close_shown (SM_TYPE_ABOUT);

  g_action_group_activate_action (G_ACTION_GROUP (app), "preferences", NULL);
  flush_events ();
  close_shown (SM_TYPE_PREFERENCES_WINDOW);

  g_assert_true (g_action_group_has_action (G_ACTION_GROUP (window), "show-help-overlay"));
  g_action_group_activate_action (G_ACTION_GROUP (window), "show-help-overlay", NULL);
  flush_events ();
  g_assert_nonnull (find_toplevel (GTK_TYPE_SHORTCUTS_WINDOW));
  gtk_window_close (find_toplevel (GTK_TYPE_SHORTCUTS_WINDOW));
  flush_events ();

  g_action_group_activate_action (G_ACTION_GROUP (app), "quit", NULL);
  flush_events ();
  g_assert_null (gtk_application_get_windows (GTK_APPLICATION (app)));
}

static void
test_application_actions (void)
{
  run_application (sm_application_new (), G_CALLBACK (actions_steps_cb));
}

static void
reactivate_steps_cb (SmApplication *app)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (app));
  static guint activations;

  /* A second activation presents the same window rather than a new one. */
  if (++activations == 1)
    {
      g_application_activate (G_APPLICATION (app));
      return;
    }

  g_assert_true (SM_IS_WINDOW (window));
  g_assert_cmpuint (g_list_length (gtk_application_get_windows (GTK_APPLICATION (app))), ==, 1);
  g_action_group_activate_action (G_ACTION_GROUP (app), "quit", NULL);
}

static void
test_application_single_window (void)
{
  run_application (sm_application_new (), G_CALLBACK (reactivate_steps_cb));
}

static void
color_scheme_steps_cb (SmApplication *app)
{
  AdwStyleManager *style_manager = adw_style_manager_get_default ();
  GSettings *settings = sm_application_get_settings (app);

  g_settings_set_string (settings, "color-scheme", "dark");
  g_assert_cmpint (adw_style_manager_get_color_scheme (style_manager), ==, ADW_COLOR_SCHEME_FORCE_DARK);
  g_settings_set_string (settings, "color-scheme", "light");
  g_assert_cmpint (adw_style_manager_get_color_scheme (style_manager), ==, ADW_COLOR_SCHEME_FORCE_LIGHT);
  g_settings_set_string (settings, "color-scheme", "default");
  g_assert_cmpint (adw_style_manager_get_color_scheme (style_manager), ==, ADW_COLOR_SCHEME_DEFAULT);

  g_action_group_activate_action (G_ACTION_GROUP (app), "quit", NULL);
}

static void
test_application_color_scheme (void)
{
  run_application (sm_application_new (), G_CALLBACK (color_scheme_steps_cb));
}

int
main (int   argc,
      char *argv[])
{
  /* GtkApplication initialises GTK itself at startup. */
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/app/application/actions", test_application_actions);
  g_test_add_func ("/app/application/single-window", test_application_single_window);
  g_test_add_func ("/app/application/color-scheme", test_application_color_scheme);

  return g_test_run ();
}
