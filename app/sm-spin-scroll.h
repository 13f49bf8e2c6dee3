/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* A spin button takes the mouse wheel: a page scrolled over one changes a
 * knob on the way (issue 17, defect 7: the load rate changed as the
 * dashboard scrolled).  Under @root, each spin button takes the wheel only
 * while it has the keyboard focus (the user clicked into it); otherwise
 * the wheel scrolls the page it sits in, as everywhere else on it. */
void  sm_spin_scroll_guard (GtkWidget *root);

G_END_DECLS
