/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>
#include <adwaita.h>
#include <glib/gi18n.h>
#include <cairo-svg.h>

#include "sm-chart-axis.h"
#include "sm-chart.h"

struct _SmChart
{
  GtkWidget      parent_instance;

  char          *title;
  char          *unit;
  SmChartView    view;
  SmChartLayout  layout;
  double         window;       /* s; 0: everything */
  gboolean       live;
  double         drag_t0;      /* NaN unless dragging */
  gboolean       zoomed;       /* showing a selection; live_before_zoom to return to */
  gboolean       live_before_zoom;
  GtkWidget     *menu;         /* the axis menu (right click, Shift+F10, Menu) */
};

enum {
  PROP_0,
  PROP_LOG_SCALE,
  PROP_FIXED_AXIS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (SmChart, sm_chart, GTK_TYPE_WIDGET)

enum {
  SERIES_TOGGLED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* The window's end: the newest sample of any series. */
static double
newest_time (SmChart *self)
{
  double newest = NAN;

  for (guint s = 0; s < self->view.n_series; s++)
    {
      double t = sm_chart_series_get_last_time (self->view.series[s]);

      if (!isnan (t) && (isnan (newest) || t > newest))
        newest = t;
    }
  return newest;
}

static void
follow (SmChart *self)
{
  double newest = newest_time (self);

  if (!self->live || isnan (newest))
    return;
  self->view.t1 = MAX (newest, self->window > 0 ? self->window : 1);
  self->view.t0 = self->window > 0 ? self->view.t1 - self->window : 0;
}

/* Says what the crosshair is on, for people who cannot see it. */
static void
announce_crosshair (SmChart *self)
{
  g_autoptr(GString) text = g_string_new (NULL);
  g_autofree char *at = sm_chart_format_time (self->view.hover_t);
  double t0, t1;

  g_string_append (text, at);
  for (guint s = 0; s < self->view.n_series; s++)
    {
      g_autofree char *value = NULL;

      if (self->view.hidden[s])
        continue;
      value = sm_chart_format_value (sm_chart_series_value_at (self->view.series[s], self->view.hover_t), self->unit);
      g_string_append_printf (text, ", %s %s", sm_chart_series_get_name (self->view.series[s]), value);
    }
  if (sm_chart_get_selection (self, &t0, &t1))
    {
      g_autofree char *from = sm_chart_format_time (t0);
      g_autofree char *to = sm_chart_format_time (t1);

      g_string_append_printf (text, _("; selected %s to %s"), from, to);
    }
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, text->str, -1);
}

/* What a screen reader says: the title and each series' newest value, or
 * what the crosshair is on. */
static void
update_description (SmChart *self)
{
  g_autoptr(GString) text = NULL;

  if (!isnan (self->view.hover_t))
    {
      announce_crosshair (self);
      return;
    }
  text = g_string_new (NULL);
  for (guint s = 0; s < self->view.n_series; s++)
    {
      SmChartSeries *series = self->view.series[s];
      g_autofree char *value = sm_chart_format_value (
        sm_chart_series_value_at (series, sm_chart_series_get_last_time (series)), self->unit);

      if (self->view.hidden[s])
        continue;
      g_string_append_printf (text, "%s%s %s", text->len > 0 ? ", " : "", sm_chart_series_get_name (series), value);
    }
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, text->str, -1);
}

static void
sm_chart_snapshot (GtkWidget   *widget,
                   GtkSnapshot *snapshot)
{
  SmChart *self = SM_CHART (widget);
  int width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  cairo_t *cr;

  if (width <= 0 || height <= 0)
    return;
  self->view.dark = adw_style_manager_get_dark (adw_style_manager_get_default ());
  self->view.high_contrast = adw_style_manager_get_high_contrast (adw_style_manager_get_default ());
  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));
  sm_chart_render (cr, width, height, &self->view, &self->layout);
  cairo_destroy (cr);
}

static void
motion_cb (GtkEventControllerMotion *controller,
           double                    x,
           double                    y,
           SmChart                  *self)
{
  gboolean inside = x >= self->layout.plot.x && x <= self->layout.plot.x + self->layout.plot.width
                    && y >= self->layout.plot.y && y <= self->layout.plot.y + self->layout.plot.height;

  self->view.hover_t = inside ? sm_chart_layout_time_at (&self->layout, &self->view, x) : NAN;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
leave_cb (GtkEventControllerMotion *controller,
          SmChart                  *self)
{
  self->view.hover_t = NAN;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
drag_begin_cb (GtkGestureDrag *gesture,
               double          x,
               double          y,
               SmChart        *self)
{
  /* A press on a legend entry toggles its series instead. */
  for (guint s = 0; s < self->view.n_series; s++)
    {
      SmChartRect *r = &self->layout.legend[s];

      if (x >= r->x && x <= r->x + r->width && y >= r->y && y <= r->y + r->height)
        {
          sm_chart_set_series_visible (self, s, self->view.hidden[s]);
          g_signal_emit (self, signals[SERIES_TOGGLED], 0, s, !self->view.hidden[s]);
          gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_DENIED);
          return;
        }
    }
  gtk_widget_grab_focus (GTK_WIDGET (self));
  self->drag_t0 = sm_chart_layout_time_at (&self->layout, &self->view, x);
  self->view.select_t0 = self->view.select_t1 = NAN;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
drag_update_cb (GtkGestureDrag *gesture,
                double          dx,
                double          dy,
                SmChart        *self)
{
  double x, y;

  if (isnan (self->drag_t0) || !gtk_gesture_drag_get_start_point (gesture, &x, &y) || fabs (dx) < 3)
    return;
  self->view.select_t0 = self->drag_t0;
  self->view.select_t1 = sm_chart_layout_time_at (&self->layout, &self->view, x + dx);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
drag_end_cb (GtkGestureDrag *gesture,
             double          dx,
             double          dy,
             SmChart        *self)
{
  self->drag_t0 = NAN;
}

/* ---- the keyboard: a crosshair and a selection without a pointer ---- */

/* Moves the crosshair to @t (within the view); with @extend the selection
 * runs from where it was anchored to there. */
static void
move_crosshair (SmChart  *self,
                double    t,
                gboolean  extend)
{
  double from = isnan (self->view.hover_t) ? self->view.t1 : self->view.hover_t;

  t = CLAMP (t, self->view.t0, self->view.t1);
  if (extend)
    {
      if (isnan (self->view.select_t0))
        self->view.select_t0 = from;
      self->view.select_t1 = t;
    }
  self->view.hover_t = t;
  announce_crosshair (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* "chart.step" (i): hundredths of the view; "chart.extend" (i) the same,
 * growing the selection. */
static void
step_action_cb (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  SmChart *self = SM_CHART (widget);
  double from = isnan (self->view.hover_t) ? self->view.t1 : self->view.hover_t;
  double step = (self->view.t1 - self->view.t0) / 100;

  move_crosshair (self, from + g_variant_get_int32 (parameter) * step, g_str_equal (action_name, "chart.extend"));
}

/* "chart.edge" (b): the view's start (FALSE) or end (TRUE). */
static void
edge_action_cb (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  SmChart *self = SM_CHART (widget);

  move_crosshair (self, g_variant_get_boolean (parameter) ? self->view.t1 : self->view.t0, FALSE);
}

static void
clear_action_cb (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  SmChart *self = SM_CHART (widget);

  self->view.hover_t = self->view.select_t0 = self->view.select_t1 = NAN;
  update_description (self);
  gtk_widget_queue_draw (widget);
}

/* "chart.zoom-in" (Enter): the selection fills the view, which stays
 * there as samples come; "chart.zoom-out" (Backspace) goes back. */
static void
zoom_in_action_cb (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  sm_chart_zoom_to_selection (SM_CHART (widget));
}

static void
zoom_out_action_cb (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  sm_chart_zoom_out (SM_CHART (widget));
}

static void
add_step_bindings (GtkWidgetClass *widget_class,
                   guint           key,
                   int             direction)
{
  gtk_widget_class_add_binding_action (widget_class, key, 0, "chart.step", "i", direction);
  gtk_widget_class_add_binding_action (widget_class, key, GDK_CONTROL_MASK, "chart.step", "i", 10 * direction);
  gtk_widget_class_add_binding_action (widget_class, key, GDK_SHIFT_MASK, "chart.extend", "i", direction);
  gtk_widget_class_add_binding_action (widget_class, key, GDK_SHIFT_MASK | GDK_CONTROL_MASK,
                                       "chart.extend", "i", 10 * direction);
}

static void
dark_changed_cb (SmChart *self)
{
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
sm_chart_finalize (GObject *object)
{
  SmChart *self = SM_CHART (object);

  for (guint s = 0; s < self->view.n_series; s++)
    sm_chart_series_free (self->view.series[s]);
  for (guint i = 0; i < self->view.n_markers; i++)
    g_free ((char *) self->view.marker_labels[i]);
  g_free (self->title);
  g_free (self->unit);

  G_OBJECT_CLASS (sm_chart_parent_class)->finalize (object);
}

static void
sm_chart_measure (GtkWidget      *widget,
                  GtkOrientation  orientation,
                  int             for_size,
                  int            *minimum,
                  int            *natural,
                  int            *minimum_baseline,
                  int            *natural_baseline)
{
  *minimum = orientation == GTK_ORIENTATION_HORIZONTAL ? 240 : 140;
  *natural = orientation == GTK_ORIENTATION_HORIZONTAL ? 600 : 220;
}

/* ---- the axis menu: log or linear, automatic or fixed ---- */

static void
sm_chart_set_fixed_axis (SmChart  *self,
                         gboolean  fixed)
{
  if (self->view.fixed_range == fixed)
    return;
  /* Fixed where it is now: the range the view draws, in values. */
  if (fixed)
    {
      int width = MAX (gtk_widget_get_width (GTK_WIDGET (self)), 600);
      int height = MAX (gtk_widget_get_height (GTK_WIDGET (self)), 220);
      cairo_surface_t *surface = cairo_recording_surface_create (CAIRO_CONTENT_COLOR_ALPHA, NULL);
      cairo_t *cr = cairo_create (surface);
      SmChartLayout layout;

      sm_chart_render (cr, width, height, &self->view, &layout);
      cairo_destroy (cr);
      cairo_surface_destroy (surface);
      self->view.y_min = self->view.log_scale ? pow (10, layout.y_lo) : layout.y_lo;
      self->view.y_max = self->view.log_scale ? pow (10, layout.y_hi) : layout.y_hi;
      fixed = self->view.y_max > self->view.y_min;
    }
  self->view.fixed_range = fixed;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FIXED_AXIS]);
}

static void
sm_chart_get_property (GObject    *object,
                       guint       prop_id,
                       GValue     *value,
                       GParamSpec *pspec)
{
  SmChart *self = SM_CHART (object);

  switch (prop_id)
    {
    case PROP_LOG_SCALE:
      g_value_set_boolean (value, self->view.log_scale);
      break;
    case PROP_FIXED_AXIS:
      g_value_set_boolean (value, self->view.fixed_range);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sm_chart_set_property (GObject      *object,
                       guint         prop_id,
                       const GValue *value,
                       GParamSpec   *pspec)
{
  SmChart *self = SM_CHART (object);

  switch (prop_id)
    {
    case PROP_LOG_SCALE:
      sm_chart_set_log_scale (self, g_value_get_boolean (value));
      break;
    case PROP_FIXED_AXIS:
      sm_chart_set_fixed_axis (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
popup_menu (SmChart *self,
            double   x,
            double   y)
{
  if (self->menu == NULL)
    {
      g_autoptr(GMenu) model = g_menu_new ();

      g_menu_append (model, _("_Logarithmic Scale"), "chart.log-scale");
      g_menu_append (model, _("_Fixed Vertical Axis"), "chart.fixed-axis");
      self->menu = gtk_popover_menu_new_from_model (G_MENU_MODEL (model));
      gtk_popover_set_has_arrow (GTK_POPOVER (self->menu), FALSE);
      gtk_widget_set_halign (self->menu, GTK_ALIGN_START);
      gtk_widget_set_parent (self->menu, GTK_WIDGET (self));
    }
  gtk_popover_set_pointing_to (GTK_POPOVER (self->menu), &(GdkRectangle) { (int) x, (int) y, 1, 1 });
  gtk_popover_popup (GTK_POPOVER (self->menu));
}

static void
menu_action_cb (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  SmChart *self = SM_CHART (widget);

  /* From the keyboard: at the crosshair, or the plot's corner. */
  popup_menu (self, isnan (self->view.hover_t) ? self->layout.plot.x + 8
                                                 : self->layout.plot.x + (self->view.hover_t - self->view.t0)
                                                   / MAX (self->view.t1 - self->view.t0, 1e-9) * self->layout.plot.width,
              self->layout.plot.y + 8);
}

static void
secondary_click_cb (GtkGestureClick *gesture,
                    int              n_press,
                    double           x,
                    double           y,
                    SmChart         *self)
{
  popup_menu (self, x, y);
}

static void
sm_chart_size_allocate (GtkWidget *widget,
                        int        width,
                        int        height,
                        int        baseline)
{
  SmChart *self = SM_CHART (widget);

  if (self->menu != NULL)
    gtk_popover_present (GTK_POPOVER (self->menu));
}

static void
sm_chart_dispose (GObject *object)
{
  SmChart *self = SM_CHART (object);

  g_clear_pointer (&self->menu, gtk_widget_unparent);
  G_OBJECT_CLASS (sm_chart_parent_class)->dispose (object);
}

static void
sm_chart_class_init (SmChartClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = sm_chart_finalize;
  object_class->dispose = sm_chart_dispose;
  object_class->get_property = sm_chart_get_property;
  object_class->set_property = sm_chart_set_property;
  widget_class->snapshot = sm_chart_snapshot;
  widget_class->measure = sm_chart_measure;
  widget_class->size_allocate = sm_chart_size_allocate;

  /**
   * SmChart:log-scale:
   *
   * Whether the vertical axis is logarithmic (the axis menu toggles it).
   */
  properties[PROP_LOG_SCALE] =
    g_param_spec_boolean ("log-scale", NULL, NULL, FALSE,
                          (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  /**
   * SmChart:fixed-axis:
   *
   * Whether the vertical axis stays where it was when this was turned on,
   * instead of following the data shown.
   */
  properties[PROP_FIXED_AXIS] =
    g_param_spec_boolean ("fixed-axis", NULL, NULL, FALSE,
                          (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  g_object_class_install_properties (object_class, N_PROPS, properties);
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);

  /**
   * SmChart::series-toggled:
   * @index: the series
   * @visible: whether it is shown now
   *
   * A click on the legend showed or hid a series.
   */
  signals[SERIES_TOGGLED] = g_signal_new ("series-toggled", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                          NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_BOOLEAN);

  gtk_widget_class_install_action (widget_class, "chart.step", "i", step_action_cb);
  gtk_widget_class_install_action (widget_class, "chart.extend", "i", step_action_cb);
  gtk_widget_class_install_action (widget_class, "chart.edge", "b", edge_action_cb);
  gtk_widget_class_install_action (widget_class, "chart.clear", NULL, clear_action_cb);
  gtk_widget_class_install_action (widget_class, "chart.zoom-in", NULL, zoom_in_action_cb);
  gtk_widget_class_install_action (widget_class, "chart.zoom-out", NULL, zoom_out_action_cb);
  gtk_widget_class_install_property_action (widget_class, "chart.log-scale", "log-scale");
  gtk_widget_class_install_property_action (widget_class, "chart.fixed-axis", "fixed-axis");
  gtk_widget_class_install_action (widget_class, "chart.menu", NULL, menu_action_cb);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F10, GDK_SHIFT_MASK, "chart.menu", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Menu, 0, "chart.menu", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Return, 0, "chart.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Enter, 0, "chart.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_BackSpace, 0, "chart.zoom-out", NULL);
  add_step_bindings (widget_class, GDK_KEY_Left, -1);
  add_step_bindings (widget_class, GDK_KEY_Right, 1);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Home, 0, "chart.edge", "b", FALSE);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_End, 0, "chart.edge", "b", TRUE);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "chart.clear", NULL);
  gtk_widget_class_set_css_name (widget_class, "chart");
}

static void
sm_chart_init (SmChart *self)
{
  GtkEventController *motion = gtk_event_controller_motion_new ();
  GtkGesture *drag = gtk_gesture_drag_new ();
  GtkGesture *secondary = gtk_gesture_click_new ();

  gtk_widget_set_focusable (GTK_WIDGET (self), TRUE);
  self->live = TRUE;
  self->window = 60;
  self->drag_t0 = NAN;
  sm_chart_view_init (&self->view, "", "", 0, 60);

  g_signal_connect (motion, "motion", G_CALLBACK (motion_cb), self);
  g_signal_connect (motion, "leave", G_CALLBACK (leave_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), motion);
  g_signal_connect (drag, "drag-begin", G_CALLBACK (drag_begin_cb), self);
  g_signal_connect (drag, "drag-update", G_CALLBACK (drag_update_cb), self);
  g_signal_connect (drag, "drag-end", G_CALLBACK (drag_end_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drag));
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (secondary), GDK_BUTTON_SECONDARY);
  g_signal_connect (secondary, "pressed", G_CALLBACK (secondary_click_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (secondary));
  g_signal_connect_object (adw_style_manager_get_default (), "notify::dark", G_CALLBACK (dark_changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (adw_style_manager_get_default (), "notify::high-contrast", G_CALLBACK (dark_changed_cb), self,
                           G_CONNECT_SWAPPED);
}

GtkWidget *
sm_chart_new (const char *title,
              const char *unit)
{
  SmChart *self = g_object_new (SM_TYPE_CHART, NULL);

  self->title = g_strdup (title);
  self->unit = g_strdup (unit);
  self->view.title = self->title;
  self->view.unit = self->unit;
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL, title, -1);
  return GTK_WIDGET (self);
}

guint
sm_chart_add_series (SmChart       *self,
                     SmChartSeries *series,
                     gboolean       dashed)
{
  guint index = self->view.n_series;

  g_return_val_if_fail (index < SM_CHART_MAX_SERIES, 0);
  self->view.series[index] = series;
  self->view.dashed[index] = dashed;
  self->view.n_series++;
  return index;
}

SmChartSeries *
sm_chart_get_series (SmChart *self,
                     guint    index)
{
  g_return_val_if_fail (index < self->view.n_series, NULL);
  return self->view.series[index];
}

guint
sm_chart_get_n_series (SmChart *self)
{
  return self->view.n_series;
}

void
sm_chart_set_series_visible (SmChart  *self,
                             guint     index,
                             gboolean  visible)
{
  g_return_if_fail (index < self->view.n_series);
  self->view.hidden[index] = !visible;
  update_description (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

gboolean
sm_chart_get_series_visible (SmChart *self,
                             guint    index)
{
  g_return_val_if_fail (index < self->view.n_series, FALSE);
  return !self->view.hidden[index];
}

void
sm_chart_set_window (SmChart *self,
                     double   seconds)
{
  self->window = MAX (0, seconds);
  /* A window chosen ends a zoom. */
  self->zoomed = FALSE;
  follow (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
sm_chart_set_live (SmChart  *self,
                   gboolean  live)
{
  self->live = live;
  self->zoomed = FALSE;
  follow (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

gboolean
sm_chart_get_live (SmChart *self)
{
  return self->live;
}

gboolean
sm_chart_zoom_to_selection (SmChart *self)
{
  double t0, t1;

  g_return_val_if_fail (SM_IS_CHART (self), FALSE);

  if (!sm_chart_get_selection (self, &t0, &t1) || !(t1 > t0))
    return FALSE;
  if (!self->zoomed)
    self->live_before_zoom = self->live;
  self->zoomed = TRUE;
  self->live = FALSE;
  self->view.t0 = t0;
  self->view.t1 = t1;
  self->view.select_t0 = self->view.select_t1 = NAN;
  update_description (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  return TRUE;
}

void
sm_chart_zoom_out (SmChart *self)
{
  g_return_if_fail (SM_IS_CHART (self));

  if (!self->zoomed)
    return;
  self->zoomed = FALSE;
  self->live = self->live_before_zoom;
  /* Back to the window as it was chosen: following the newest sample,
   * or ending at it when paused. */
  self->view.t1 = MAX (newest_time (self), self->window > 0 ? self->window : 1);
  self->view.t0 = self->window > 0 ? self->view.t1 - self->window : 0;
  update_description (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

gboolean
sm_chart_get_zoomed (SmChart *self)
{
  return self->zoomed;
}

void
sm_chart_set_log_scale (SmChart  *self,
                        gboolean  log_scale)
{
  if (self->view.log_scale == log_scale)
    return;
  self->view.log_scale = log_scale;
  /* A fixed range in one scale means nothing in the other. */
  if (self->view.fixed_range)
    {
      self->view.fixed_range = FALSE;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FIXED_AXIS]);
    }
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOG_SCALE]);
}

void
sm_chart_clear_markers (SmChart *self)
{
  g_return_if_fail (SM_IS_CHART (self));

  for (guint i = 0; i < self->view.n_markers; i++)
    g_free ((char *) self->view.marker_labels[i]);
  self->view.n_markers = 0;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
sm_chart_add_marker (SmChart    *self,
                     double      t,
                     const char *label)
{
  sm_chart_add_series_marker (self, t, -1, label);
}

void
sm_chart_add_series_marker (SmChart    *self,
                            double      t,
                            int         series,
                            const char *label)
{
  SmChartView *view = &self->view;

  /* The oldest give way once the markers are full. */
  if (view->n_markers == SM_CHART_MAX_MARKERS)
    {
      g_free ((char *) view->marker_labels[0]);
      memmove (view->markers, view->markers + 1, (SM_CHART_MAX_MARKERS - 1) * sizeof (double));
      memmove (view->marker_series, view->marker_series + 1, (SM_CHART_MAX_MARKERS - 1) * sizeof (int));
      memmove (view->marker_labels, view->marker_labels + 1, (SM_CHART_MAX_MARKERS - 1) * sizeof (char *));
      view->n_markers--;
    }
  view->markers[view->n_markers] = t;
  view->marker_series[view->n_markers] = series;
  view->marker_labels[view->n_markers++] = g_strdup (label);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

gboolean
sm_chart_get_selection (SmChart *self,
                        double  *t0,
                        double  *t1)
{
  if (isnan (self->view.select_t0) || isnan (self->view.select_t1))
    return FALSE;
  *t0 = MIN (self->view.select_t0, self->view.select_t1);
  *t1 = MAX (self->view.select_t0, self->view.select_t1);
  return TRUE;
}

void
sm_chart_set_selection (SmChart *self,
                        double   t0,
                        double   t1)
{
  self->view.select_t0 = t0;
  self->view.select_t1 = t1;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
sm_chart_samples_added (SmChart *self)
{
  follow (self);
  update_description (self);
  /* Nothing is drawn while the chart is not mapped (a hidden page or
   * window): GTK asks for no snapshot then. */
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

const SmChartView *
sm_chart_get_view (SmChart *self)
{
  return &self->view;
}

gboolean
sm_chart_export (SmChart     *self,
                 const char  *path,
                 int          width,
                 int          height,
                 GError     **error)
{
  SmChartView view = self->view;
  cairo_surface_t *surface;
  cairo_status_t status;
  cairo_t *cr;
  gboolean svg = g_str_has_suffix (path, ".svg");

  /* An export is for sharing: light colours, no crosshair. */
  view.dark = FALSE;
  view.hover_t = NAN;
  surface = svg ? cairo_svg_surface_create (path, width, height)
                : cairo_image_surface_create (CAIRO_FORMAT_RGB24, width, height);
  cr = cairo_create (surface);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);
  sm_chart_render (cr, width, height, &view, NULL);
  cairo_destroy (cr);
  if (svg)
    {
      cairo_surface_finish (surface);
      status = cairo_surface_status (surface);
    }
  else
    status = cairo_surface_write_to_png (surface, path);
  cairo_surface_destroy (surface);

  if (status != CAIRO_STATUS_SUCCESS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "Cannot write %s: %s", path, cairo_status_to_string (status));
      return FALSE;
    }
  return TRUE;
}
