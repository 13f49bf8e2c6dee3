/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "sm-chart.h"
#include "sm-mesh-controller.h"

G_BEGIN_DECLS

/* The Mesh page: this node's endpoint, key and fingerprint, the share of
 * queries sent to peers, and each peer with its state, round-trip times
 * (and a sparkline of the last minute) and queries; add and untrust. */

#define SM_TYPE_MESH_PAGE (sm_mesh_page_get_type ())

G_DECLARE_FINAL_TYPE (SmMeshPage, sm_mesh_page, SM, MESH_PAGE, AdwBin)

GtkWidget        *sm_mesh_page_new            (void);
void              sm_mesh_page_set_controller (SmMeshPage       *self,
                                               SmMeshController *controller);
SmMeshController *sm_mesh_page_get_controller (SmMeshPage       *self);

/* The charts of the peers' own figures: throughput (0), p99 latency (1),
 * a series per peer in the node's order; NULL without peers. */
#define SM_MESH_PAGE_N_FIGURES 2
SmChart          *sm_mesh_page_get_figure     (SmMeshPage       *self,
                                               guint             index);

G_END_DECLS
