/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>

#include "gtk-test-util.h"
#include "sm-application.h"
#include "sm-recommendations-page.h"
#include "sm-sessions-page.h"
#include "sm-window.h"

/* The app end to end, as a user meets it: started with a load and a fresh
 * database, kernels forced to scalar code, the advisor's recommendation
 * applied from the Recommendations page, quit; started again, the run is
 * on the Sessions page and in the database with the recommendation
 * applied.  On the way it takes the screenshots the metainfo shows (into
 * tests/screenshots/ of the build; `make screenshots` keeps them in
 * data/screenshots/). */

/* Seconds of load before the dashboard is photographed, and polls (50 ms
 * each) for a page to be laid out and drawn after a change. */
#define LOAD_SECONDS 10
#define SETTLE_POLLS 6

typedef struct
{
  SmApplication *app;
  gint64         deadline;
  gint64         started;
  guint          step;
  guint          settle;
  gboolean       applied;
  guint          sessions_seen;
  int            width, height;  /* the window's size before the narrow picture */
} Drive;

/* The window as the compositor would show it, drawn by its own renderer;
 * FALSE while a frame is pending and there is nothing to draw yet (the
 * step tries again at the next poll, within the run's deadline). */
static gboolean
save_screenshot (SmApplication *app,
                 const char    *name)
{
  GtkWidget *window = GTK_WIDGET (gtk_application_get_active_window (GTK_APPLICATION (app)));
  int width = gtk_widget_get_width (window), height = gtk_widget_get_height (window);
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (window);
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree char *dir = g_test_build_filename (G_TEST_BUILT, "screenshots", NULL);
  g_autofree char *path = g_build_filename (dir, name, NULL);

  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_free_to_node (snapshot);
  if (node == NULL)
    return FALSE;
  texture = gsk_renderer_render_texture (gtk_native_get_renderer (GTK_NATIVE (window)), node,
                                         &GRAPHENE_RECT_INIT (0, 0, width, height));
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_true (gdk_texture_save_to_png (texture, path));
  g_test_message ("screenshot %s (%d x %d)", path, width, height);
  return TRUE;
}

/* TRUE once a change has had SETTLE_POLLS polls to show. */
static gboolean
settled (Drive *drive)
{
  if (++drive->settle < SETTLE_POLLS)
    return FALSE;
  drive->settle = 0;
  return TRUE;
}

static void
show_page (SmApplication *app,
           const char    *name)
{
  sm_window_set_visible_page (SM_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (app))), name);
}

static GtkWidget *
page_of (SmApplication *app,
         const char    *name)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (app));

  return GTK_WIDGET (gtk_widget_get_template_child (GTK_WIDGET (window), SM_TYPE_WINDOW, name));
}

static void
knob_changed_cb (SmSession  *session,
                 double      t,
                 const char *what,
                 gboolean    ok,
                 Drive      *drive)
{
  if (!ok)
    g_error ("the change was refused: %s", what);
  drive->applied = TRUE;
}

static gboolean
outcome_measured (SmSession *session)
{
  g_autoptr(GPtrArray) list = sm_advisor_list (sm_session_get_advisor (session));

  for (guint i = 0; i < list->len; i++)
    if (((SmRecommendation *) g_ptr_array_index (list, i))->outcome != NULL)
      return TRUE;
  return FALSE;
}

/* First run, polled from the main loop. */
static gboolean
first_run_cb (gpointer data)
{
  Drive *drive = data;
  SmSession *session = sm_application_get_session (drive->app);
  g_autoptr(GSettings) settings = NULL;
  g_autoptr(GPtrArray) list = NULL;

  if (g_get_monotonic_time () > drive->deadline)
    g_error ("the first run is stuck at step %u", drive->step);
  switch (drive->step)
    {
    case 0:
      g_assert_true (sm_session_get_running (session));
      g_assert_true (sm_engine_set_backend (sm_application_get_engine (drive->app), SM_BACKEND_GENERIC, NULL));
      /* Four ticks of evidence, not two seconds' worth: sanitizer builds
       * are slow enough that a long window may never hold whole. */
      sm_advisor_set_window (sm_session_get_advisor (session), 4);
      g_signal_connect (session, "knob-changed", G_CALLBACK (knob_changed_cb), drive);
      drive->started = g_get_monotonic_time ();
      drive->step++;
      break;
    case 1:
      /* The dashboard with some history, the whole session in view. */
      if (g_get_monotonic_time () - drive->started < LOAD_SECONDS * G_USEC_PER_SEC)
        break;
      show_page (drive->app, "dashboard");
      g_assert_true (gtk_widget_activate_action (page_of (drive->app, "dashboard"), "dashboard.show-window", "u", 3));
      drive->step++;
      break;
    case 2:
      if (!settled (drive))
        break;
      if (!save_screenshot (drive->app, "dashboard.png"))
        break;
      settings = g_settings_new (APP_ID);
      g_settings_set_string (settings, "color-scheme", "dark");
      drive->step++;
      break;
    case 3:
      if (!settled (drive))
        break;
      if (!save_screenshot (drive->app, "dashboard-dark.png"))
        break;
      settings = g_settings_new (APP_ID);
      g_settings_reset (settings, "color-scheme");
      show_page (drive->app, "mesh");
      drive->step++;
      break;
    case 4:
      if (!settled (drive))
        break;
      if (!save_screenshot (drive->app, "mesh.png"))
        break;
      /* As narrow as GNOME apps go, the tuning knobs open over the charts. */
      gtk_window_get_default_size (gtk_application_get_active_window (GTK_APPLICATION (drive->app)),
                                   &drive->width, &drive->height);
      gtk_window_set_default_size (gtk_application_get_active_window (GTK_APPLICATION (drive->app)), 360, 720);
      show_page (drive->app, "dashboard");
      g_assert_true (gtk_widget_activate_action (page_of (drive->app, "dashboard"), "dashboard.toggle-tuning", NULL));
      drive->step++;
      break;
    case 5:
      if (!settled (drive))
        break;
      if (!save_screenshot (drive->app, "dashboard-narrow.png"))
        break;
      g_assert_true (gtk_widget_activate_action (page_of (drive->app, "dashboard"), "dashboard.toggle-tuning", NULL));
      gtk_window_set_default_size (gtk_application_get_active_window (GTK_APPLICATION (drive->app)),
                                   drive->width, drive->height);
      show_page (drive->app, "recommendations");
      drive->step++;
      break;
    case 6:
      /* The SIMD rule fires and its row is on the page: Apply there. */
      list = sm_advisor_list (sm_session_get_advisor (session));
      for (guint i = 0; i < list->len; i++)
        {
          SmRecommendation *rec = g_ptr_array_index (list, i);

          if (g_str_equal (rec->rule, "simd-utilisation")
              && sm_recommendations_page_get_n_rows (SM_RECOMMENDATIONS_PAGE (page_of (drive->app, "recommendations_page"))) > 0)
            {
              g_assert_true (gtk_widget_activate_action (page_of (drive->app, "recommendations_page"),
                                                         "recommendations.apply", "u", rec->id));
              drive->step++;
              break;
            }
        }
      break;
    case 7:
      if (!drive->applied)
        break;
      g_assert_cmpint (sm_engine_get_backend (sm_application_get_engine (drive->app)), ==, SM_BACKEND_AUTO);
      drive->step++;
      break;
    case 8:
      /* The outcome measured on the row, then the picture of it. */
      if (!settled (drive) || !outcome_measured (session))
        break;
      if (!save_screenshot (drive->app, "recommendations.png"))
        break;
      g_action_group_activate_action (G_ACTION_GROUP (drive->app), "quit", NULL);
      return G_SOURCE_REMOVE;
    default:
      g_assert_not_reached ();
    }
  return G_SOURCE_CONTINUE;
}

static gboolean
second_run_cb (gpointer data)
{
  Drive *drive = data;
  SmSessionsPage *sessions = SM_SESSIONS_PAGE (page_of (drive->app, "sessions_page"));

  g_assert_cmpint (g_get_monotonic_time (), <, drive->deadline);
  if (sm_sessions_page_get_n_sessions (sessions) == 0)
    return G_SOURCE_CONTINUE;
  drive->sessions_seen = sm_sessions_page_get_n_sessions (sessions);
  g_action_group_activate_action (G_ACTION_GROUP (drive->app), "quit", NULL);
  return G_SOURCE_REMOVE;
}

static void
run (Drive       *drive,
     GSourceFunc  poll,
     gboolean     load)
{
  char *argv[] = { (char *) "synaptic-mesh", (char *) "--load", (char *) "1000", NULL };

  drive->app = sm_application_new ();
  drive->deadline = g_get_monotonic_time () + 300 * G_USEC_PER_SEC;
  drive->step = 0;
  /* Tests run in parallel on one session bus: stay off the unique name. */
  g_application_set_flags (G_APPLICATION (drive->app), G_APPLICATION_NON_UNIQUE);
  g_timeout_add (50, poll, drive);
  g_assert_cmpint (g_application_run (G_APPLICATION (drive->app), load ? 3 : 1, argv), ==, 0);
  g_assert_finalize_object (drive->app);
}

static void
test_app_session_end_to_end (void)
{
  g_autofree char *dir = g_dir_make_tmp ("synmesh-e2e-XXXXXX", NULL);
  g_autofree char *db = g_build_filename (dir, "synmesh.db", NULL);
  g_autoptr(GSettings) settings = g_settings_new (APP_ID);
  g_autoptr(SmStore) store = NULL;
  g_autoptr(GPtrArray) sessions = NULL, recs = NULL;
  g_autoptr(GError) error = NULL;
  gboolean applied = FALSE;
  Drive drive = { 0 };

  g_setenv ("SYNMESH_DB", db, TRUE);
  g_settings_set_string (settings, "mesh-bind", "tcp://127.0.0.1:*");
  g_settings_set_uint (settings, "refresh-interval", 50);
  /* Only the SIMD rule's toast, gone before the first picture. */
  g_settings_set_uint (settings, "latency-target", 1000000);
  /* Screenshots within what app stores show whole (≤ 1000×700). */
  g_settings_set_int (settings, "window-width", 1000);
  g_settings_set_int (settings, "window-height", 700);
  g_settings_set_boolean (settings, "window-maximized", FALSE);

  run (&drive, first_run_cb, TRUE);
  run (&drive, second_run_cb, FALSE);
  g_assert_cmpuint (drive.sessions_seen, ==, 1);

  store = sm_store_open (db, NULL, &error);
  g_assert_no_error (error);
  sessions = sm_store_list_sessions (store, &error);
  g_assert_cmpuint (sessions->len, ==, 1);
  g_assert_cmpint (((SmSessionInfo *) g_ptr_array_index (sessions, 0))->samples, >, 0);
  recs = sm_store_list_recommendations (store, ((SmSessionInfo *) g_ptr_array_index (sessions, 0))->id, &error);
  for (guint i = 0; i < recs->len; i++)
    if (g_str_equal (((SmRecommendation *) g_ptr_array_index (recs, i))->rule, "simd-utilisation")
        && ((SmRecommendation *) g_ptr_array_index (recs, i))->status == SM_RECOMMENDATION_APPLIED)
      applied = TRUE;
  g_assert_true (applied);

  g_clear_pointer (&store, sm_store_free);
  g_settings_reset (settings, "mesh-bind");
  g_settings_reset (settings, "refresh-interval");
  g_settings_reset (settings, "latency-target");
  g_settings_reset (settings, "window-width");
  g_settings_reset (settings, "window-height");
  g_unsetenv ("SYNMESH_DB");
  remove_tmp_dir (dir);
}

int
main (int   argc,
      char *argv[])
{
  gtk_test_init (&argc, &argv, NULL);

  g_test_add_func ("/app/session/end-to-end", SANITIZED (test_app_session_end_to_end));

  return g_test_run ();
}
