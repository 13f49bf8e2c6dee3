/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "sm-engine.h"
#include "sm-node.h"

G_BEGIN_DECLS

/* The application's mesh node: its key and trust from the data folder, its
 * endpoint, peers and discovery from GSettings ("mesh-bind", "mesh-peers",
 * "mesh-discovery").  Changing them restarts the node (its trust list is fixed while it runs);
 * "changed" tells the Mesh page to look again. */

#define SM_TYPE_MESH_CONTROLLER (sm_mesh_controller_get_type ())

G_DECLARE_FINAL_TYPE (SmMeshController, sm_mesh_controller, SM, MESH_CONTROLLER, GObject)

/* @engine must outlive the controller. */
SmMeshController *sm_mesh_controller_new             (SmEngine         *engine,
                                                      GSettings        *settings);

/* The running node, or NULL with the reason in get_error(). */
SmNode           *sm_mesh_controller_get_node        (SmMeshController *self);
const char       *sm_mesh_controller_get_error       (SmMeshController *self);
SmEngine         *sm_mesh_controller_get_engine      (SmMeshController *self);
GSettings        *sm_mesh_controller_get_settings    (SmMeshController *self);
/* This node's public key and fingerprint, NULL without a key. */
const char       *sm_mesh_controller_get_public_key  (SmMeshController *self);
const char       *sm_mesh_controller_get_fingerprint (SmMeshController *self);

/* Adds a peer to connect to and trust, and restarts the node. */
gboolean          sm_mesh_controller_add_peer        (SmMeshController *self,
                                                      const char       *name,
                                                      const char       *endpoint,
                                                      const char       *public_key,
                                                      GError          **error);
/* Stops trusting @name (also in the trusted-peers file) and restarts. */
void              sm_mesh_controller_remove_peer     (SmMeshController *self,
                                                      const char       *name);

G_END_DECLS
