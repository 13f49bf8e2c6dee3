/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "sm-bench.h"

G_BEGIN_DECLS

/* The engine's benchmark.  So far: feature extraction and routing of a
 * 20-word query, timed one query at a time (p50 and p99). */
void sm_engine_bench (SmBenchReport *report);

G_END_DECLS
