/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "sm-session.h"

G_BEGIN_DECLS

/* The engine's knobs beside the charts: kernels, worker threads, batch
 * size and wait, result cache, pool limit, consensus; the model (a preset
 * or a .safetensors file); the workload's arrivals and mix of domains.  Changes apply live, off the main thread, and show as
 * markers on the charts. */

#define SM_TYPE_TUNING_PANEL (sm_tuning_panel_get_type ())

G_DECLARE_FINAL_TYPE (SmTuningPanel, sm_tuning_panel, SM, TUNING_PANEL, AdwBin)

GtkWidget *sm_tuning_panel_new         (void);
SmSession *sm_tuning_panel_get_session (SmTuningPanel *self);
void       sm_tuning_panel_set_session (SmTuningPanel *self,
                                        SmSession     *session);

G_END_DECLS
