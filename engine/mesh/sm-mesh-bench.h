/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "sm-bench.h"

G_BEGIN_DECLS

/* The mesh's benchmark: the wire codec against copying the tensor; on
 * loopback, the raw CURVE round trip against PING/PONG and batch-1 remote
 * inference against local, over five runs (one when @quick); closed-loop
 * throughput through a peer against local at batch 1, 8 and 32. */
void sm_mesh_bench (SmBenchReport *report,
                    gboolean       quick);

G_END_DECLS
