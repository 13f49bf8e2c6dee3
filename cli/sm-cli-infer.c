/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "sm-cli.h"
#include "sm-engine.h"
#include "sm-npy.h"
#include "sm-safetensors.h"

static int
infer_text (const char *text,
            SmEngine   *engine)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SmResult) result = sm_engine_infer (engine, text, &error);
  g_autoptr(GString) experts = g_string_new (NULL);

  if (result == NULL)
    {
      g_printerr ("synmesh infer: %s\n", error->message);
      return SM_CLI_EXIT_FAILED;
    }

  for (guint i = 0; i < result->n_experts; i++)
    g_string_append_printf (experts, "%s%s %.0f %%", i ? ", " : "",
                            sm_domain_get_name (result->experts[i]), 100.0 * result->weights[i]);

  g_print ("%-10s %s\n", _("domain"), sm_domain_get_name (result->domain));
  g_print ("%-10s %s\n", _("experts"), experts->str);
  g_print ("%-10s %s %u of %u, %s %.4f\n", _("answer"), _("output"), result->argmax,
           result->output_width, _("softmax confidence"), result->confidence);
  g_print ("%-10s %s %.1f µs, %s %.1f µs, %s %.1f µs, %s %.1f µs, %s %.1f µs\n", _("latency"),
           _("features"), result->features_ns / 1e3, _("routing"), result->routing_ns / 1e3,
           _("queue"), result->queue_ns / 1e3, _("inference"), result->inference_ns / 1e3,
           _("total"), result->total_ns / 1e3);

  return SM_CLI_EXIT_OK;
}

static int
infer_npy (SmModel         *model,
           const char      *expert_id,
           const SmKernels *kernels,
           const char      *input_path,
           const char      *output_path)
{
  g_autoptr(GError) error = NULL;
  SmNpyArray input = { 0 }, output = { 0 };
  SmDomain domain = SM_DOMAIN_REASONING;
  SmExpert *expert;
  float *scratch;
  int status = SM_CLI_EXIT_FAILED;
  const guint chunk = 256;

  if (expert_id != NULL && !sm_domain_from_id (expert_id, &domain))
    {
      g_printerr (_("synmesh infer: unknown expert “%s” (reasoning, coding, language, mathematics, tooluse, context)\n"),
                  expert_id);
      return SM_CLI_EXIT_USAGE;
    }
  if (expert_id == NULL && !sm_model_is_single_expert (model))
    {
      g_printerr (_("synmesh infer: the model has several experts; choose one with --expert\n"));
      return SM_CLI_EXIT_USAGE;
    }
  expert = sm_model_get_expert (model, domain);
  if (expert == NULL)
    {
      g_printerr (_("synmesh infer: the model has no %s expert\n"), sm_domain_get_name (domain));
      return SM_CLI_EXIT_FAILED;
    }

  if (!sm_npy_load (input_path, &input, &error))
    {
      g_printerr ("synmesh infer: %s\n", error->message);
      return SM_CLI_EXIT_FAILED;
    }
  if (input.cols != sm_expert_get_input_width (expert))
    {
      g_printerr (_("synmesh infer: %s has %u columns, the %s expert takes %u inputs\n"),
                  input_path, input.cols, sm_domain_get_name (domain), sm_expert_get_input_width (expert));
      sm_npy_array_clear (&input);
      return SM_CLI_EXIT_FAILED;
    }

  output.one_d = input.one_d;
  output.rows = input.rows;
  output.cols = sm_expert_get_output_width (expert);
  output.data = g_new (float, (gsize) output.rows * output.cols + 1);
  scratch = g_aligned_alloc (sm_expert_scratch_floats (expert, chunk), sizeof (float), 64);

  for (guint r = 0; r < input.rows; r += chunk)
    sm_expert_forward (expert, kernels, input.data + (gsize) r * input.cols, MIN (chunk, input.rows - r),
                       output.data + (gsize) r * output.cols, scratch);

  if (sm_npy_save (output_path, &output, &error))
    {
      g_print (_("%u rows → %s (%u outputs each, %s kernels)\n"), output.rows, output_path, output.cols, kernels->name);
      status = SM_CLI_EXIT_OK;
    }
  else
    g_printerr ("synmesh infer: %s\n", error->message);

  g_aligned_free (scratch);
  sm_npy_array_clear (&input);
  sm_npy_array_clear (&output);

  return status;
}

int
sm_cli_infer (int    argc,
              char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL, *model_path = NULL, *preset_name = NULL, *backend_name = NULL;
  g_autofree char *input = NULL, *output = NULL, *expert = NULL;
  gboolean consensus = FALSE;
  int pool_mib = SM_POOL_DEFAULT_LIMIT / (1024 * 1024);
  SmPreset preset = SM_PRESET_STANDARD;
  SmBackend backend = SM_BACKEND_AUTO;
  const GOptionEntry entries[] = {
    { "text", 't', 0, G_OPTION_ARG_STRING, &text, N_("Answer this query and show its route and latencies"), N_("TEXT") },
    { "input", 'i', 0, G_OPTION_ARG_FILENAME, &input, N_("Run the expert on the rows of this float32 .npy"), N_("X.npy") },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, N_("Write the outputs here (.npy)"), N_("Y.npy") },
    { "expert", 'e', 0, G_OPTION_ARG_STRING, &expert, N_("The expert to run on --input (a domain)"), N_("DOMAIN") },
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model_path, N_("Load this .safetensors model"), N_("FILE") },
    { "preset", 'p', 0, G_OPTION_ARG_STRING, &preset_name, N_("Use a preset: micro, standard (default), large"), N_("NAME") },
    { "backend", 'b', 0, G_OPTION_ARG_STRING, &backend_name, N_("Kernels: auto, generic, avx2, avx512, neon"), N_("NAME") },
    { "consensus", 0, 0, G_OPTION_ARG_NONE, &consensus, N_("Ask up to three experts and mix their answers"), NULL },
    { "pool-limit", 0, 0, G_OPTION_ARG_INT, &pool_mib, N_("Memory pool limit in MiB (default 25)"), N_("MIB") },
    { NULL }
  };

  g_option_context_set_summary (context,
    _("Runs a model: on a text query (--text), or on the rows of a NumPy file\n"
      "(--input X.npy --output Y.npy, one expert, float32, 1-D or 2-D)."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!sm_cli_parse_options (context, &argc, &argv))
    return SM_CLI_EXIT_USAGE;

  if ((text == NULL) == (input == NULL) || (input != NULL) != (output != NULL))
    {
      g_printerr (_("synmesh infer: give either --text, or --input and --output. Try “synmesh infer --help”.\n"));
      return SM_CLI_EXIT_USAGE;
    }
  if (preset_name != NULL && !sm_preset_from_name (preset_name, &preset))
    {
      g_printerr (_("synmesh infer: unknown preset “%s” (micro, standard, large)\n"), preset_name);
      return SM_CLI_EXIT_USAGE;
    }
  if (backend_name != NULL && !sm_backend_from_name (backend_name, &backend))
    {
      g_printerr (_("synmesh infer: unknown backend “%s”\n"), backend_name);
      return SM_CLI_EXIT_USAGE;
    }
  if (pool_mib <= 0 || (gsize) pool_mib > SM_POOL_MAX_LIMIT / (1024 * 1024))
    {
      g_printerr (_("synmesh infer: the pool limit must be from 1 to %zu MiB\n"),
                  (gsize) (SM_POOL_MAX_LIMIT / (1024 * 1024)));
      return SM_CLI_EXIT_USAGE;
    }

  if (text != NULL)
    {
      g_autoptr(SmEngine) engine = sm_engine_new ((gsize) pool_mib * 1024 * 1024, 1, &error);

      if (engine == NULL ||
          !sm_engine_set_backend (engine, backend, &error) ||
          (model_path != NULL && !sm_engine_load_model (engine, model_path, &error)) ||
          (model_path == NULL && preset != SM_PRESET_STANDARD && !sm_engine_load_preset (engine, preset, &error)))
        {
          g_printerr ("synmesh infer: %s\n", error->message);
          return SM_CLI_EXIT_FAILED;
        }
      sm_engine_set_consensus (engine, consensus);
      return infer_text (text, engine);
    }
  else
    {
      g_autoptr(SmPool) pool = sm_pool_new ((gsize) pool_mib * 1024 * 1024, &error);
      g_autoptr(SmModel) model = NULL;
      const char *reason = NULL;
      const SmKernels *kernels = sm_backend_get_kernels (backend, &reason);

      if (kernels == NULL)
        {
          g_printerr (_("synmesh infer: the %s backend is not available: %s\n"), backend_name, reason);
          return SM_CLI_EXIT_FAILED;
        }
      if (pool != NULL)
        model = model_path != NULL ? sm_safetensors_load (model_path, pool, SM_PRECISION_F32, &error)
                                   : sm_model_new_preset (preset, pool, &error);
      if (model == NULL)
        {
          g_printerr ("synmesh infer: %s\n", error->message);
          return SM_CLI_EXIT_FAILED;
        }
      return infer_npy (model, expert, kernels, input, output);
    }
}
