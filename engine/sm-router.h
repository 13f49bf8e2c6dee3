/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "sm-features.h"

G_BEGIN_DECLS

/* Routing: the keyword evidence of a query (its domain scores) becomes a
 * probability per domain, each domain's share of the evidence; the query
 * goes to the most likely domain, or, with consensus, to every domain among
 * the top k whose share reaches the threshold, their outputs mixed by
 * share.  (Shares rather than a softmax: a query with 5 points of
 * mathematics and 2 of code is 29 % code, which a consensus should hear.)  A query without any evidence goes to Language,
 * the general one.  Routing depends on the query alone, never on what was
 * routed before. */

#define SM_ROUTER_MAX_K              3
#define SM_ROUTER_DEFAULT_THRESHOLD  0.2

typedef struct
{
  gboolean consensus;
  guint    top_k;       /* 1 … SM_ROUTER_MAX_K, used with consensus */
  double   threshold;   /* minimum probability to join a consensus */
} SmRouterConfig;

typedef struct
{
  guint    n;                                   /* domains chosen, ≥ 1 */
  SmDomain domains[SM_ROUTER_MAX_K];            /* most likely first */
  float    weights[SM_ROUTER_MAX_K];            /* mixing weights, sum 1 */
  double   probabilities[SM_N_DOMAINS];
} SmRoute;

void sm_router_route (const SmFeatureSummary *summary,
                      const SmRouterConfig   *config,
                      SmRoute                *route);

G_END_DECLS
