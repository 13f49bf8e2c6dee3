/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "sm-bench.h"

G_BEGIN_DECLS

/* `synmesh bench ui`: the dashboard's four charts drawn headless. */
void sm_chart_bench (SmBenchReport *report);

G_END_DECLS
