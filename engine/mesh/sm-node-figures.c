/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#define G_LOG_DOMAIN "sm-node"

#include <math.h>
#include <string.h>
#include <zmq.h>

#include "sm-identity.h"
#include "sm-metric-ids.h"
#include "sm-node-private.h"

/* ---- a peer's own figures, as metrics of this engine's monitor ----
 *
 * What a ready peer says of itself once a second (METRICS) becomes
 * metrics of our monitor, "peer.<fingerprint>.<figure>": the recorder
 * records every metric of the monitor, so a session keeps the peers'
 * figures beside ours, tagged by key, and replay and the exports show
 * them as they show ours.  NaN while the peer is gone. */

static const struct {
  const char   *suffix;
  const char   *what;
  const char   *unit;
  SmMetricKind  kind;
} figures[N_PEER_FIGURES] = {
  { SM_METRIC_PEER_THROUGHPUT, "throughput",   "ops/s", SM_METRIC_RATE },
  { SM_METRIC_PEER_P50,        "p50",          "µs",    SM_METRIC_LATENCY },
  { SM_METRIC_PEER_P99,        "p99",          "µs",    SM_METRIC_LATENCY },
  { SM_METRIC_PEER_QUEUE,      "queue depth",  "",      SM_METRIC_GAUGE },
  { SM_METRIC_PEER_POOL,       "pool in use",  "MiB",   SM_METRIC_GAUGE },
};

/* Registers @peer's figures the first time it reports: by its key's
 * fingerprint (without the colons), named for people by its name and the
 * fingerprint's start. */
static void
register_figures (SmNode *node,
                  Peer   *peer)
{
  SmMonitor *monitor = sm_engine_get_monitor (node->engine);
  g_autofree char *fingerprint = sm_identity_fingerprint (peer->info.public_key);
  g_autoptr(GString) tag = g_string_new (NULL);

  for (const char *c = fingerprint; *c != '\0'; c++)
    if (*c != ':')
      g_string_append_c (tag, *c);
  for (guint i = 0; i < N_PEER_FIGURES; i++)
    {
      g_autofree char *id = g_strdup_printf (SM_METRIC_PEER_PREFIX "%s.%s", tag->str, figures[i].suffix);
      g_autofree char *name = g_strdup_printf ("%s (%.11s) %s", peer->info.name, fingerprint, figures[i].what);

      peer->figures[i] = sm_monitor_add_value (monitor, id, name, figures[i].unit, figures[i].kind);
    }
  peer->has_figures = TRUE;
}

void
sm_node_take_figures (SmNode              *node,
                      Peer                *peer,
                      const SmWireMetrics *metrics)
{
  SmMonitor *monitor = sm_engine_get_monitor (node->engine);
  const double values[N_PEER_FIGURES] = {
    metrics->ops_per_s,
    metrics->p50_ns / 1e3,
    metrics->p99_ns / 1e3,
    metrics->queue_depth,
    metrics->pool_in_use / (1024.0 * 1024.0),
  };

  if (!peer->has_figures)
    register_figures (node, peer);
  for (guint i = 0; i < N_PEER_FIGURES; i++)
    sm_monitor_set_value (monitor, peer->figures[i], values[i]);
}

void
sm_node_clear_figures (SmNode *node,
                       Peer   *peer)
{
  SmMonitor *monitor = sm_engine_get_monitor (node->engine);

  if (!peer->has_figures)
    return;
  for (guint i = 0; i < N_PEER_FIGURES; i++)
    sm_monitor_set_value (monitor, peer->figures[i], NAN);
}
