/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <unistd.h>
#include <glib/gi18n.h>

#include "sm-bench.h"
#include "sm-chart-bench.h"
#include "sm-cli.h"
#include "sm-engine-bench.h"
#include "sm-gpu-bench.h"
#include "sm-mesh-bench.h"
#include "sm-pool-bench.h"
#include "sm-simd-bench.h"
#include "sm-store-bench.h"

typedef struct
{
  const char *name;
  const char *summary;
  void      (*run) (SmBenchReport *report, gboolean quick);
} Area;

static void
progress_cb (const char *what,
             double      fraction,
             gpointer    user_data)
{
  /* Only for a person watching a terminal; pipes and logs stay clean. */
  g_printerr ("\r\033[K[%3.0f%%] %s", fraction * 100, what);
  if (fraction >= 1.0)
    g_printerr ("\r\033[K");
}

static void
run_kernels (SmBenchReport *report,
             gboolean       quick)
{
  sm_simd_bench_kernels (report, quick ? SM_SIMD_BENCH_QUICK : SM_SIMD_BENCH_FULL,
                         isatty (STDERR_FILENO) ? progress_cb : NULL, NULL);
}

static void
run_pool (SmBenchReport *report,
          gboolean       quick)
{
  sm_pool_bench (report);
  sm_monitor_overhead_bench (report);
}

static void
run_engine (SmBenchReport *report,
            gboolean       quick)
{
  sm_engine_bench (report);
}

static void
run_store (SmBenchReport *report,
           gboolean       quick)
{
  sm_store_bench (report);
}

static void
run_mesh (SmBenchReport *report,
          gboolean       quick)
{
  sm_mesh_bench (report, quick);
}

static void
run_ui (SmBenchReport *report,
        gboolean       quick)
{
  sm_chart_bench (report);
}

static void
run_gpu (SmBenchReport *report,
         gboolean       quick)
{
  sm_gpu_bench (report, quick);
}

static const Area areas[] = {
  { "kernels", N_("SIMD kernels: FMA peak, GEMM/GEMV against OpenBLAS and generic, activations, two threads"), run_kernels },
  { "pool",    N_("Memory pool against glibc malloc, histogram recording, monitor overhead"), run_pool },
  { "engine",  N_("Query path: features and routing, batch-1 end to end, closed-loop throughput, latency at moderate load, scaling over workers"), run_engine },
  { "store",   N_("Session database: ingest, downsampled read, replay, recording overhead"), run_store },
  { "mesh",    N_("Mesh: wire codec, raw ZeroMQ against PING/PONG round trips, remote inference over five runs, throughput through a peer at batch 1, 8 and 32"), run_mesh },
  { "ui",      N_("Dashboard charts drawn headless: four charts of 100,000 points per series"), run_ui },
  { "gpu",     N_("Vulkan backend against the CPU kernels per batch size, the crossover, GEMM GFLOP/s"), run_gpu },
};

int
sm_cli_bench (int    argc,
              char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new (_("[AREA…]"));
  g_autoptr(GString) description = g_string_new (_("Areas:\n"));
  gboolean as_json = FALSE, quick = FALSE, check = FALSE;
  guint all_targets = 0, all_met = 0;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, N_("Print one JSON object per area instead of a table"), NULL },
    { "quick", 0, 0, G_OPTION_ARG_NONE, &quick, N_("Measure a few small cases only (seconds, not minutes)"), NULL },
    { "check", 0, 0, G_OPTION_ARG_NONE, &check, N_("Exit with status 1 when a target is missed"), NULL },
    { NULL }
  };

  for (guint i = 0; i < G_N_ELEMENTS (areas); i++)
    g_string_append_printf (description, "  %-10s %s\n", areas[i].name, _(areas[i].summary));
  g_string_append (description,
                   _("\nEvery figure is compared with a baseline measured in the same run;\n"
                     "ratios hold on this machine only. Without AREA, all areas run."));
  g_option_context_set_summary (context, _("Runs benchmarks and reports each target with whether it is met."));
  g_option_context_set_description (context, description->str);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!sm_cli_parse_options (context, &argc, &argv))
    return SM_CLI_EXIT_USAGE;

  for (int i = 1; i < argc; i++)
    {
      gboolean known = FALSE;

      for (guint j = 0; j < G_N_ELEMENTS (areas); j++)
        known |= g_str_equal (argv[i], areas[j].name);
      if (!known)
        {
          g_printerr (_("%s: unknown area “%s”. Try “%s --help”.\n"), argv[0], argv[i], argv[0]);
          return SM_CLI_EXIT_USAGE;
        }
    }

  for (guint j = 0; j < G_N_ELEMENTS (areas); j++)
    {
      g_autoptr(SmBenchReport) report = NULL;
      g_autofree char *text = NULL;
      gboolean wanted = argc == 1;
      guint targets, met;

      for (int i = 1; i < argc; i++)
        wanted |= g_str_equal (argv[i], areas[j].name);
      if (!wanted)
        continue;

      report = sm_bench_report_new (areas[j].name);
      areas[j].run (report, quick);
      text = as_json ? sm_bench_report_to_json (report) : sm_bench_report_to_table (report);
      g_print ("%s\n", text);

      sm_bench_report_count_met (report, &targets, &met);
      all_targets += targets;
      all_met += met;
    }

  if (!as_json)
    g_print (_("%u of %u targets met on this machine.\n"), all_met, all_targets);

  return check && all_met < all_targets ? SM_CLI_EXIT_FAILED : SM_CLI_EXIT_OK;
}
