/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "sm-application.h"

G_BEGIN_DECLS

#define SM_TYPE_WINDOW (sm_window_get_type ())

G_DECLARE_FINAL_TYPE (SmWindow, sm_window, SM, WINDOW, AdwApplicationWindow)

SmWindow   *sm_window_new              (SmApplication *application);
const char *sm_window_get_visible_page (SmWindow      *self);
void        sm_window_set_visible_page (SmWindow      *self,
                                        const char    *page_name);

G_END_DECLS
