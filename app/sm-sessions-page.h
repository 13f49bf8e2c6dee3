/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "sm-session.h"

G_BEGIN_DECLS

/* The Sessions page: the recorded runs (name, date, duration, model,
 * samples), read off the main thread; open one to replay its charts
 * (SmSessionReplay; Escape goes back), rename one, select two to compare
 * them (SmSessionComparison), export one as CSV or JSON (a file chooser,
 * written on a thread), delete it (an Undo toast; deleted when the toast
 * goes). */

#define SM_TYPE_SESSIONS_PAGE (sm_sessions_page_get_type ())

G_DECLARE_FINAL_TYPE (SmSessionsPage, sm_sessions_page, SM, SESSIONS_PAGE, AdwBin)

GtkWidget *sm_sessions_page_new              (void);
SmSession *sm_sessions_page_get_session      (SmSessionsPage *self);
void       sm_sessions_page_set_session      (SmSessionsPage *self,
                                              SmSession      *session);
/* Reads the list again (it is read when the page is shown). */
void       sm_sessions_page_refresh          (SmSessionsPage *self);
guint      sm_sessions_page_get_n_sessions   (SmSessionsPage *self);
/* What the Export menu does once a file is chosen: writes @id as @format
 * ("csv" or "json") to @path on a thread, with a progress bar and Cancel
 * under the page, then a toast and "exported".  FALSE when it could not
 * start (no such session, or an export is already running). */
gboolean   sm_sessions_page_export           (SmSessionsPage *self,
                                              gint64          id,
                                              const char     *format,
                                              const char     *path);
/* Saves the report (a PDF) of the session replayed now at @path, then a
 * toast and "exported".  FALSE when none is replayed or one is being
 * saved or exported. */
gboolean   sm_sessions_page_report           (SmSessionsPage *self,
                                              const char     *path);

G_END_DECLS
