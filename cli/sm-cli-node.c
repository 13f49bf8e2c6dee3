/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <glib-unix.h>
#include <glib/gi18n.h>

#include "sm-cli.h"
#include "sm-engine.h"
#include "sm-node.h"
#include "sm-workload.h"

static gboolean
print_status_cb (gpointer user_data)
{
  sm_cli_mesh_print_status (user_data);
  return G_SOURCE_CONTINUE;
}

static gboolean
quit_cb (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

int
sm_cli_node (int    argc,
             char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new (NULL);
  g_autoptr(GError) error = NULL;
  /* Freed in reverse: the workload, then the node, before the engine. */
  g_autoptr(SmEngine) engine = NULL;
  g_autoptr(SmCliMesh) mesh = NULL;
  g_autoptr(SmWorkload) workload = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autofree char *model_path = NULL, *preset_name = NULL;
  g_auto(SmCliMeshOptions) options = SM_CLI_MESH_OPTIONS_INIT;
  int threads = 2;
  int status_s = 0;
  gboolean ok = TRUE;
  double duration = 0, load = 0;
  SmPreset preset = SM_PRESET_STANDARD;
  const GOptionEntry entries[] = {
    { "bind", 'b', 0, G_OPTION_ARG_STRING, &options.bind, N_("Listen here (default tcp://127.0.0.1:7870; “:*” picks a free port; LAN only when named)"), N_("ENDPOINT") },
    { "peer", 'p', 0, G_OPTION_ARG_STRING_ARRAY, &options.peers, N_("Connect to a peer, and trust its key for this run (repeatable)"), N_("[NAME@]ENDPOINT=KEY") },
    { "name", 'n', 0, G_OPTION_ARG_STRING, &options.name, N_("The name peers see (default: the host name)"), N_("NAME") },
    { "discover", 0, 0, G_OPTION_ARG_NONE, &options.discover, N_("Find trusted nodes on the LAN by UDP beacon (port 7869); trust is still required"), NULL },
    { "heartbeat", 0, 0, G_OPTION_ARG_INT, &options.heartbeat_ms, N_("Heartbeat interval; a peer silent for three is gone (default 1000)"), N_("MS") },
    { "offload", 'o', 0, G_OPTION_ARG_INT, &options.offload, N_("Share of this node's queries to run on peers (0–100, default 0)"), N_("PERCENT") },
    { "offload-queue", 0, 0, G_OPTION_ARG_INT, &options.offload_queue, N_("Also offload every query while more than N wait locally"), N_("N") },
    { "load", 'l', 0, G_OPTION_ARG_DOUBLE, &load, N_("Run the built-in workload on this node, open loop (Poisson), at this many queries per second; --offload applies"), N_("RATE") },
    { "preset", 0, 0, G_OPTION_ARG_STRING, &preset_name, N_("Model preset: micro, standard (default), large"), N_("NAME") },
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model_path, N_("Load a .safetensors model instead of a preset"), N_("FILE") },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, N_("Worker threads (default 2)"), N_("N") },
    { "key", 'k', 0, G_OPTION_ARG_FILENAME, &options.key_path, N_("The key file (default: node.key in the data directory; made when missing)"), N_("FILE") },
    { "trust", 0, 0, G_OPTION_ARG_FILENAME, &options.trust_path, N_("The trusted-peers file (default: trusted-peers in the data directory)"), N_("FILE") },
    { "status", 's', 0, G_OPTION_ARG_INT, &status_s, N_("Print the peers' figures every N seconds (default: never)"), N_("N") },
    { "duration", 'd', 0, G_OPTION_ARG_DOUBLE, &duration, N_("Stop after this many seconds (default: at Ctrl+C)"), N_("SECONDS") },
    { NULL }
  };

  g_option_context_set_summary (context,
    _("Runs a mesh node without a display: it serves peers' queries with its engine and\n"
      "can send a share of its own to them.  Peers are accepted only with a CURVE key\n"
      "from the trusted-peers file (see “synmesh trust”) or named with --peer.  Events and\n"
      "the endpoint are printed one per line; SIGINT or SIGTERM stop the node cleanly\n"
      "(peers are told).  With --load it also runs the built-in workload and prints, at\n"
      "the end, how many queries went to peers, were answered there and were rerun here."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!sm_cli_parse_options (context, &argc, &argv))
    return SM_CLI_EXIT_USAGE;

  if (!sm_cli_mesh_check_options (&options, "synmesh node"))
    return SM_CLI_EXIT_USAGE;
  if (status_s < 0 || duration < 0 || !(load >= 0 && load <= 1e7))
    {
      g_printerr (_("synmesh node: --status, --duration and --load are not negative\n"));
      return SM_CLI_EXIT_USAGE;
    }
  if (preset_name != NULL && !sm_preset_from_name (preset_name, &preset))
    {
      g_printerr (_("synmesh node: unknown preset “%s” (micro, standard, large)\n"), preset_name);
      return SM_CLI_EXIT_USAGE;
    }

  engine = sm_engine_new (SM_POOL_DEFAULT_LIMIT, (guint) CLAMP (threads, 1, SM_ENGINE_MAX_THREADS), &error);
  if (engine == NULL
      || (model_path != NULL ? !sm_engine_load_model (engine, model_path, &error)
                             : !sm_engine_load_preset (engine, preset, &error)))
    goto failed;

  mesh = sm_cli_mesh_start (engine, &options, NULL, "synmesh node", &error);
  if (mesh == NULL)
    goto failed;

  loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGINT, quit_cb, loop);
  g_unix_signal_add (SIGTERM, quit_cb, loop);
  if (duration > 0)
    g_timeout_add ((guint) (duration * 1000), quit_cb, loop);
  if (status_s > 0)
    g_timeout_add_seconds ((guint) status_s, print_status_cb, mesh);
  if (load > 0)
    {
      workload = sm_workload_new (engine, SM_WORKLOAD_POISSON, load, (guint64) g_get_real_time ());
      sm_workload_start (workload);
    }
  g_main_loop_run (loop);

  if (workload != NULL)
    {
      SmWorkloadCounts counts;

      /* Every query it sent ends before the totals are read: answered
       * here or by a peer, or rerun here when its peer went away. */
      sm_workload_stop (workload);
      sm_workload_get_counts (workload, &counts);
      sm_cli_mesh_print_status (mesh);
      g_print (_("\nLoad at %g queries/s\n"), load);
      ok = sm_cli_print_query_totals (&counts, "synmesh node");
      sm_cli_mesh_print_summary (mesh);
    }
  else
    sm_cli_mesh_print_status (mesh);
  fflush (stdout);
  return ok ? SM_CLI_EXIT_OK : SM_CLI_EXIT_FAILED;

failed:
  g_printerr ("synmesh node: %s\n", error->message);
  return SM_CLI_EXIT_FAILED;
}
