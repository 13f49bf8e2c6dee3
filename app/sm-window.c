/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "sm-chart-axis.h"
#include "sm-chart.h"
#include "sm-dashboard.h"
#include "sm-dialogs.h"
#include "sm-mesh-page.h"
#include "sm-recommendations-page.h"
#include "sm-sessions-page.h"
#include "sm-window.h"

struct _SmWindow
{
  AdwApplicationWindow  parent_instance;

  /* Template widgets */
  AdwViewStack         *stack;
  AdwToastOverlay      *toast_overlay;
  SmDashboard          *dashboard;
  SmRecommendationsPage *recommendations_page;
  SmMeshPage           *mesh_page;
  SmSessionsPage       *sessions_page;

  /* Borrowed: the application's; the pages bind to it in the template. */
  SmSession            *session;

  /* Owned */
  GSettings            *settings;
};

enum {
  PROP_0,
  PROP_SESSION,
  PROP_VISIBLE_PAGE,
  N_PROPS
};

G_DEFINE_FINAL_TYPE (SmWindow, sm_window, ADW_TYPE_APPLICATION_WINDOW)

static GParamSpec *properties[N_PROPS];

/* The pages in switcher order; Alt+1 … Alt+4 follow it. */
static const char * const page_names[] = {
  "dashboard", "recommendations", "mesh", "sessions",
};

static void
stack_visible_child_cb (SmWindow *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VISIBLE_PAGE]);
}

static void
show_page_action_cb (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  sm_window_set_visible_page (SM_WINDOW (widget), g_variant_get_string (parameter, NULL));
}

/* The whole text of a message a toast could show only the start of. */
static void
show_message_action_cb (GtkWidget  *widget,
                        const char *action_name,
                        GVariant   *parameter)
{
  const char *heading, *body;
  SmAlert *alert;

  g_variant_get (parameter, "(&s&s)", &heading, &body);
  alert = sm_alert_new (heading, body);
  sm_alert_add_responses (alert, "close", _("_Close"), NULL);
  sm_alert_set_default_response (alert, "close");
  sm_alert_set_close_response (alert, "close");
  sm_dialog_present (alert, widget);
}

static void
save_window_state (SmWindow *self)
{
  int width, height;

  /* The default size tracks the unmaximized size, which is the one to
   * restore; a maximized window is remembered by its flag alone. */
  gtk_window_get_default_size (GTK_WINDOW (self), &width, &height);
  g_settings_delay (self->settings);
  g_settings_set_int (self->settings, "window-width", width);
  g_settings_set_int (self->settings, "window-height", height);
  g_settings_set_boolean (self->settings, "window-maximized",
                          gtk_window_is_maximized (GTK_WINDOW (self)));
  g_settings_set_string (self->settings, "last-page", sm_window_get_visible_page (self));
  g_settings_apply (self->settings);
}

static gboolean
sm_window_close_request (GtkWindow *window)
{
  save_window_state (SM_WINDOW (window));

  return GTK_WINDOW_CLASS (sm_window_parent_class)->close_request (window);
}

/* A new recommendation: a toast, with a button to the page (not again
 * when it only fired again while open). */
static void
recommendation_cb (SmSession              *session,
                   const SmRecommendation *rec,
                   gboolean                outcome,
                   SmWindow               *self)
{
  g_autofree char *title = NULL;
  AdwToast *toast;

  if (outcome || rec->repeats > 0)
    return;
  title = g_strdup_printf (_("Recommendation: %s"), rec->title);
  toast = adw_toast_new (title);
  adw_toast_set_button_label (toast, _("_Show"));
  adw_toast_set_action_name (toast, "win.show-page");
  adw_toast_set_action_target_value (toast, g_variant_new_string ("recommendations"));
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

/* A knob changed: a marker on the charts, or the reason it could not. */
static void
knob_changed_cb (SmSession  *session,
                 double      t,
                 const char *what,
                 gboolean    ok,
                 SmWindow   *self)
{
  g_autofree char *failed = NULL;
  AdwToast *toast;

  if (ok)
    {
      sm_dashboard_add_marker (self->dashboard, t, what);
      return;
    }
  /* A toast has one line: the reason, often longer (a GPU's), is a
   * click away whole. */
  failed = g_strdup_printf (_("Not changed: %s"), what);
  toast = adw_toast_new (failed);
  adw_toast_set_button_label (toast, _("_Details"));
  adw_toast_set_action_name (toast, "win.show-message");
  adw_toast_set_action_target_value (toast, g_variant_new ("(ss)", _("Not changed"), what));
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

/* Old sessions thinned or deleted by the retention preferences. */
static void
store_pruned_cb (SmSession *session,
                 guint      thinned,
                 guint      deleted,
                 SmWindow  *self)
{
  g_autofree char *title = g_strdup_printf (_("Retention: %u old sessions thinned, %u deleted"), thinned, deleted);

  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (title));
}

/* The pages follow through their "session" bindings (sm-window.ui). */
static void
set_session (SmWindow  *self,
             SmSession *session)
{
  if (self->session == session)
    return;
  if (sm_session_watch (&self->session, session, self))
    {
      g_signal_connect (session, "recommendation", G_CALLBACK (recommendation_cb), self);
      g_signal_connect (session, "knob-changed", G_CALLBACK (knob_changed_cb), self);
      g_signal_connect (session, "store-pruned", G_CALLBACK (store_pruned_cb), self);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SESSION]);
}

/* The pages show what the application runs; a window without one (in
 * tests) shows them idle.  ("application" is set after construction.) */
static void
application_changed_cb (SmWindow *self)
{
  GtkApplication *application = gtk_window_get_application (GTK_WINDOW (self));
  SmApplication *app = SM_IS_APPLICATION (application) ? SM_APPLICATION (application) : NULL;

  set_session (self, app != NULL ? sm_application_get_session (app) : NULL);
  sm_mesh_page_set_controller (self->mesh_page, app != NULL ? sm_application_get_mesh_controller (app) : NULL);
}

static void
sm_window_dispose (GObject *object)
{
  SmWindow *self = SM_WINDOW (object);

  set_session (self, NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), SM_TYPE_WINDOW);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (sm_window_parent_class)->dispose (object);
}

static void
sm_window_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  SmWindow *self = SM_WINDOW (object);

  switch (prop_id)
    {
    case PROP_SESSION:
      g_value_set_object (value, self->session);
      break;

    case PROP_VISIBLE_PAGE:
      g_value_set_string (value, sm_window_get_visible_page (self));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sm_window_set_property (GObject      *object,
                        guint         prop_id,
                        const GValue *value,
                        GParamSpec   *pspec)
{
  SmWindow *self = SM_WINDOW (object);

  switch (prop_id)
    {
    case PROP_VISIBLE_PAGE:
      sm_window_set_visible_page (self, g_value_get_string (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sm_window_class_init (SmWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = sm_window_dispose;
  object_class->get_property = sm_window_get_property;
  object_class->set_property = sm_window_set_property;

  window_class->close_request = sm_window_close_request;

  /**
   * SmWindow:session:
   *
   * The application's session, which every page shows; %NULL in a window
   * without an SmApplication (tests).
   */
  properties[PROP_SESSION] =
    g_param_spec_object ("session", NULL, NULL,
                         SM_TYPE_SESSION,
                         (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * SmWindow:visible-page:
   *
   * The name of the page shown: "dashboard", "recommendations", "mesh" or
   * "sessions".
   */
  properties[PROP_VISIBLE_PAGE] =
    g_param_spec_string ("visible-page", NULL, NULL,
                         "dashboard",
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (SM_TYPE_DASHBOARD);
  g_type_ensure (SM_TYPE_RECOMMENDATIONS_PAGE);
  g_type_ensure (SM_TYPE_SESSIONS_PAGE);
  g_type_ensure (SM_TYPE_MESH_PAGE);
  gtk_widget_class_set_template_from_resource (widget_class, RESOURCE_PREFIX "/ui/sm-window.ui");
  gtk_widget_class_bind_template_child (widget_class, SmWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, SmWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, SmWindow, dashboard);
  gtk_widget_class_bind_template_child (widget_class, SmWindow, recommendations_page);
  gtk_widget_class_bind_template_child (widget_class, SmWindow, mesh_page);
  gtk_widget_class_bind_template_child (widget_class, SmWindow, sessions_page);
  gtk_widget_class_bind_template_callback (widget_class, stack_visible_child_cb);

  gtk_widget_class_install_action (widget_class, "win.show-page", "s", show_page_action_cb);
  gtk_widget_class_install_action (widget_class, "win.show-message", "(ss)", show_message_action_cb);
  for (guint i = 0; i < G_N_ELEMENTS (page_names); i++)
    gtk_widget_class_add_binding_action (widget_class, GDK_KEY_1 + i, GDK_ALT_MASK,
                                         "win.show-page", "s", page_names[i]);
}

static void
history_settings_cb (SmWindow *self)
{
  sm_dashboard_set_history (self->dashboard, 60 * g_settings_get_uint (self->settings, "history-length"),
                            g_settings_get_uint (self->settings, "refresh-interval"));
}

static void
redraw_charts (GtkWidget *widget)
{
  if (SM_IS_CHART (widget))
    gtk_widget_queue_draw (widget);
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    redraw_charts (child);
}

/* One unit for latencies everywhere they are written. */
static void
latency_unit_cb (SmWindow *self)
{
  sm_chart_set_time_unit (g_settings_get_enum (self->settings, "latency-unit"));
  redraw_charts (GTK_WIDGET (self));
}

/* One palette for every chart, as people choose it. */
static void
chart_palette_cb (SmWindow *self)
{
  sm_chart_set_palette (g_settings_get_enum (self->settings, "chart-palette"));
  redraw_charts (GTK_WIDGET (self));
}

static void
sm_window_init (SmWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  g_signal_connect (self, "notify::application", G_CALLBACK (application_changed_cb), NULL);

  self->settings = g_settings_new (APP_ID);
  gtk_window_set_default_size (GTK_WINDOW (self),
                               g_settings_get_int (self->settings, "window-width"),
                               g_settings_get_int (self->settings, "window-height"));
  if (g_settings_get_boolean (self->settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));
  {
    g_autofree char *page = g_settings_get_string (self->settings, "last-page");

    adw_view_stack_set_visible_child_name (self->stack, page);
  }
  g_signal_connect_object (self->settings, "changed::history-length", G_CALLBACK (history_settings_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->settings, "changed::refresh-interval", G_CALLBACK (history_settings_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->settings, "changed::latency-unit", G_CALLBACK (latency_unit_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->settings, "changed::chart-palette", G_CALLBACK (chart_palette_cb), self,
                           G_CONNECT_SWAPPED);
  history_settings_cb (self);
  latency_unit_cb (self);
  chart_palette_cb (self);
}

SmWindow *
sm_window_new (SmApplication *application)
{
  return g_object_new (SM_TYPE_WINDOW,
                       "application", application,
                       NULL);
}

const char *
sm_window_get_visible_page (SmWindow *self)
{
  g_return_val_if_fail (SM_IS_WINDOW (self), NULL);

  return adw_view_stack_get_visible_child_name (self->stack);
}

void
sm_window_set_visible_page (SmWindow   *self,
                            const char *page_name)
{
  g_return_if_fail (SM_IS_WINDOW (self));
  g_return_if_fail (page_name != NULL);

  if (adw_view_stack_get_child_by_name (self->stack, page_name) == NULL)
    {
      g_warning ("SmWindow has no page named '%s'", page_name);
      return;
    }

  adw_view_stack_set_visible_child_name (self->stack, page_name);
}
