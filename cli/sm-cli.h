/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "sm-node.h"
#include "sm-workload.h"

G_BEGIN_DECLS

/* Every subcommand takes the arguments after its own name (argv[0] is
 * "synmesh <command>") and returns the process exit status. */
typedef int (*SmCliCommandFunc) (int    argc,
                                 char **argv);

/* Exit statuses shared by every subcommand. */
enum {
  SM_CLI_EXIT_OK          = 0,
  SM_CLI_EXIT_FAILED      = 1,
  SM_CLI_EXIT_USAGE       = 2,
};

/* Parses @argv with @context, printing a usage error the same way for every
 * command; returns FALSE when the command must exit with SM_CLI_EXIT_USAGE. */
gboolean sm_cli_parse_options (GOptionContext  *context,
                               int             *argc,
                               char          ***argv);

/* @text with control characters and invalid UTF-8 escaped (\n, \xNN,
 * \uNNNN, a backslash doubled), fit for a terminal and a table row. */
char *sm_cli_escape (const char *text);

/* ---- the mesh options `synmesh node` and `synmesh run` share ---- */

typedef struct
{
  char **peers;            /* "[NAME@]ENDPOINT=KEY" */
  char  *bind;             /* NULL: the command's default */
  char  *name;
  char  *key_path;         /* NULL: node.key in the data directory */
  char  *trust_path;       /* NULL: trusted-peers in the data directory */
  int    heartbeat_ms;
  int    offload;          /* percent */
  int    offload_queue;
  gboolean discover;       /* LAN discovery by UDP beacon */
} SmCliMeshOptions;

#define SM_CLI_MESH_OPTIONS_INIT { .heartbeat_ms = SM_NODE_DEFAULT_HEARTBEAT_MS }

void      sm_cli_mesh_options_clear (SmCliMeshOptions *options);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (SmCliMeshOptions, sm_cli_mesh_options_clear)

/* Checks every --peer and the numbers before anything starts; prints the
 * usage error as @command and returns FALSE when there is one. */
gboolean  sm_cli_mesh_check_options (const SmCliMeshOptions *options,
                                     const char             *command);

/* A node for @engine as the options say: the key loaded (or made, as
 * `synmesh keygen` would, when the default one is missing), the
 * trusted-peers file read and watched, the peers added, the offload share
 * set; the key, fingerprint and "listening ENDPOINT as NAME" printed. */
typedef struct _SmCliMesh SmCliMesh;

SmCliMesh *sm_cli_mesh_start        (SmEngine               *engine,
                                     const SmCliMeshOptions *options,
                                     const char             *default_bind,
                                     const char             *command,
                                     GError                **error);
SmNode    *sm_cli_mesh_get_node     (SmCliMesh              *mesh);
void       sm_cli_mesh_free         (SmCliMesh              *mesh);
/* One "status …" line and one line per peer. */
void       sm_cli_mesh_print_status (SmCliMesh              *mesh);
/* What went to peers: offloaded, answered by them, rerun locally, and
 * late answers ignored. */
void       sm_cli_mesh_print_summary (SmCliMesh             *mesh);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SmCliMesh, sm_cli_mesh_free)

/* The workload's totals once it has stopped: submitted, answered, failed,
 * shed, and any query lost or answered twice (which is an error: FALSE). */
gboolean  sm_cli_print_query_totals (const SmWorkloadCounts *counts,
                                     const char             *command);

int sm_cli_bench  (int    argc,
                   char **argv);
int sm_cli_doctor (int    argc,
                   char **argv);
int sm_cli_infer  (int    argc,
                   char **argv);
int sm_cli_keygen (int    argc,
                   char **argv);
int sm_cli_node   (int    argc,
                   char **argv);
int sm_cli_run    (int    argc,
                   char **argv);
int sm_cli_sessions (int    argc,
                     char **argv);
int sm_cli_trust  (int    argc,
                   char **argv);

G_END_DECLS
