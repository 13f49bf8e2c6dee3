/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "sm-bench.h"

G_BEGIN_DECLS

/* The mesh's benchmark.  So far the wire codec alone: encode and decode of
 * a batch-1 INFER request of 256 features, against copying its tensor. */
void sm_mesh_bench (SmBenchReport *report);

G_END_DECLS
