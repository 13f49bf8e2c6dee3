/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

/* Dialogs across libadwaita versions.  Debian 12's 1.2 has the window
 * kinds (AdwMessageDialog, AdwAboutWindow, AdwPreferencesWindow); 1.5
 * brought the adaptive AdwDialog kinds and 1.6 deprecated the window ones.
 * The code is written once against the names below and the build picks,
 * so that a build against a current runtime (the Flatpak) has no
 * deprecated calls while Debian 12 still builds. */

#if ADW_CHECK_VERSION (1, 5, 0)
#define SM_ADW_DIALOGS 1

typedef AdwAlertDialog              SmAlert;
typedef AdwPreferencesDialog        SmPreferencesParent;
typedef AdwPreferencesDialogClass   SmPreferencesParentClass;
#define SM_TYPE_PREFERENCES_PARENT  ADW_TYPE_PREFERENCES_DIALOG
#define SM_TYPE_ABOUT               ADW_TYPE_ABOUT_DIALOG
#define SM_TYPE_ALERT               ADW_TYPE_ALERT_DIALOG

#define sm_alert_set_extra_child          adw_alert_dialog_set_extra_child
#define sm_alert_add_responses            adw_alert_dialog_add_responses
#define sm_alert_set_response_appearance  adw_alert_dialog_set_response_appearance
#define sm_alert_set_default_response     adw_alert_dialog_set_default_response
#define sm_alert_set_close_response       adw_alert_dialog_set_close_response
#define sm_alert_get_body                 adw_alert_dialog_get_body

static inline SmAlert *
sm_alert_new (const char *heading,
              const char *body)
{
  return ADW_ALERT_DIALOG (adw_alert_dialog_new (heading, body));
}

/* Over the window that holds @child. */
static inline void
sm_dialog_present (gpointer   dialog,
                   GtkWidget *child)
{
  adw_dialog_present (ADW_DIALOG (dialog), child);
}

#else
#define SM_ADW_DIALOGS 0

typedef AdwMessageDialog            SmAlert;
typedef AdwPreferencesWindow        SmPreferencesParent;
typedef AdwPreferencesWindowClass   SmPreferencesParentClass;
#define SM_TYPE_PREFERENCES_PARENT  ADW_TYPE_PREFERENCES_WINDOW
#define SM_TYPE_ABOUT               ADW_TYPE_ABOUT_WINDOW
#define SM_TYPE_ALERT               ADW_TYPE_MESSAGE_DIALOG

#define sm_alert_set_extra_child          adw_message_dialog_set_extra_child
#define sm_alert_add_responses            adw_message_dialog_add_responses
#define sm_alert_set_response_appearance  adw_message_dialog_set_response_appearance
#define sm_alert_set_default_response     adw_message_dialog_set_default_response
#define sm_alert_set_close_response       adw_message_dialog_set_close_response
#define sm_alert_get_body                 adw_message_dialog_get_body

static inline SmAlert *
sm_alert_new (const char *heading,
              const char *body)
{
  return ADW_MESSAGE_DIALOG (adw_message_dialog_new (NULL, heading, body));
}

/* A modal window over the window that holds @child. */
static inline void
sm_dialog_present (gpointer   dialog,
                   GtkWidget *child)
{
  GtkRoot *root = child != NULL ? gtk_widget_get_root (child) : NULL;

  gtk_window_set_transient_for (GTK_WINDOW (dialog), GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL);
  gtk_window_set_modal (GTK_WINDOW (dialog), TRUE);
  gtk_window_present (GTK_WINDOW (dialog));
}
#endif

/* G_DECLARE_FINAL_TYPE needs its parent's cleanup, under the alias too. */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SmPreferencesParent, g_object_unref)

G_END_DECLS
