/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdio.h>
#include <glib/gi18n.h>

#include "sm-cli.h"
#include "sm-beacon.h"
#include "sm-paths.h"

/* The node `synmesh node` and `synmesh run --peer` start, one way for
 * both: the same options mean the same thing, the same lines come out. */

struct _SmCliMesh
{
  /* Freed in reverse: the node before the trust list it reads. */
  SmTrust *trust;
  char    *trust_path;
  SmNode  *node;
};

static const char * const event_names[] = {
  [SM_NODE_EVENT_PEER_READY] = "ready",
  [SM_NODE_EVENT_PEER_MISMATCH] = "mismatch",
  [SM_NODE_EVENT_PEER_GONE] = "gone",
  [SM_NODE_EVENT_REJECTED] = "rejected",
  [SM_NODE_EVENT_DISCOVERED] = "discovered",
};

/* On the node's thread: one line per event, flushed, so that whoever
 * reads the output (a person, a test) sees it at once. */
static void
event_cb (SmNodeEvent  event,
          const char  *peer,
          const char  *message,
          gpointer     user_data)
{
  g_print ("event %s %s: %s\n", event_names[event], peer != NULL ? peer : "-", message);
  fflush (stdout);
}

void
sm_cli_mesh_options_clear (SmCliMeshOptions *options)
{
  g_clear_pointer (&options->peers, g_strfreev);
  g_clear_pointer (&options->bind, g_free);
  g_clear_pointer (&options->name, g_free);
  g_clear_pointer (&options->key_path, g_free);
  g_clear_pointer (&options->trust_path, g_free);
}

gboolean
sm_cli_mesh_check_options (const SmCliMeshOptions *options,
                           const char             *command)
{
  if (options->offload < 0 || options->offload > 100 || options->offload_queue < 0
      || options->heartbeat_ms < 10 || options->heartbeat_ms > 60000)
    {
      g_printerr (_("%s: --offload is 0–100, --heartbeat 10–60000 ms, and counts are not negative\n"), command);
      return FALSE;
    }
  for (guint i = 0; options->peers != NULL && options->peers[i] != NULL; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *name = NULL, *endpoint = NULL, *key = NULL;

      if (!sm_node_parse_peer (options->peers[i], &name, &endpoint, &key, &error))
        {
          g_printerr ("%s: --peer %s\n", command, error->message);
          return FALSE;
        }
    }
  return TRUE;
}

/* The node's keypair: loaded, or made on first use (a node cannot run
 * without one, and making it is what `synmesh keygen` would do). */
static gboolean
get_identity (const char  *path,
              SmIdentity  *identity,
              GError     **error)
{
  g_autofree char *fingerprint = NULL;
  gboolean created;

  if (!sm_identity_load_or_create (path, identity, &created, error))
    return FALSE;
  if (created)
    g_print (_("Made a new key in %s\n"), path);
  fingerprint = sm_identity_fingerprint (identity->public_key);
  g_print (_("public key %s\nfingerprint %s\n"), identity->public_key, fingerprint);
  return TRUE;
}

SmCliMesh *
sm_cli_mesh_start (SmEngine               *engine,
                   const SmCliMeshOptions *options,
                   const char             *default_bind,
                   const char             *command,
                   GError                **error)
{
  g_autoptr(SmCliMesh) mesh = g_new0 (SmCliMesh, 1);
  g_autofree char *data_dir = NULL, *key_path = NULL;
  SmNodeConfig config = { 0 };

  data_dir = sm_paths_ensure_data_dir (error);
  if (data_dir == NULL)
    return NULL;
  key_path = options->key_path != NULL ? g_strdup (options->key_path) : sm_identity_default_path (data_dir);
  mesh->trust_path = options->trust_path != NULL ? g_strdup (options->trust_path)
                                                 : g_build_filename (data_dir, SM_TRUST_FILE_NAME, NULL);

  {
    /* As ssh does: a folder others may write lets them swap the files. */
    g_autofree char *warning = sm_identity_check_folder (key_path);

    if (warning != NULL)
      g_printerr (_("%s: warning: %s\n"), command, warning);
  }
  if (!get_identity (key_path, &config.identity, error))
    return NULL;
  mesh->trust = sm_trust_load (mesh->trust_path, error);
  if (mesh->trust == NULL)
    return NULL;

  config.name = options->name;
  config.bind = options->bind != NULL ? options->bind : default_bind;
  config.trust = mesh->trust;
  /* `synmesh trust add` and `remove` apply while the node runs. */
  config.trust_path = mesh->trust_path;
  config.heartbeat_ms = (guint) options->heartbeat_ms;
  config.discovery_port = options->discover ? SM_BEACON_DEFAULT_PORT : 0;
  mesh->node = sm_node_new (engine, &config, error);
  if (mesh->node == NULL)
    return NULL;
  sm_node_set_event_func (mesh->node, event_cb, NULL);

  for (guint i = 0; options->peers != NULL && options->peers[i] != NULL; i++)
    {
      g_autofree char *peer_name = NULL, *endpoint = NULL, *key = NULL;

      /* Checked by sm_cli_mesh_check_options() already. */
      sm_node_parse_peer (options->peers[i], &peer_name, &endpoint, &key, NULL);
      if (peer_name == NULL)
        peer_name = g_strdup_printf ("peer%u", i + 1);
      if (!sm_node_add_peer (mesh->node, peer_name, endpoint, key, error))
        return NULL;
    }
  sm_engine_set_offload_share (engine, (guint) options->offload, (guint) options->offload_queue);

  /* The line scripts wait for: the node is up and where. */
  g_print (_("listening %s as %s\n"), sm_node_get_endpoint (mesh->node), sm_node_get_name (mesh->node));
  if (sm_node_endpoint_is_public (sm_node_get_endpoint (mesh->node)))
    g_print (_("note: %s is reachable from the network; CURVE still admits only the keys in %s "
               "and those named with --peer\n"), sm_node_get_endpoint (mesh->node), mesh->trust_path);
  fflush (stdout);

  return g_steal_pointer (&mesh);
}

SmNode *
sm_cli_mesh_get_node (SmCliMesh *mesh)
{
  return mesh->node;
}

void
sm_cli_mesh_free (SmCliMesh *mesh)
{
  if (mesh == NULL)
    return;
  g_clear_pointer (&mesh->node, sm_node_free);
  g_clear_pointer (&mesh->trust, sm_trust_free);
  g_free (mesh->trust_path);
  g_free (mesh);
}

void
sm_cli_mesh_print_status (SmCliMesh *mesh)
{
  g_autoptr(GArray) peers = sm_node_dup_peers (mesh->node);
  SmNodeStats stats;

  sm_node_get_stats (mesh->node, &stats);
  g_print (_("status served=%" G_GUINT64_FORMAT " offloaded=%" G_GUINT64_FORMAT " retried=%" G_GUINT64_FORMAT
             " refused-connections=%" G_GUINT64_FORMAT " refused-frames=%" G_GUINT64_FORMAT
             " replies-dropped=%" G_GUINT64_FORMAT " clients=%u trust-reloads=%" G_GUINT64_FORMAT "\n"),
           stats.served, stats.offloaded, stats.offload_retried, stats.rejected_handshakes,
           stats.refused_frames, stats.replies_dropped, stats.clients, stats.trust_reloads);
  for (guint i = 0; i < peers->len; i++)
    {
      SmNodePeerInfo *p = &g_array_index (peers, SmNodePeerInfo, i);

      g_autofree char *name = sm_wire_text_for_display (p->name);
      g_autofree char *endpoint = sm_wire_text_for_display (p->endpoint);

      g_print (_("  peer %-12s %-10s rtt p50 %7.1f µs p99 %7.1f µs  out %" G_GUINT64_FORMAT
                 " answered %" G_GUINT64_FORMAT " retried %" G_GUINT64_FORMAT "  %s"),
               name, sm_peer_state_get_name (p->state), p->rtt_p50_ns / 1e3, p->rtt_p99_ns / 1e3,
               p->offloaded, p->answered, p->retried, endpoint);
      /* The peer's own figures: what it could not deliver to its clients. */
      if (p->has_metrics)
        g_print (_("  its replies-dropped %" G_GUINT64_FORMAT), p->metrics.replies_dropped);
      g_print ("\n");
    }
  fflush (stdout);
}

void
sm_cli_mesh_print_summary (SmCliMesh *mesh)
{
  SmNodeStats stats;

  sm_node_get_stats (mesh->node, &stats);
  g_print (_("  mesh       %" G_GUINT64_FORMAT " sent to peers in %" G_GUINT64_FORMAT " requests, %"
             G_GUINT64_FORMAT " answered remotely, %" G_GUINT64_FORMAT " rerun locally, %" G_GUINT64_FORMAT
             " late answers ignored\n"),
           stats.offloaded, stats.offload_requests, stats.offload_answered, stats.offload_retried,
           stats.late_replies);
}

gboolean
sm_cli_print_query_totals (const SmWorkloadCounts *counts,
                           const char             *command)
{
  guint64 ended = counts->completed + counts->failed;

  g_print (_("  queries    %" G_GUINT64_FORMAT " submitted, %" G_GUINT64_FORMAT " answered, %"
             G_GUINT64_FORMAT " failed, %" G_GUINT64_FORMAT " shed by the generator\n"),
           counts->submitted, counts->completed, counts->failed, counts->shed);
  /* Each query ends once: an answer more than was asked for is one
   * answered twice, one less is one lost. */
  if (ended < counts->submitted)
    {
      g_printerr (_("%s: %" G_GUINT64_FORMAT " queries were never answered\n"), command, counts->submitted - ended);
      return FALSE;
    }
  if (ended > counts->submitted)
    {
      g_printerr (_("%s: %" G_GUINT64_FORMAT " answers more than queries\n"), command, ended - counts->submitted);
      return FALSE;
    }
  return counts->failed == 0;
}
