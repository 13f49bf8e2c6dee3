/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "sm-mesh-controller.h"
#include "sm-session.h"

G_BEGIN_DECLS

#define SM_TYPE_APPLICATION (sm_application_get_type ())

G_DECLARE_FINAL_TYPE (SmApplication, sm_application, SM, APPLICATION, AdwApplication)

SmApplication *sm_application_new          (void);
GSettings     *sm_application_get_settings (SmApplication *self);
/* The engine and the mesh node, made at startup; NULL before, or when the
 * engine could not start (the reason was shown). */
SmEngine      *sm_application_get_engine   (SmApplication *self);
SmMeshController *sm_application_get_mesh_controller (SmApplication *self);
SmSession     *sm_application_get_session  (SmApplication *self);

G_END_DECLS
