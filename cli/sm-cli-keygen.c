/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "sm-cli.h"
#include "sm-identity.h"
#include "sm-paths.h"

static void
print_identity (const char       *path,
                const SmIdentity *identity)
{
  g_autofree char *fingerprint = sm_identity_fingerprint (identity->public_key);

  g_print (_("Key file:    %s\n"), path);
  g_print (_("Public key:  %s\n"), identity->public_key);
  g_print (_("Fingerprint: %s\n"), fingerprint);
}

int
sm_cli_keygen (int    argc,
               char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  gboolean replace = FALSE, show = FALSE;
  SmIdentity identity;
  const GOptionEntry entries[] = {
    { "show", 's', 0, G_OPTION_ARG_NONE, &show, N_("Print the existing key's public half and fingerprint"), NULL },
    { "force", 'f', 0, G_OPTION_ARG_NONE, &replace, N_("Replace an existing key (peers that trust it will refuse this node)"), NULL },
    { "key", 'k', 0, G_OPTION_ARG_FILENAME, &path, N_("The key file (default: node.key in the data directory)"), N_("FILE") },
    { NULL }
  };

  g_option_context_set_summary (context,
    _("Creates this node's CURVE keypair (mode 0600) and prints its public key\n"
      "and fingerprint: give the public key to the peers that are to trust this node,\n"
      "and compare fingerprints to know it arrived intact."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!sm_cli_parse_options (context, &argc, &argv))
    return SM_CLI_EXIT_USAGE;
  if (show && replace)
    {
      g_printerr (_("synmesh keygen: --show and --force exclude each other\n"));
      return SM_CLI_EXIT_USAGE;
    }

  if (path == NULL)
    {
      g_autofree char *data_dir = sm_paths_ensure_data_dir (&error);

      if (data_dir == NULL)
        {
          g_printerr ("synmesh keygen: %s\n", error->message);
          return SM_CLI_EXIT_FAILED;
        }
      path = sm_identity_default_path (data_dir);
    }

  if (show ? !sm_identity_load (path, &identity, &error)
           : !sm_identity_create (path, replace, &identity, &error))
    {
      g_printerr ("synmesh keygen: %s\n", error->message);
      if (!show && !replace && g_file_test (path, G_FILE_TEST_EXISTS))
        g_printerr (_("Use --show to print it, or --force to replace it.\n"));
      return SM_CLI_EXIT_FAILED;
    }

  print_identity (path, &identity);
  return SM_CLI_EXIT_OK;
}
