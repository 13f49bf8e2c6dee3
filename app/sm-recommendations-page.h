/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "sm-session.h"

G_BEGIN_DECLS

/* The Recommendations page: the advisor's recommendations as they fire,
 * newest first, each with its severity, the evidence, the change and its
 * expected effect, Apply and Dismiss; once applied, the measured outcome,
 * and Revert when it made things worse. */

#define SM_TYPE_RECOMMENDATIONS_PAGE (sm_recommendations_page_get_type ())

G_DECLARE_FINAL_TYPE (SmRecommendationsPage, sm_recommendations_page, SM, RECOMMENDATIONS_PAGE, AdwBin)

GtkWidget *sm_recommendations_page_new         (void);
SmSession *sm_recommendations_page_get_session (SmRecommendationsPage *self);
void       sm_recommendations_page_set_session (SmRecommendationsPage *self,
                                                SmSession             *session);
guint      sm_recommendations_page_get_n_rows  (SmRecommendationsPage *self);

G_END_DECLS
