/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

/* A search entry for a boxed list of AdwActionRows: a row stays when its
 * title and subtitle hold every word typed (case aside); typing in
 * @capture (the list and what is around it) starts a search.  @nothing is
 * what a line under the entry says when no row is left.  Returns the
 * entry and that line, to be placed above the list. */
GtkWidget *sm_row_filter_new     (GtkListBox *list,
                                  GtkWidget  *capture,
                                  const char *placeholder,
                                  const char *nothing);

/* Whether @row matches @query (pure, for tests and the filter). */
gboolean   sm_row_filter_matches (const char *query,
                                  const char *title,
                                  const char *subtitle);

G_END_DECLS
