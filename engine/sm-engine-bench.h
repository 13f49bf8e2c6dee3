/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "sm-bench.h"

G_BEGIN_DECLS

/* The engine's benchmark: feature extraction and routing of a 20-word
 * query; batch-1 end to end against the bare kernels; closed-loop
 * throughput against the kernel-bound ceiling. */
void sm_engine_bench (SmBenchReport *report);

/* Engine throughput with the monitor (and advisor) ticking against without,
 * in alternating halves of one run. */
void sm_monitor_overhead_bench (SmBenchReport *report);

G_END_DECLS
