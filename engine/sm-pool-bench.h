/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "sm-bench.h"

G_BEGIN_DECLS

/* Measures the pool against glibc malloc/free in the same run: scratch
 * allocation, and page-run alloc+free at several sizes. */
void sm_pool_bench (SmBenchReport *report);

G_END_DECLS
