/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "sm-router.h"

void
sm_router_route (const SmFeatureSummary *summary,
                 const SmRouterConfig   *config,
                 SmRoute                *route)
{
  double sum = 0, chosen = 0;
  guint k = config->consensus ? CLAMP (config->top_k, 1, SM_ROUTER_MAX_K) : 1;
  gboolean any = FALSE;

  for (guint d = 0; d < SM_N_DOMAINS; d++)
    {
      sum += summary->domain_scores[d];
      any |= summary->domain_scores[d] > 0;
    }

  route->n = 0;
  if (!any)
    {
      for (guint d = 0; d < SM_N_DOMAINS; d++)
        route->probabilities[d] = d == SM_DOMAIN_LANGUAGE ? 1.0 : 0.0;
      route->domains[0] = SM_DOMAIN_LANGUAGE;
      route->weights[0] = 1.0f;
      route->n = 1;
      return;
    }

  for (guint d = 0; d < SM_N_DOMAINS; d++)
    route->probabilities[d] = summary->domain_scores[d] / sum;

  /* The top k by probability (ties: the lower domain), then those that
   * reach the threshold; the most likely always goes. */
  for (guint slot = 0; slot < k; slot++)
    {
      int best = -1;

      for (guint d = 0; d < SM_N_DOMAINS; d++)
        {
          gboolean taken = FALSE;

          for (guint s = 0; s < route->n; s++)
            taken |= route->domains[s] == d;
          if (!taken && (best < 0 || route->probabilities[d] > route->probabilities[best]))
            best = (int) d;
        }
      if (slot > 0 && route->probabilities[best] < config->threshold)
        break;
      route->domains[route->n] = (SmDomain) best;
      route->weights[route->n] = (float) route->probabilities[best];
      chosen += route->probabilities[best];
      route->n++;
    }

  for (guint s = 0; s < route->n; s++)
    route->weights[s] = (float) (route->weights[s] / chosen);
}
