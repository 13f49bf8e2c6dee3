/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "sm-bench.h"

G_BEGIN_DECLS

/* The store's benchmark, on a temporary database: ingest through the
 * writer, a downsampled read and a full replay of a one-hour session, and
 * the engine's throughput with recording on against off. */
void sm_store_bench (SmBenchReport *report);

G_END_DECLS
