/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib/gi18n.h>

#include "sm-cli.h"
#include "sm-identity.h"
#include "sm-paths.h"
#include "sm-trust.h"

/* `synmesh trust`: the trusted-peers file by command rather than by
 * editor.  The file is read and written by sm-trust.c alone, so the same
 * checks hold as when a node reads it (owner, mode, one key per name and
 * one name per key), and a save is atomic and 0600: a running node, which
 * reads the file again at its next heartbeat, sees the old list or the
 * new one, never half of it. */

static int
list_peers (SmTrust    *trust,
            const char *path)
{
  const char *name, *key;

  if (sm_trust_get_count (trust) == 0)
    {
      g_autofree char *shown = sm_cli_escape (path);

      g_print (_("No peers trusted in %s yet (“synmesh trust add NAME KEY” adds one).\n"), shown);
      return SM_CLI_EXIT_OK;
    }

  g_print ("%-20s %-40s  %s\n", _("name"), _("public key"), _("fingerprint"));
  for (guint i = 0; sm_trust_get_peer (trust, i, &name, &key); i++)
    {
      /* The file may have been edited by hand: nothing in it reaches the
       * terminal unescaped. */
      g_autofree char *shown_name = sm_cli_escape (name);
      g_autofree char *shown_key = sm_cli_escape (key);
      g_autofree char *fingerprint = sm_identity_fingerprint (key);

      g_print ("%-20s %-40s  %s\n", shown_name, shown_key, fingerprint);
    }
  return SM_CLI_EXIT_OK;
}

int
sm_cli_trust (int    argc,
              char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new (_("list | add NAME [--] KEY | remove NAME"));
  g_autoptr(GError) error = NULL;
  g_autoptr(SmTrust) trust = NULL;
  g_autofree char *path = NULL;
  const char *verb;
  const GOptionEntry entries[] = {
    { "trust", 0, 0, G_OPTION_ARG_FILENAME, &path, N_("The trusted-peers file (default: trusted-peers in the data directory)"), N_("FILE") },
    { NULL }
  };

  g_option_context_set_summary (context,
    _("Lists, adds or removes the peers this node trusts: their names, CURVE public\n"
      "keys (as “synmesh keygen” prints them) and fingerprints.  A running “synmesh node”\n"
      "or app reads the file again within a heartbeat: a peer added may connect, a peer\n"
      "removed is no longer served and its new connections are refused."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!sm_cli_parse_options (context, &argc, &argv))
    return SM_CLI_EXIT_USAGE;

  /* Z85 keys may begin with '-': "--" before them ends the options, and
   * GOption leaves it in place. */
  for (int i = 1; i < argc; i++)
    if (g_str_equal (argv[i], "--"))
      {
        memmove (&argv[i], &argv[i + 1], sizeof (char *) * (size_t) (argc - i));
        argc--;
        break;
      }

  verb = argc > 1 ? argv[1] : "list";
  if (!(g_str_equal (verb, "list") && argc <= 2) && !(g_str_equal (verb, "add") && argc == 4)
      && !(g_str_equal (verb, "remove") && argc == 3))
    {
      g_printerr (_("synmesh trust: expected list, add NAME KEY or remove NAME. Try “synmesh trust --help”.\n"));
      return SM_CLI_EXIT_USAGE;
    }

  if (path == NULL)
    {
      /* Listing creates nothing; a change needs the folder. */
      g_autofree char *data_dir = g_str_equal (verb, "list") ? sm_paths_get_data_dir ()
                                                             : sm_paths_ensure_data_dir (&error);

      if (data_dir == NULL)
        goto failed;
      path = g_build_filename (data_dir, SM_TRUST_FILE_NAME, NULL);
    }
  {
    /* As ssh does: a folder others may write lets them swap the file. */
    g_autofree char *warning = sm_identity_check_folder (path);

    if (warning != NULL)
      g_printerr (_("synmesh trust: warning: %s\n"), warning);
  }

  trust = sm_trust_load (path, &error);
  if (trust == NULL)
    goto failed;

  if (g_str_equal (verb, "list"))
    return list_peers (trust, path);

  if (g_str_equal (verb, "add"))
    {
      g_autofree char *fingerprint = NULL;

      /* Refuses a name or key already there, a name that is not one
       * printable word, and anything but a 40-character Z85 key. */
      if (!sm_trust_add (trust, argv[2], argv[3], &error) || !sm_trust_save (trust, path, &error))
        goto failed;
      fingerprint = sm_identity_fingerprint (argv[3]);
      g_print (_("Trusted %s (fingerprint %s) in %s.\n"), argv[2], fingerprint, path);
      return SM_CLI_EXIT_OK;
    }

  if (!sm_trust_remove (trust, argv[2]))
    {
      g_autofree char *shown = sm_cli_escape (argv[2]);

      g_printerr (_("synmesh trust: no peer named “%s” is trusted in %s\n"), shown, path);
      return SM_CLI_EXIT_FAILED;
    }
  if (!sm_trust_save (trust, path, &error))
    goto failed;
  g_print (_("%s is no longer trusted (%s).\n"), argv[2], path);
  return SM_CLI_EXIT_OK;

failed:
  {
    g_autofree char *shown = sm_cli_escape (error->message);

    g_printerr ("synmesh trust: %s\n", shown);
  }
  return SM_CLI_EXIT_FAILED;
}
