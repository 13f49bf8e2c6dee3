/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>

#include "sm-spin-scroll.h"

/* Runs in the capture phase, before the spin button's own handler, which
 * it stops unless the spin button has the focus. */
static gboolean
scroll_cb (GtkEventControllerScroll *controller,
           double                    dx,
           double                    dy,
           gpointer                  user_data)
{
  GtkWidget *spin = gtk_event_controller_get_widget (GTK_EVENT_CONTROLLER (controller));
  GtkWidget *scrolled;

  if (gtk_widget_get_state_flags (spin) & GTK_STATE_FLAG_FOCUS_WITHIN)
    return FALSE;

  scrolled = gtk_widget_get_ancestor (spin, GTK_TYPE_SCROLLED_WINDOW);
  if (scrolled != NULL)
    {
      GtkAdjustment *adjustment = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (scrolled));
      /* The step GtkScrolledWindow takes per wheel unit. */
      double step = pow (gtk_adjustment_get_page_size (adjustment), 2.0 / 3.0);

      gtk_adjustment_set_value (adjustment, gtk_adjustment_get_value (adjustment) + dy * step);
    }
  return TRUE;
}

#define GUARD_NAME "sm-spin-scroll-guard"

static gboolean
is_guarded (GtkWidget *spin)
{
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (spin);

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GtkEventController) controller = g_list_model_get_item (controllers, i);

      if (g_strcmp0 (gtk_event_controller_get_name (controller), GUARD_NAME) == 0)
        return TRUE;
    }
  return FALSE;
}

void
sm_spin_scroll_guard (GtkWidget *root)
{
  if (GTK_IS_SPIN_BUTTON (root))
    {
      GtkEventController *controller;

      /* A page inside another guards its spin buttons once. */
      if (is_guarded (root))
        return;
      controller = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_VERTICAL);

      gtk_event_controller_set_name (controller, GUARD_NAME);
      gtk_event_controller_set_propagation_phase (controller, GTK_PHASE_CAPTURE);
      g_signal_connect (controller, "scroll", G_CALLBACK (scroll_cb), NULL);
      gtk_widget_add_controller (root, controller);
      return;
    }
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL; child = gtk_widget_get_next_sibling (child))
    sm_spin_scroll_guard (child);
}
