/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "sm-dialogs.h"

G_BEGIN_DECLS

#define SM_TYPE_PREFERENCES_WINDOW (sm_preferences_window_get_type ())

/* An AdwPreferencesWindow, or an AdwPreferencesDialog where libadwaita has
 * it (sm-dialogs.h); show it with sm_dialog_present(). */
G_DECLARE_FINAL_TYPE (SmPreferencesWindow, sm_preferences_window, SM, PREFERENCES_WINDOW, SmPreferencesParent)

/* The window edits @settings (the application's GSettings) directly; every
 * change is saved at once, as GNOME preferences are. */
SmPreferencesWindow *sm_preferences_window_new (GSettings *settings);

G_END_DECLS
