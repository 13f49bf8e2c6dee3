/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <glib/gi18n.h>

#include "sm-cli.h"

typedef struct
{
  const char       *name;
  const char       *summary;
  SmCliCommandFunc  func;
} SmCliCommand;

/* The commands of DESIGN.md, in the order a new user meets them. */
static const SmCliCommand commands[] = {
  { "doctor",   N_("Report CPU features, chosen kernels, build options, paths and the Vulkan loader"), sm_cli_doctor },
  { "run",      N_("Run a headless tuning session with live text metrics"),         sm_cli_run },
  { "bench",    N_("Run benchmarks against same-run baselines (--json)"),           sm_cli_bench },
  { "infer",    N_("Answer a query, or run a model on .npy inputs into .npy"),      sm_cli_infer },
  { "node",     N_("Run a headless mesh node"),                                     sm_cli_node },
  { "keygen",   N_("Create this node's CURVE keypair"),                             sm_cli_keygen },
  { "trust",    N_("List, add or remove the peers this node trusts"),              sm_cli_trust },
  { "sessions", N_("List, show, export or delete recorded sessions"),               sm_cli_sessions },
};

gboolean
sm_cli_parse_options (GOptionContext  *context,
                      int             *argc,
                      char          ***argv)
{
  g_autoptr(GError) error = NULL;

  if (!g_option_context_parse (context, argc, argv, &error))
    {
      g_printerr ("%s: %s\n", (*argv)[0], error->message);
      g_printerr (_("Try “%s --help”.\n"), (*argv)[0]);
      return FALSE;
    }

  return TRUE;
}

/* Text from a file as the terminal should see it: names are the user's
 * (or a damaged file's), so a newline must not break the table and
 * an escape sequence must not reach the terminal.  Control characters
 * (C0, DEL, C1) become \n, \t or \xNN / \uNNNN, bytes that are not UTF-8
 * \xNN; a backslash is doubled so that the result reads back one way. */
char *
sm_cli_escape (const char *text)
{
  GString *out;
  const char *p;

  if (text == NULL)
    return g_strdup ("");
  out = g_string_sized_new (strlen (text));
  for (p = text; *p != '\0'; )
    {
      gunichar c = g_utf8_get_char_validated (p, -1);

      if (c == (gunichar) -1 || c == (gunichar) -2)
        {
          g_string_append_printf (out, "\\x%02x", (guchar) *p);
          p++;
          continue;
        }
      if (c == '\n')
        g_string_append (out, "\\n");
      else if (c == '\t')
        g_string_append (out, "\\t");
      else if (c == '\r')
        g_string_append (out, "\\r");
      else if (c == '\\')
        g_string_append (out, "\\\\");
      else if (c < 0x20 || c == 0x7f)
        g_string_append_printf (out, "\\x%02x", c);
      else if (c >= 0x80 && c < 0xa0)
        g_string_append_printf (out, "\\u%04x", c);
      else
        g_string_append_len (out, p, g_utf8_next_char (p) - p);
      p = g_utf8_next_char (p);
    }
  return g_string_free (out, FALSE);
}

static char *
describe_commands (void)
{
  GString *text = g_string_new (_("Commands:\n"));

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    g_string_append_printf (text, "  %-10s %s\n", commands[i].name, _(commands[i].summary));
  g_string_append (text, _("\n“synmesh COMMAND --help” describes one command."));

  return g_string_free (text, FALSE);
}

static const SmCliCommand *
find_command (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (strcmp (commands[i].name, name) == 0)
      return &commands[i];

  return NULL;
}

static int
run_command (const SmCliCommand  *command,
             int                  argc,
             char               **argv)
{
  g_autofree char *prgname = g_strdup_printf ("synmesh %s", command->name);
  g_autofree char **sub_argv = g_new0 (char *, argc + 1);

  /* The command sees "synmesh <name>" as its program name, so that its own
   * --help and error messages name it. */
  sub_argv[0] = prgname;
  for (int i = 1; i < argc; i++)
    sub_argv[i] = argv[i];
  g_set_prgname (prgname);

  return command->func (argc, sub_argv);
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autofree char *description = NULL;
  g_autofree char *help = NULL;
  gboolean version = FALSE;
  const SmCliCommand *command;
  const GOptionEntry entries[] = {
    { "version", 'V', 0, G_OPTION_ARG_NONE, &version, N_("Print the version and exit"), NULL },
    { NULL }
  };

  setlocale (LC_ALL, "");
  /* The C locale (a bare container, env -i, cron) is ASCII: GLib would
   * print every µ, × and “ as '?'.  As Python does since 3.7 (PEP 538),
   * its character set becomes UTF-8 where the C.UTF-8 locale exists; a
   * locale the user chose stays as it is. */
  if (!g_get_charset (NULL)
      && (g_strcmp0 (setlocale (LC_CTYPE, NULL), "C") == 0 || g_strcmp0 (setlocale (LC_CTYPE, NULL), "POSIX") == 0))
    setlocale (LC_CTYPE, "C.UTF-8");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  /* The first word that is not an option names the command; everything
   * after it belongs to that command's own parser. */
  if (argc > 1 && argv[1][0] != '-')
    {
      command = find_command (argv[1]);
      if (command == NULL)
        {
          g_printerr (_("synmesh: unknown command “%s”. Try “synmesh --help”.\n"), argv[1]);
          return SM_CLI_EXIT_USAGE;
        }
      return run_command (command, argc - 1, argv + 1);
    }

  g_set_prgname ("synmesh");
  context = g_option_context_new (_("COMMAND [ARGS…]"));
  g_option_context_set_summary (context,
    _("The headless side of Synaptic Mesh: the same inference engine, mesh node and\n"
      "recorder as the desktop application, for machines without a display."));
  description = describe_commands ();
  g_option_context_set_description (context, description);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);

  if (!sm_cli_parse_options (context, &argc, &argv))
    return SM_CLI_EXIT_USAGE;

  if (version)
    {
      g_print ("synmesh %s\n", PACKAGE_VERSION);
      return SM_CLI_EXIT_OK;
    }

  help = g_option_context_get_help (context, TRUE, NULL);
  g_printerr ("%s", help);
  return SM_CLI_EXIT_USAGE;
}
