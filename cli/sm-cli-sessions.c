/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib/gi18n.h>

#include "sm-cli.h"
#include "sm-comparison.h"
#include "sm-metric-ids.h"
#include "sm-store.h"

static char *
format_time (gint64 unix_ms)
{
  g_autoptr(GDateTime) t = g_date_time_new_from_unix_local (unix_ms / 1000);

  return unix_ms > 0 && t != NULL ? g_date_time_format (t, "%Y-%m-%d %H:%M:%S") : g_strdup (_("(not ended)"));
}

/* A session id: 1 to 2⁶³−1, all digits; anything longer is refused rather
 * than clamped to the largest id. */
static gboolean
parse_id (const char *text,
          gint64     *id)
{
  char *end;

  errno = 0;
  *id = g_ascii_strtoll (text, &end, 10);
  return errno == 0 && end != text && *end == '\0' && *id > 0;
}

static int
list_sessions (SmStore *store)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) sessions = sm_store_list_sessions (store, &error);

  if (sessions == NULL)
    {
      g_printerr ("synmesh sessions: %s\n", error->message);
      return SM_CLI_EXIT_FAILED;
    }
  g_print ("%5s  %-19s  %-19s  %10s  %s\n", _("id"), _("started"), _("ended"), _("samples"), _("name"));
  for (guint i = 0; i < sessions->len; i++)
    {
      SmSessionInfo *s = g_ptr_array_index (sessions, i);
      g_autofree char *started = format_time (s->started_ms), *ended = format_time (s->ended_ms);
      g_autofree char *name = sm_cli_escape (s->name);

      g_print ("%5" G_GINT64_FORMAT "  %-19s  %-19s  %10" G_GINT64_FORMAT "  %s\n",
               s->id, started, ended, s->samples, name);
    }
  if (sessions->len == 0)
    g_print (_("No sessions recorded in %s yet.\n"), sm_store_get_path (store));

  return SM_CLI_EXIT_OK;
}

static int
show_session (SmStore *store,
              gint64   id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) sessions = sm_store_list_sessions (store, &error);
  g_autoptr(GPtrArray) recommendations = NULL;
  SmSessionInfo *s = NULL;

  for (guint i = 0; sessions != NULL && i < sessions->len; i++)
    if (((SmSessionInfo *) g_ptr_array_index (sessions, i))->id == id)
      s = g_ptr_array_index (sessions, i);
  if (s == NULL)
    {
      g_printerr (_("synmesh sessions: there is no session %" G_GINT64_FORMAT "\n"), id);
      return SM_CLI_EXIT_FAILED;
    }

  {
    g_autofree char *started = format_time (s->started_ms), *ended = format_time (s->ended_ms);
    g_autofree char *name = sm_cli_escape (s->name), *cpu = sm_cli_escape (s->cpu), *host = sm_cli_escape (s->host);
    g_autofree char *model = sm_cli_escape (s->model), *config = sm_cli_escape (s->config);

    g_print ("%-10s %s\n%-10s %s\n%-10s %s\n%-10s %s on %s\n%-10s %s\n%-10s %s\n%-10s %" G_GINT64_FORMAT "\n",
             _("name"), name, _("started"), started, _("ended"), ended, _("machine"), cpu, host,
             _("model"), model, _("knobs"), config, _("samples"), s->samples);
  }

  recommendations = sm_store_list_recommendations (store, id, &error);
  for (guint i = 0; recommendations != NULL && i < recommendations->len; i++)
    {
      SmRecommendation *r = g_ptr_array_index (recommendations, i);
      static const char * const statuses[] = { "open", "applied", "dismissed", "reverted" };
      g_autofree char *title = sm_cli_escape (r->title), *evidence = sm_cli_escape (r->evidence), *action = sm_cli_escape (r->action);

      g_print ("\n[%s] %s (%s)\n    %s\n    %s\n", sm_severity_get_name (r->severity), title,
               statuses[r->status], evidence, action);
      if (r->outcome != NULL)
        {
          g_autofree char *outcome = sm_cli_escape (r->outcome);

          g_print ("    %s %s\n", _("outcome:"), outcome);
        }
    }

  return SM_CLI_EXIT_OK;
}

/* On a terminal, a long export shows how far it is. */
static gboolean
print_progress (double   fraction,
                gpointer user_data)
{
  g_printerr (fraction < 1 ? "\r%s %3.0f %%" : "\r%s %3.0f %%\n", _("Exporting…"), 100 * fraction);
  return TRUE;
}

static const SmSessionInfo *
find_session (GPtrArray *sessions,
              gint64     id)
{
  for (guint i = 0; sessions != NULL && i < sessions->len; i++)
    if (((SmSessionInfo *) g_ptr_array_index (sessions, i))->id == id)
      return g_ptr_array_index (sessions, i);
  return NULL;
}

/* "mean … +3.1 % [+1.2, +5.0] better": the change, its 95 % interval when
 * the runs are long enough to have one, and the verdict. */
static void
print_summary (const char         *label,
               const SmComparison *c)
{
  g_print ("%10s  %14.4g  %14.4g  ", label, c->mean_a, c->mean_b);
  if (c->verdict == SM_VERDICT_UNKNOWN)
    g_print ("%8s %s\n", "—", _(sm_verdict_get_name (c->verdict)));
  else if (isnan (c->change_low))
    g_print ("%+7.1f%% %s %s\n", c->change, _(sm_verdict_get_name (c->verdict)),
             _("(too few samples for an interval)"));
  else
    g_print ("%+7.1f%% [%+.1f, %+.1f] %s\n", c->change, c->change_low, c->change_high,
             _(sm_verdict_get_name (c->verdict)));
}

static int
compare_sessions (SmStore    *store,
                  gint64      a,
                  gint64      b,
                  const char *metric)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) pa = NULL, pb = NULL;
  g_autoptr(GPtrArray) sessions = NULL, differences = NULL;
  const SmSessionInfo *info_a, *info_b;
  double rate_a, rate_b;
  SmComparison result;

  /* A session that is not there is said so, before its samples are
   * looked for. */
  sessions = sm_store_list_sessions (store, &error);
  if (sessions == NULL)
    {
      g_printerr ("synmesh sessions: %s\n", error->message);
      return SM_CLI_EXIT_FAILED;
    }
  info_a = find_session (sessions, a);
  info_b = find_session (sessions, b);
  if (info_a == NULL || info_b == NULL)
    {
      g_printerr (_("synmesh sessions: there is no session %" G_GINT64_FORMAT "\n"), info_a == NULL ? a : b);
      return SM_CLI_EXIT_FAILED;
    }
  if (!sm_store_compare (store, a, b, metric, 20, &pa, &pb, &error))
    {
      g_printerr ("synmesh sessions: %s\n", error->message);
      return SM_CLI_EXIT_FAILED;
    }
  g_print ("%10s  %14s  %14s  %8s\n", _("time s"), "#", "#", _("change"));
  g_print ("%10s  %14" G_GINT64_FORMAT "  %14" G_GINT64_FORMAT "\n", metric, a, b);
  for (guint i = 0; i < MIN (pa->len, pb->len); i++)
    {
      const SmStorePoint *x = &g_array_index (pa, SmStorePoint, i), *y = &g_array_index (pb, SmStorePoint, i);

      g_print ("%10.1f  %14.4g  %14.4g  %+7.0f%%\n", x->t_ms / 1e3, x->mean, y->mean,
               x->mean != 0 ? 100 * (y->mean - x->mean) / fabs (x->mean) : 0.0);
    }

  /* The verdict the Sessions page shows for the same two runs. */
  sm_comparison_compute (metric, pa, pb, &result);
  print_summary (_("mean"), &result);

  /* What else differed: a change in the settings or the offered load
   * explains a difference before the engine does. */
  differences = sm_comparison_diff_configs (info_a->config, info_b->config);
  if (differences == NULL)
    {
      g_print ("\n%s\n", _("The settings of one run cannot be read: whether they differ is unknown."));
      return SM_CLI_EXIT_OK;
    }
  g_print ("\n%s\n", differences->len > 0 ? _("Settings that differ:") : _("Same settings and offered load."));
  for (guint i = 0; i < differences->len; i++)
    {
      g_autofree char *line = sm_cli_escape (g_ptr_array_index (differences, i));

      g_print ("  %s\n", line);
    }

  rate_a = sm_comparison_offered_rate (info_a->config);
  rate_b = sm_comparison_offered_rate (info_b->config);
  if (g_str_equal (metric, SM_METRIC_ID_THROUGHPUT) && !isnan (rate_a) && !isnan (rate_b) && rate_a != rate_b)
    {
      SmComparison normalised;

      sm_comparison_compute_scaled (metric, pa, 1 / rate_a, pb, 1 / rate_b, &normalised);
      g_print (_("\nThe offered load differs (%g → %g queries/s): answered per offered query\n"), rate_a, rate_b);
      print_summary (_("per offer"), &normalised);
    }
  return SM_CLI_EXIT_OK;
}

int
sm_cli_sessions (int    argc,
                 char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new (_("list | show ID | export ID | delete ID | compare ID ID | prune"));
  g_autoptr(GError) error = NULL;
  g_autoptr(SmStore) store = NULL;
  g_autofree char *db_path = NULL, *format = NULL, *output = NULL, *recovered = NULL, *metric = NULL;
  double max_age = 0, max_size = 0;
  gint64 id = 0, other = 0;
  gboolean force = FALSE;
  const char *verb;
  const GOptionEntry entries[] = {
    { "db", 0, 0, G_OPTION_ARG_FILENAME, &db_path, N_("The database (default: $SYNMESH_DB or the data folder)"), N_("FILE") },
    { "format", 'f', 0, G_OPTION_ARG_STRING, &format, N_("Export as csv (long-format samples and events), json (the whole session: samples, events, recommendations) or sqlite (the session as a database of its own, for --db)"), N_("FORMAT") },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, N_("Export into this file"), N_("FILE") },
    { "force", 0, 0, G_OPTION_ARG_NONE, &force, N_("export: replace FILE when it exists (only a regular file)"), NULL },
    { "metric", 'm', 0, G_OPTION_ARG_STRING, &metric, N_("The metric to compare (default latency.p99)"), N_("ID") },
    { "max-age", 0, 0, G_OPTION_ARG_DOUBLE, &max_age, N_("prune: thin sessions older than this many days (0 to 36500)"), N_("DAYS") },
    { "max-size", 0, 0, G_OPTION_ARG_DOUBLE, &max_size, N_("prune: then delete the oldest sessions above this size (0 or more)"), N_("MIB") },
    { NULL }
  };

  g_option_context_set_summary (context, _("Lists, shows, exports or deletes recorded tuning sessions."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!sm_cli_parse_options (context, &argc, &argv))
    return SM_CLI_EXIT_USAGE;

  verb = argc > 1 ? argv[1] : "list";
  if (!(g_str_equal (verb, "list") && argc <= 2) && !(g_str_equal (verb, "prune") && argc == 2) &&
      !(g_str_equal (verb, "compare") && argc == 4 && parse_id (argv[2], &id) && parse_id (argv[3], &other)) &&
      (argc != 3 || !parse_id (argv[2], &id) ||
       !(g_str_equal (verb, "show") || g_str_equal (verb, "export") || g_str_equal (verb, "delete"))))
    {
      g_printerr (_("synmesh sessions: expected list, show ID, export ID, delete ID, compare ID ID or prune. "
                    "Try “synmesh sessions --help”.\n"));
      return SM_CLI_EXIT_USAGE;
    }
  if (g_str_equal (verb, "export") && output == NULL)
    {
      g_printerr (_("synmesh sessions: export needs --output FILE\n"));
      return SM_CLI_EXIT_USAGE;
    }
  /* Checked before they are multiplied into ms and bytes. */
  if (!(max_age >= 0 && max_age <= SM_STORE_MAX_AGE_DAYS) ||
      !(max_size >= 0 && max_size <= (double) (G_MAXINT64 / (1024 * 1024))))
    {
      g_printerr (_("synmesh sessions: --max-age is 0 to %g days and --max-size 0 or more MiB\n"),
                  SM_STORE_MAX_AGE_DAYS);
      return SM_CLI_EXIT_USAGE;
    }

  if (db_path == NULL)
    db_path = sm_store_default_path ();
  /* Every verb here reads or changes what is recorded: where nothing is,
   * none of them creates a folder or an empty database. */
  if (!g_file_test (db_path, G_FILE_TEST_EXISTS))
    {
      if (g_str_equal (verb, "list"))
        g_print (_("No sessions recorded in %s yet.\n"), db_path);
      else if (g_str_equal (verb, "prune"))
        g_print (_("%u sessions thinned, %u deleted.\n"), 0, 0);
      else
        {
          g_printerr (_("synmesh sessions: there is no session %" G_GINT64_FORMAT " (no database at %s)\n"),
                      id, db_path);
          return SM_CLI_EXIT_FAILED;
        }
      return SM_CLI_EXIT_OK;
    }
  /* A verb that only reads reports a file that is not a healthy
   * database; it neither keeps it aside nor starts a new one there. */
  if ((g_str_equal (verb, "list") || g_str_equal (verb, "show") || g_str_equal (verb, "compare")
       || g_str_equal (verb, "export"))
      && !sm_store_check_file (db_path, &error))
    {
      g_printerr ("synmesh sessions: %s\n", error->message);
      return SM_CLI_EXIT_FAILED;
    }
  store = sm_store_open (db_path, &recovered, &error);
  if (store == NULL)
    {
      g_printerr ("synmesh sessions: %s\n", error->message);
      return SM_CLI_EXIT_FAILED;
    }
  if (recovered != NULL)
    g_printerr ("synmesh sessions: %s\n", recovered);

  if (g_str_equal (verb, "list"))
    return list_sessions (store);
  if (g_str_equal (verb, "show"))
    return show_session (store, id);
  if (g_str_equal (verb, "compare"))
    return compare_sessions (store, id, other, metric != NULL ? metric : SM_METRIC_ID_LATENCY_P99);
  if (g_str_equal (verb, "prune"))
    {
      guint thinned = 0, deleted = 0;

      if (!sm_store_apply_retention (store, max_age, (gint64) (max_size * 1024 * 1024), 10000,
                                     &thinned, &deleted, &error))
        {
          g_printerr ("synmesh sessions: %s\n", error->message);
          return SM_CLI_EXIT_FAILED;
        }
      g_print (_("%u sessions thinned, %u deleted.\n"), thinned, deleted);
      return SM_CLI_EXIT_OK;
    }
  if (g_str_equal (verb, "delete"))
    {
      if (!sm_store_delete_session (store, id, &error))
        {
          g_printerr ("synmesh sessions: %s\n", error->message);
          return SM_CLI_EXIT_FAILED;
        }
      g_print (_("Session %" G_GINT64_FORMAT " deleted.\n"), id);
      return SM_CLI_EXIT_OK;
    }

  if (!sm_store_export (store, id, format != NULL ? format : "csv", output,
                        force ? SM_STORE_EXPORT_OVERWRITE : SM_STORE_EXPORT_NONE,
                        isatty (STDERR_FILENO) ? print_progress : NULL, NULL, &error))
    {
      g_printerr ("synmesh sessions: %s%s\n", error->message,
                  g_error_matches (error, G_IO_ERROR, G_IO_ERROR_EXISTS) ? _(" (--force replaces it)") : "");
      return SM_CLI_EXIT_FAILED;
    }
  g_print (_("Session %" G_GINT64_FORMAT " exported to %s.\n"), id, output);
  return SM_CLI_EXIT_OK;
}
