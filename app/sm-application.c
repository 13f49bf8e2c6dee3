/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <signal.h>
#include <glib/gi18n.h>
#include <glib-unix.h>

#include "sm-application.h"
#include "sm-dialogs.h"
#include "sm-preferences-window.h"
#include "sm-stall-watch.h"
#include "sm-window.h"

struct _SmApplication
{
  AdwApplication  parent_instance;

  /* Owned */
  GSettings        *settings;
  SmEngine         *engine;
  SmSession        *session;
  SmMeshController *mesh;
  double            load_rate;
  SmStallWatch     *stall_watch;   /* SYNMESH_STALL_WATCH=1 */
  guint             retention_timeout;
  gboolean          frames_watched;
  guint             signal_sources[2];   /* SIGINT, SIGTERM */
};

G_DEFINE_FINAL_TYPE (SmApplication, sm_application, ADW_TYPE_APPLICATION)

static const struct {
  const char *action;
  const char *accels[2];
} app_accels[] = {
  { "app.quit",        { "<Primary>q", NULL } },
  { "app.preferences", { "<Primary>comma", NULL } },
  { "window.close",    { "<Primary>w", NULL } },
};

static void
color_scheme_changed_cb (SmApplication *self,
                         const char    *key,
                         GSettings     *settings)
{
  AdwStyleManager *style_manager = adw_style_manager_get_default ();
  g_autofree char *nick = g_settings_get_string (settings, "color-scheme");
  AdwColorScheme scheme = ADW_COLOR_SCHEME_DEFAULT;

  if (g_str_equal (nick, "light"))
    scheme = ADW_COLOR_SCHEME_FORCE_LIGHT;
  else if (g_str_equal (nick, "dark"))
    scheme = ADW_COLOR_SCHEME_FORCE_DARK;

  adw_style_manager_set_color_scheme (style_manager, scheme);
}

static void
quit_action_cb (GSimpleAction *action,
                GVariant      *parameter,
                gpointer       user_data)
{
  SmApplication *self = user_data;
  GList *windows = gtk_application_get_windows (GTK_APPLICATION (self));

  /* Closing the windows first lets each one save its size. */
  for (GList *l = windows; l != NULL; )
    {
      GtkWindow *window = l->data;

      l = l->next;
      gtk_window_close (window);
    }

  g_application_quit (G_APPLICATION (self));
}

static void
about_action_cb (GSimpleAction *action,
                 GVariant      *parameter,
                 gpointer       user_data)
{
  SmApplication *self = user_data;
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (self));
  const char *developers[] = { "The Synaptic Mesh developers", NULL };
  GtkWidget *about;

  about = g_object_new (SM_TYPE_ABOUT,
                        "application-name", _("Synaptic Mesh"),
                        "application-icon", APP_ID,
                        "developer-name", _("The Synaptic Mesh developers"),
                        "version", PACKAGE_VERSION,
                        "website", "https://github.com/synmesh/synaptic-mesh",
                        "issue-url", "https://github.com/synmesh/synaptic-mesh/issues",
                        "license-type", GTK_LICENSE_GPL_3_0,
                        "developers", developers,
                        "copyright", "© 2026 The Synaptic Mesh developers",
                        "comments", _("Live tuning sessions for a neural inference engine: "
                                      "every number shown is measured on this machine."),
                        NULL);
  sm_dialog_present (about, GTK_WIDGET (parent));
}

static void
preferences_action_cb (GSimpleAction *action,
                       GVariant      *parameter,
                       gpointer       user_data)
{
  SmApplication *self = user_data;
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (self));
  SmPreferencesWindow *preferences;

  preferences = sm_preferences_window_new (self->settings);
  sm_dialog_present (preferences, GTK_WIDGET (parent));
}

static const GActionEntry app_actions[] = {
  { "quit",        quit_action_cb },
  { "about",       about_action_cb },
  { "preferences", preferences_action_cb },
};

/* Preferences the engine and the advisor follow live. */
static void
measurement_settings_cb (SmApplication *self)
{
  g_autoptr(GError) error = NULL;

  if (self->session == NULL)
    return;
  if (!sm_monitor_set_interval (sm_session_get_monitor (self->session),
                                g_settings_get_uint (self->settings, "refresh-interval"), &error))
    g_printerr ("%s\n", error->message);
  sm_advisor_set_latency_target (sm_session_get_advisor (self->session),
                                 g_settings_get_uint (self->settings, "latency-target"));
  sm_advisor_set_precision_bound (sm_session_get_advisor (self->session),
                                  g_settings_get_double (self->settings, "precision-error-bound") / 100);
  /* The recommendations' texts write latencies as the charts do. */
  sm_advisor_set_latency_unit (sm_session_get_advisor (self->session),
                               (SmLatencyUnit) g_settings_get_enum (self->settings, "latency-unit"));
  /* The rules look at two seconds of history whatever the interval. */
  sm_advisor_set_window (sm_session_get_advisor (self->session),
                         MAX (2, 2000 / g_settings_get_uint (self->settings, "refresh-interval")));
}

static gboolean
apply_retention_cb (gpointer user_data)
{
  SmApplication *self = user_data;

  self->retention_timeout = 0;
  sm_session_apply_retention (self->session, g_settings_get_uint (self->settings, "retention-days"),
                              (gint64) g_settings_get_uint (self->settings, "retention-size") * 1024 * 1024);
  return G_SOURCE_REMOVE;
}

/* A spin button changes the limits a step at a time: applied once they
 * rest for a second. */
static void
retention_settings_cb (SmApplication *self)
{
  g_clear_handle_id (&self->retention_timeout, g_source_remove);
  self->retention_timeout = g_timeout_add_seconds (1, apply_retention_cb, self);
}

/* The engine runs for the application's whole life: its node serves peers
 * even while no session is charted. */
static void
start_engine (SmApplication *self)
{
  g_autoptr(GError) error = NULL;

  self->engine = sm_engine_new (SM_POOL_DEFAULT_LIMIT, 2, &error);
  if (self->engine == NULL)
    {
      g_printerr (_("The engine cannot start: %s\n"), error->message);
      return;
    }
  /* At full load the workers (and their spinning for work) take every
   * core; the window's frames come first. */
  sm_engine_set_worker_nice (self->engine, 5);
  {
    g_autofree char *store_path = sm_store_default_path ();

    self->session = sm_session_new (self->engine, store_path);
    if (sm_session_get_store_error (self->session) != NULL)
      g_printerr ("%s\n", sm_session_get_store_error (self->session));
  }
  if (g_strcmp0 (g_getenv ("SYNMESH_STALL_WATCH"), "1") == 0)
    self->stall_watch = sm_stall_watch_new ();
  self->mesh = sm_mesh_controller_new (self->engine, self->settings);
  g_signal_connect_object (self->settings, "changed::refresh-interval", G_CALLBACK (measurement_settings_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->settings, "changed::latency-target", G_CALLBACK (measurement_settings_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->settings, "changed::latency-unit", G_CALLBACK (measurement_settings_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->settings, "changed::precision-error-bound", G_CALLBACK (measurement_settings_cb),
                           self, G_CONNECT_SWAPPED);
  measurement_settings_cb (self);
  g_signal_connect_object (self->settings, "changed::retention-days", G_CALLBACK (retention_settings_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->settings, "changed::retention-size", G_CALLBACK (retention_settings_cb), self,
                           G_CONNECT_SWAPPED);
  apply_retention_cb (self);
}

static void
sm_application_shutdown (GApplication *application)
{
  SmApplication *self = SM_APPLICATION (application);

  if (self->stall_watch != NULL)
    sm_stall_watch_report (self->stall_watch);
  g_clear_pointer (&self->stall_watch, sm_stall_watch_free);

  g_clear_handle_id (&self->retention_timeout, g_source_remove);
  for (guint i = 0; i < G_N_ELEMENTS (self->signal_sources); i++)
    g_clear_handle_id (&self->signal_sources[i], g_source_remove);
  /* The load, the threads working for the session and the node end before
   * the engine whose queries they hold, whoever still holds a reference to
   * them (a page, a task in flight): disposing stops and joins them. */
  if (self->session != NULL)
    g_object_run_dispose (G_OBJECT (self->session));
  if (self->mesh != NULL)
    g_object_run_dispose (G_OBJECT (self->mesh));
  g_clear_object (&self->session);
  g_clear_object (&self->mesh);
  g_clear_pointer (&self->engine, sm_engine_free);

  G_APPLICATION_CLASS (sm_application_parent_class)->shutdown (application);
}

static gboolean
quit_on_signal_cb (gpointer user_data)
{
  g_application_quit (G_APPLICATION (user_data));
  return G_SOURCE_CONTINUE;
}

static void
sm_application_startup (GApplication *application)
{
  SmApplication *self = SM_APPLICATION (application);

  G_APPLICATION_CLASS (sm_application_parent_class)->startup (application);

  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions,
                                   G_N_ELEMENTS (app_actions), self);
  for (guint i = 0; i < G_N_ELEMENTS (app_accels); i++)
    gtk_application_set_accels_for_action (GTK_APPLICATION (self),
                                           app_accels[i].action,
                                           app_accels[i].accels);

  g_signal_connect_object (self->settings, "changed::color-scheme",
                           G_CALLBACK (color_scheme_changed_cb), self,
                           G_CONNECT_SWAPPED);
  color_scheme_changed_cb (self, "color-scheme", self->settings);

  start_engine (self);
}

static void
sm_application_activate (GApplication *application)
{
  SmApplication *self = SM_APPLICATION (application);
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (window == NULL)
    window = GTK_WINDOW (sm_window_new (self));

  gtk_window_present (window);
  if (self->stall_watch != NULL && !self->frames_watched)
    {
      sm_stall_watch_add_frame_clock (self->stall_watch, gtk_widget_get_frame_clock (GTK_WIDGET (window)));
      self->frames_watched = TRUE;
    }
  if (self->load_rate > 0 && self->session != NULL)
    sm_session_start (self->session, self->load_rate);
}

/* --load=RATE starts the workload at once: demos, screenshots, tests. */
static int
sm_application_handle_local_options (GApplication *application,
                                     GVariantDict *options)
{
  SmApplication *self = SM_APPLICATION (application);

  if (g_variant_dict_lookup (options, "load", "d", &self->load_rate) && self->load_rate <= 0)
    {
      g_printerr (_("--load takes a rate above 0 queries per second\n"));
      return 2;
    }
  return -1;
}

static void
sm_application_finalize (GObject *object)
{
  SmApplication *self = SM_APPLICATION (object);

  /* An application that never ran never shut down: its sources go here. */
  for (guint i = 0; i < G_N_ELEMENTS (self->signal_sources); i++)
    g_clear_handle_id (&self->signal_sources[i], g_source_remove);
  g_clear_object (&self->session);
  g_clear_object (&self->mesh);
  g_clear_pointer (&self->engine, sm_engine_free);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (sm_application_parent_class)->finalize (object);
}

static void
sm_application_class_init (SmApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->finalize = sm_application_finalize;

  app_class->startup = sm_application_startup;
  app_class->shutdown = sm_application_shutdown;
  app_class->handle_local_options = sm_application_handle_local_options;
  app_class->activate = sm_application_activate;
}

static void
sm_application_init (SmApplication *self)
{
  const GOptionEntry options[] = {
    { "load", 0, 0, G_OPTION_ARG_DOUBLE, NULL, N_("Start the built-in workload at RATE queries per second"), N_("RATE") },
    { NULL }
  };

  g_application_add_main_option_entries (G_APPLICATION (self), options);
  self->settings = g_settings_new (APP_ID);
  /* Ctrl+C or a polite kill quits as the menu would: the running session
   * is closed and written, not cut off.  From the start, so that a signal
   * during start-up is no different (it is handled once the loop runs). */
  self->signal_sources[0] = g_unix_signal_add (SIGINT, quit_on_signal_cb, self);
  self->signal_sources[1] = g_unix_signal_add (SIGTERM, quit_on_signal_cb, self);
}

SmApplication *
sm_application_new (void)
{
  return g_object_new (SM_TYPE_APPLICATION,
                       "application-id", APP_ID,
                       "flags", G_APPLICATION_DEFAULT_FLAGS,
                       "resource-base-path", RESOURCE_PREFIX,
                       NULL);
}

GSettings *
sm_application_get_settings (SmApplication *self)
{
  g_return_val_if_fail (SM_IS_APPLICATION (self), NULL);

  return self->settings;
}

SmEngine *
sm_application_get_engine (SmApplication *self)
{
  g_return_val_if_fail (SM_IS_APPLICATION (self), NULL);

  return self->engine;
}

SmMeshController *
sm_application_get_mesh_controller (SmApplication *self)
{
  g_return_val_if_fail (SM_IS_APPLICATION (self), NULL);

  return self->mesh;
}

SmSession *
sm_application_get_session (SmApplication *self)
{
  g_return_val_if_fail (SM_IS_APPLICATION (self), NULL);

  return self->session;
}
