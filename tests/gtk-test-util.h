/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Finding widgets in a page the way a person would: by a row's title or a
 * widget's kind. */

#include <adwaita.h>
#include <glib/gstdio.h>

#include "sm-dialogs.h"

/* The first AdwPreferencesRow titled @title under @widget, or NULL. */
static inline GtkWidget *
find_row (GtkWidget  *widget,
          const char *title)
{
  if (ADW_IS_PREFERENCES_ROW (widget)
      && g_strcmp0 (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (widget)), title) == 0)
    return widget;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL; child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *row = find_row (child, title);

      if (row != NULL)
        return row;
    }
  return NULL;
}

static inline GtkWidget *
find_type (GtkWidget *widget,
           GType      type)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (widget, type))
    return widget;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL; child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_type (child, type);

      if (found != NULL)
        return found;
    }
  return NULL;
}


/* Every widget of @type under @widget, in order. */
static inline void
collect_type (GtkWidget *widget,
              GType      type,
              GPtrArray *found)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (widget, type))
    g_ptr_array_add (found, widget);
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL; child = gtk_widget_get_next_sibling (child))
    collect_type (child, type, found);
}

/* Dialogs, whichever kind this libadwaita has (app/sm-dialogs.h): on 1.2
 * an alert is a window of its own, from 1.5 a widget in its parent's
 * window (or in a window made for it).  Either way it is found under
 * some toplevel. */

/* A shown widget of @type, a toplevel or inside one, or NULL. */
static inline GtkWidget *
find_shown (GType type)
{
  GListModel *toplevels = gtk_window_get_toplevels ();   /* not ours */

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GtkWidget) window = g_list_model_get_item (toplevels, i);
      GtkWidget *found = gtk_widget_get_visible (window) ? find_type (window, type) : NULL;

      if (found != NULL && gtk_widget_get_mapped (found))
        return found;
    }
  return NULL;
}

/* An alert shown whose body holds @text (NULL: any), once the main loop has
 * run enough to show it. */
static inline SmAlert *
find_dialog (const char *text)
{
  for (guint tries = 0; tries < 100; tries++)
    {
      GListModel *toplevels = gtk_window_get_toplevels ();   /* not ours */

      for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
        {
          g_autoptr(GtkWidget) window = g_list_model_get_item (toplevels, i);
          g_autoptr(GPtrArray) alerts = g_ptr_array_new ();

          collect_type (window, SM_TYPE_ALERT, alerts);
          for (guint k = 0; k < alerts->len; k++)
            {
              SmAlert *alert = g_ptr_array_index (alerts, k);

              if (gtk_widget_get_mapped (GTK_WIDGET (alert))
                  && (text == NULL || g_strrstr (sm_alert_get_body (alert) ?: "", text) != NULL))
                return alert;
            }
        }
      g_main_context_iteration (NULL, FALSE);
      g_usleep (2000);
    }
  g_error ("no dialog opened");
}

/* Presses the button labelled @label (with its mnemonic: "_Add") in
 * @dialog, as a person would; the dialog answers and closes. */
static inline void
press_dialog_button (gpointer    dialog,
                     const char *label)
{
  g_autoptr(GPtrArray) buttons = g_ptr_array_new ();

  collect_type (GTK_WIDGET (dialog), GTK_TYPE_BUTTON, buttons);
  for (guint i = 0; i < buttons->len; i++)
    if (g_strcmp0 (gtk_button_get_label (g_ptr_array_index (buttons, i)), label) == 0)
      {
        gtk_widget_activate (g_ptr_array_index (buttons, i));
        return;
      }
  g_error ("no button “%s” in the dialog", label);
}

/* Closes a dialog shown (or only made) as the user's Escape would,
 * without an answer. */
static inline void
close_dialog (gpointer dialog)
{
#if SM_ADW_DIALOGS
  if (gtk_widget_get_parent (GTK_WIDGET (dialog)) != NULL)
    adw_dialog_force_close (ADW_DIALOG (dialog));
  else
    {
      /* Never presented: only its floating reference to drop. */
      g_object_ref_sink (dialog);
      g_object_unref (dialog);
    }
#else
  gtk_window_destroy (GTK_WINDOW (dialog));
#endif
}

/* Lets the main loop run for @ms: work the test started on threads (a
 * list read, a stop) hands its result back through the main loop, and a
 * test that ends before that would leave it, and what it holds, behind. */
static inline void
drain_main_loop (guint ms)
{
  gint64 until = g_get_monotonic_time () + (gint64) ms * 1000;

  while (g_get_monotonic_time () < until)
    {
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (2000);
    }
}

/* Runs the main loop until @done holds, or fails after 20 s: a
 * revealer's transition or a resize takes as many frames as a slow
 * (sanitized, loaded) machine needs, not a fixed time. */
static inline void
wait_until (gboolean (*done) (gpointer data),
            gpointer data)
{
  gint64 until = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  while (!done (data))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, until);
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (1000);
    }
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

/* Removes a test's temporary folder and the files in it. */
static inline void
remove_tmp_dir (const char *dir)
{
  g_autoptr(GDir) listing = g_dir_open (dir, 0, NULL);
  const char *name;

  while (listing != NULL && (name = g_dir_read_name (listing)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      g_unlink (path);
    }
  g_rmdir (dir);
}

#ifdef __SANITIZE_ADDRESS__
/* Runs of the whole load path take minutes under the sanitizers' full
 * unwinding (`make asan` unwinds every allocation so leak reports name
 * their callers): thread dumps of runs that overran their 60 s waits show
 * no lock held, only the main thread still shaping text in harfbuzz, each
 * of its allocations unwinding a deep GTK stack, while the engine loads
 * both cores.  `make test` runs them, the sanitizer run says it skipped. */
static inline void
skip_under_sanitizers (void)
{
  g_test_skip ("too slow under the sanitizers (make test runs it)");
}
#define SANITIZED(test) ((void) (test), skip_under_sanitizers)
#else
#define SANITIZED(test) test
#endif
