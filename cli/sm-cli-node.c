/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <glib-unix.h>
#include <glib/gi18n.h>

#include "sm-cli.h"
#include "sm-beacon.h"
#include "sm-engine.h"
#include "sm-node.h"
#include "sm-paths.h"

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

static gboolean
print_status_cb (gpointer user_data)
{
  SmNode *node = user_data;
  g_autoptr(GArray) peers = sm_node_dup_peers (node);
  SmNodeStats stats;

  sm_node_get_stats (node, &stats);
  g_print (_("status served=%" G_GUINT64_FORMAT " offloaded=%" G_GUINT64_FORMAT " retried=%" G_GUINT64_FORMAT
             " refused-connections=%" G_GUINT64_FORMAT " refused-frames=%" G_GUINT64_FORMAT
             " replies-dropped=%" G_GUINT64_FORMAT " clients=%u\n"),
           stats.served, stats.offloaded, stats.offload_retried, stats.rejected_handshakes,
           stats.refused_frames, stats.replies_dropped, stats.clients);
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
  return G_SOURCE_CONTINUE;
}

static gboolean
quit_cb (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

/* The node's keypair: loaded, or made on first use (a node cannot run
 * without one, and making it is what `synmesh keygen` would do). */
static gboolean
get_identity (const char  *path,
              SmIdentity  *identity,
              GError     **error)
{
  g_autofree char *fingerprint = NULL;

  if (g_file_test (path, G_FILE_TEST_EXISTS))
    {
      if (!sm_identity_load (path, identity, error))
        return FALSE;
    }
  else
    {
      if (!sm_identity_create (path, FALSE, identity, error))
        return FALSE;
      g_print (_("Made a new key in %s\n"), path);
    }
  fingerprint = sm_identity_fingerprint (identity->public_key);
  g_print (_("public key %s\nfingerprint %s\n"), identity->public_key, fingerprint);
  return TRUE;
}

int
sm_cli_node (int    argc,
             char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new (NULL);
  g_autoptr(GError) error = NULL;
  /* Freed in reverse: the node before the engine and the trust it uses. */
  g_autoptr(SmTrust) trust = NULL;
  g_autoptr(SmEngine) engine = NULL;
  g_autoptr(SmNode) node = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autofree char *bind = NULL, *name = NULL, *key_path = NULL, *trust_path = NULL;
  g_autofree char *model_path = NULL, *preset_name = NULL, *data_dir = NULL;
  g_auto(GStrv) peers = NULL;
  int threads = 2, heartbeat = SM_NODE_DEFAULT_HEARTBEAT_MS, offload = 0, offload_queue = 0;
  int status_s = 0;
  gboolean discover = FALSE;
  double duration = 0;
  SmPreset preset = SM_PRESET_STANDARD;
  SmNodeConfig config = { 0 };
  const GOptionEntry entries[] = {
    { "bind", 'b', 0, G_OPTION_ARG_STRING, &bind, N_("Listen here (default tcp://127.0.0.1:7870; “:*” picks a free port; LAN only when named)"), N_("ENDPOINT") },
    { "peer", 'p', 0, G_OPTION_ARG_STRING_ARRAY, &peers, N_("Connect to a peer, and trust its key for this run (repeatable)"), N_("[NAME@]ENDPOINT=KEY") },
    { "name", 'n', 0, G_OPTION_ARG_STRING, &name, N_("The name peers see (default: the host name)"), N_("NAME") },
    { "discover", 0, 0, G_OPTION_ARG_NONE, &discover, N_("Find trusted nodes on the LAN by UDP beacon (port 7869); trust is still required"), NULL },
    { "heartbeat", 0, 0, G_OPTION_ARG_INT, &heartbeat, N_("Heartbeat interval; a peer silent for three is gone (default 1000)"), N_("MS") },
    { "offload", 'o', 0, G_OPTION_ARG_INT, &offload, N_("Share of this node's queries to run on peers (0–100, default 0)"), N_("PERCENT") },
    { "offload-queue", 0, 0, G_OPTION_ARG_INT, &offload_queue, N_("Also offload every query while more than N wait locally"), N_("N") },
    { "preset", 0, 0, G_OPTION_ARG_STRING, &preset_name, N_("Model preset: micro, standard (default), large"), N_("NAME") },
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model_path, N_("Load a .safetensors model instead of a preset"), N_("FILE") },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, N_("Worker threads (default 2)"), N_("N") },
    { "key", 'k', 0, G_OPTION_ARG_FILENAME, &key_path, N_("The key file (default: node.key in the data directory; made when missing)"), N_("FILE") },
    { "trust", 0, 0, G_OPTION_ARG_FILENAME, &trust_path, N_("The trusted-peers file (default: trusted-peers in the data directory)"), N_("FILE") },
    { "status", 's', 0, G_OPTION_ARG_INT, &status_s, N_("Print the peers' figures every N seconds (default: never)"), N_("N") },
    { "duration", 'd', 0, G_OPTION_ARG_DOUBLE, &duration, N_("Stop after this many seconds (default: at Ctrl+C)"), N_("SECONDS") },
    { NULL }
  };

  g_option_context_set_summary (context,
    _("Runs a mesh node without a display: it serves peers' queries with its engine and\n"
      "can send a share of its own to them.  Peers are accepted only with a CURVE key\n"
      "from the trusted-peers file or named with --peer.  Events and the endpoint are\n"
      "printed one per line; SIGINT or SIGTERM stop the node cleanly (peers are told)."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!sm_cli_parse_options (context, &argc, &argv))
    return SM_CLI_EXIT_USAGE;

  if (offload < 0 || offload > 100 || offload_queue < 0 || heartbeat < 10 || heartbeat > 60000
      || status_s < 0 || duration < 0)
    {
      g_printerr (_("synmesh node: --offload is 0–100, --heartbeat 10–60000 ms, and counts are not negative\n"));
      return SM_CLI_EXIT_USAGE;
    }
  if (preset_name != NULL && !sm_preset_from_name (preset_name, &preset))
    {
      g_printerr (_("synmesh node: unknown preset “%s” (micro, standard, large)\n"), preset_name);
      return SM_CLI_EXIT_USAGE;
    }

  /* Every --peer is checked before anything starts. */
  for (guint i = 0; peers != NULL && peers[i] != NULL; i++)
    {
      g_autofree char *peer_name = NULL, *endpoint = NULL, *key = NULL;

      if (!sm_node_parse_peer (peers[i], &peer_name, &endpoint, &key, &error))
        {
          g_printerr ("synmesh node: --peer %s\n", error->message);
          return SM_CLI_EXIT_USAGE;
        }
    }

  data_dir = sm_paths_ensure_data_dir (&error);
  if (data_dir == NULL)
    goto failed;
  if (key_path == NULL)
    key_path = sm_identity_default_path (data_dir);
  if (trust_path == NULL)
    trust_path = g_build_filename (data_dir, SM_TRUST_FILE_NAME, NULL);

  {
    /* As ssh does: a folder others may write lets them swap the files. */
    g_autofree char *warning = sm_identity_check_folder (key_path);

    if (warning != NULL)
      g_printerr (_("synmesh node: warning: %s\n"), warning);
  }
  if (!get_identity (key_path, &config.identity, &error))
    goto failed;
  trust = sm_trust_load (trust_path, &error);
  if (trust == NULL)
    goto failed;

  engine = sm_engine_new (SM_POOL_DEFAULT_LIMIT, (guint) CLAMP (threads, 1, SM_ENGINE_MAX_THREADS), &error);
  if (engine == NULL
      || (model_path != NULL ? !sm_engine_load_model (engine, model_path, &error)
                             : !sm_engine_load_preset (engine, preset, &error)))
    goto failed;

  config.name = name;
  config.bind = bind;
  config.trust = trust;
  config.trust_path = trust_path;
  config.heartbeat_ms = (guint) heartbeat;
  config.discovery_port = discover ? SM_BEACON_DEFAULT_PORT : 0;
  node = sm_node_new (engine, &config, &error);
  if (node == NULL)
    goto failed;
  sm_node_set_event_func (node, event_cb, NULL);

  for (guint i = 0; peers != NULL && peers[i] != NULL; i++)
    {
      g_autofree char *peer_name = NULL, *endpoint = NULL, *key = NULL;

      sm_node_parse_peer (peers[i], &peer_name, &endpoint, &key, NULL);
      if (peer_name == NULL)
        peer_name = g_strdup_printf ("peer%u", i + 1);
      if (!sm_node_add_peer (node, peer_name, endpoint, key, &error))
        goto failed;
    }
  sm_engine_set_offload_share (engine, (guint) offload, (guint) offload_queue);

  /* The line scripts wait for: the node is up and where. */
  g_print (_("listening %s as %s\n"), sm_node_get_endpoint (node), sm_node_get_name (node));
  if (sm_node_endpoint_is_public (sm_node_get_endpoint (node)))
    g_print (_("note: %s is reachable from the network; CURVE still admits only the keys in %s "
               "and those named with --peer\n"), sm_node_get_endpoint (node), trust_path);
  fflush (stdout);

  loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGINT, quit_cb, loop);
  g_unix_signal_add (SIGTERM, quit_cb, loop);
  if (duration > 0)
    g_timeout_add ((guint) (duration * 1000), quit_cb, loop);
  if (status_s > 0)
    g_timeout_add_seconds ((guint) status_s, print_status_cb, node);
  g_main_loop_run (loop);

  print_status_cb (node);
  return SM_CLI_EXIT_OK;

failed:
  g_printerr ("synmesh node: %s\n", error->message);
  return SM_CLI_EXIT_FAILED;
}
