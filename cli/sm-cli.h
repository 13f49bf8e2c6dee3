/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

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

G_END_DECLS
