/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "sm-bench.h"

G_BEGIN_DECLS

/* Measures the pool against glibc malloc/free in the same run (scratch
 * allocation, page-run alloc+free at several sizes, a model's tensors
 * allocated and freed) and the latency histogram's record. */
void sm_pool_bench (SmBenchReport *report);

G_END_DECLS
