/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#include "sm-cli.h"
#include "sm-cpu.h"
#include "sm-identity.h"
#include "sm-json.h"
#include "sm-paths.h"
#include "sm-simd.h"
#include "sm-trust.h"
#include "sm-gpu.h"
#include "sm-vulkan-loader.h"

/* Everything doctor reports, gathered once and then printed either as an
 * aligned table for people or as JSON for scripts and tests. */
typedef struct
{
  const SmCpuInfo *cpu;
  SmVulkanLoader  *vulkan;
  SmGpu           *gpu;            /* the device the backend would use, or NULL */
  char            *gpu_error;      /* why there is none */
  char            *data_dir;
  gboolean         data_dir_exists;
  char            *key_path;
  char            *fingerprint;    /* NULL when the key cannot be read */
  char            *key_error;
  char            *trust_path;
  int              trusted_peers;  /* -1 when the file cannot be read */
  char            *trust_error;
} Report;

static void
report_clear (Report *report)
{
  g_clear_pointer (&report->vulkan, sm_vulkan_loader_free);
  g_clear_pointer (&report->gpu, sm_gpu_free);
  g_clear_pointer (&report->gpu_error, g_free);
  g_clear_pointer (&report->data_dir, g_free);
  g_clear_pointer (&report->key_path, g_free);
  g_clear_pointer (&report->fingerprint, g_free);
  g_clear_pointer (&report->key_error, g_free);
  g_clear_pointer (&report->trust_path, g_free);
  g_clear_pointer (&report->trust_error, g_free);
}

/* The node's key and trust list, read as the node will read them. */
static void
report_mesh (Report *report)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SmTrust) trust = NULL;
  SmIdentity identity;

  report->key_path = sm_identity_default_path (report->data_dir);
  if (sm_identity_load (report->key_path, &identity, &error))
    report->fingerprint = sm_identity_fingerprint (identity.public_key);
  else
    report->key_error = g_strdup (error->message);
  memset (&identity, 0, sizeof identity);
  g_clear_error (&error);

  report->trust_path = g_build_filename (report->data_dir, SM_TRUST_FILE_NAME, NULL);
  trust = sm_trust_load (report->trust_path, &error);
  report->trusted_peers = trust != NULL ? (int) sm_trust_get_count (trust) : -1;
  if (trust == NULL)
    report->trust_error = g_strdup (error->message);
}

static char *
format_api_version (guint32 version)
{
  return g_strdup_printf ("%u.%u.%u", (version >> 22) & 0x7f,
                          (version >> 12) & 0x3ff, version & 0xfff);
}

static char *
join_features (SmCpuFeatures features)
{
  g_auto(GStrv) names = sm_cpu_features_to_strv (features);

  return names[0] != NULL ? g_strjoinv (" ", names) : g_strdup (_("none"));
}

static void
print_row (const char *label,
           const char *value)
{
  g_print ("  %-16s %s\n", label, value);
}

static void
print_text (const Report *report)
{
  const SmCpuInfo *cpu = report->cpu;
  g_autofree char *usable = join_features (cpu->usable);
  g_autofree char *cpus = g_strdup_printf ("%u", cpu->logical_cpus);
  g_autofree char *target = g_strdup_printf ("%s, %s", SM_HOST_CPU,
                                             SM_BUILD_NATIVE ? _("native (-march=native)")
                                                             : _("portable"));

  g_print (_("Synaptic Mesh %s\n\n"), PACKAGE_VERSION);

  g_print ("%s\n", _("Build"));
  print_row (_("build type"), SM_BUILD_TYPE);
  print_row (_("compiler"), SM_COMPILER);
  print_row (_("target"), target);
  print_row (_("application"), SM_HAVE_GUI ? _("built") : _("not built (GTK 4 or libadwaita missing)"));

  g_print ("\n%s\n", _("CPU"));
  print_row (_("model"), cpu->model);
  print_row (_("vendor"), cpu->vendor);
  print_row (_("logical CPUs"), cpus);
  print_row (_("features"), usable);
  if (cpu->reported != cpu->usable)
    {
      g_autofree char *masked = join_features (cpu->reported & ~cpu->usable);
      g_autofree char *why = g_strdup_printf (_("%s (the CPU has them, the OS does not enable their registers)"),
                                              masked);
      print_row (_("not usable"), why);
    }
  if (SM_ARCH_X86_64)
    {
      g_autofree char *xcr0 = g_strdup_printf ("0x%" G_GINT64_MODIFIER "x", cpu->xcr0);
      print_row ("XCR0", xcr0);
    }

  g_print ("\n%s\n", _("Kernels"));
  for (SmSimdLevel level = 0; level < SM_SIMD_N_LEVELS; level++)
    {
      const char *reason = NULL;
      const SmKernels *kernels = sm_simd_get_kernels_for (level, &reason);
      g_autofree char *state = NULL;

      if (kernels != NULL)
        state = g_strdup_printf ("%s%s", _("available"),
                                 level == sm_simd_get_best_level () ? _(", in use") : "");
      else
        state = g_strdup_printf (_("off: %s"), reason);
      print_row (sm_simd_level_get_name (level), state);
    }

  g_print ("\n%s\n", _("Paths"));
  {
    g_autofree char *dir = g_strdup_printf ("%s%s", report->data_dir,
                                            report->data_dir_exists ? "" : _(" (created on first use)"));
    print_row (_("data directory"), dir);
  }

  g_print ("\n%s\n", _("Mesh"));
  if (report->fingerprint != NULL)
    {
      g_autofree char *key = g_strdup_printf (_("%s, fingerprint %s"), report->key_path, report->fingerprint);
      print_row (_("node key"), key);
    }
  else
    print_row (_("node key"), report->key_error);
  if (report->trusted_peers >= 0)
    {
      g_autofree char *peers = g_file_test (report->trust_path, G_FILE_TEST_EXISTS)
                               ? g_strdup_printf (_("%d in %s"), report->trusted_peers, report->trust_path)
                               : g_strdup_printf (_("none (no %s yet)"), report->trust_path);
      print_row (_("trusted peers"), peers);
    }
  else
    print_row (_("trusted peers"), report->trust_error);

  g_print ("\n%s\n", _("Vulkan"));
  if (report->vulkan->present)
    {
      g_autofree char *api = format_api_version (report->vulkan->api_version);
      g_autofree char *loader = g_strdup_printf (_("libvulkan.so.1, instance API %s"), api);
      print_row (_("loader"), loader);
    }
  else
    {
      g_autofree char *missing = g_strdup_printf (_("not found (%s)"), report->vulkan->error);
      print_row (_("loader"), missing);
    }
  if (report->gpu != NULL)
    {
      const SmGpuInfo *info = sm_gpu_get_info (report->gpu);
      g_autofree char *device = g_strdup_printf ("%s (%s)", info->device_name, info->device_type);
      g_autofree char *api = format_api_version (info->api_version);
      g_autofree char *memory = g_format_size_full (info->device_local_bytes, G_FORMAT_SIZE_IEC_UNITS);
      g_autofree char *subgroup = g_strdup_printf ("%u", info->subgroup_size);
      g_autofree char *limits = g_strdup_printf (_("%u invocations, %u KiB shared memory per workgroup"),
                                                 info->max_workgroup_invocations, info->max_shared_memory / 1024);
      g_autofree char *timestamps = info->timestamp_period_ns > 0
                                    ? g_strdup_printf (_("yes, %.3g ns per tick"), info->timestamp_period_ns)
                                    : g_strdup (_("no"));
      g_autofree char *staging = g_strdup_printf (info->reads_batch_in_place
                                                  ? _("batches read in place from %s, answers written to %s")
                                                  : _("batches copied in from %s, answers written to %s"),
                                                  info->upload_memory, info->readback_memory);
      g_autofree char *tiles = info->forced_tiles != 0
                               ? g_strdup_printf (_("%u×%u always (forced by SM_GPU_TILES)"),
                                                  sm_gpu_gemm_tile (report->gpu, 1, 1), sm_gpu_gemm_tile (report->gpu, 1, 1))
                               : info->large_tiles_from == G_MAXUINT
                               ? g_strdup_printf (_("64×64 only (%s)"), info->tiles_status)
                               : g_strdup_printf (_("128×128 from %u such workgroups on, 64×64 below (%s)"),
                                                  info->large_tiles_from, info->tiles_status);

      print_row (_("device"), device);
      print_row (_("driver"), info->driver);
      print_row (_("device API"), api);
      print_row (_("device memory"), memory);
      print_row (_("subgroup size"), subgroup);
      print_row (_("limits"), limits);
      print_row (_("timestamps"), timestamps);
      print_row (_("staging"), staging);
      print_row (_("tensor cores"), info->matrix_cores_status);
      print_row (_("GEMM tiles"), tiles);
    }
  else
    print_row (_("device"), report->gpu_error);
}

static void
add_features (JsonBuilder   *builder,
              const char    *member,
              SmCpuFeatures  features)
{
  g_auto(GStrv) names = sm_cpu_features_to_strv (features);

  json_builder_set_member_name (builder, member);
  json_builder_begin_array (builder);
  for (guint i = 0; names[i] != NULL; i++)
    json_builder_add_string_value (builder, names[i]);
  json_builder_end_array (builder);
}

static void
print_json (const Report *report)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;
  const SmCpuInfo *cpu = report->cpu;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "version");
  json_builder_add_string_value (builder, PACKAGE_VERSION);

  json_builder_set_member_name (builder, "build");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, SM_BUILD_TYPE);
  json_builder_set_member_name (builder, "compiler");
  json_builder_add_string_value (builder, SM_COMPILER);
  json_builder_set_member_name (builder, "arch");
  json_builder_add_string_value (builder, SM_HOST_CPU);
  json_builder_set_member_name (builder, "native");
  json_builder_add_boolean_value (builder, SM_BUILD_NATIVE);
  json_builder_set_member_name (builder, "gui");
  json_builder_add_boolean_value (builder, SM_HAVE_GUI);
  json_builder_end_object (builder);

  json_builder_set_member_name (builder, "cpu");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "model");
  json_builder_add_string_value (builder, cpu->model);
  json_builder_set_member_name (builder, "vendor");
  json_builder_add_string_value (builder, cpu->vendor);
  json_builder_set_member_name (builder, "threads");
  json_builder_add_int_value (builder, cpu->logical_cpus);
  add_features (builder, "features", cpu->usable);
  add_features (builder, "reported", cpu->reported);
  json_builder_set_member_name (builder, "xcr0");
  json_builder_add_int_value (builder, (gint64) cpu->xcr0);
  json_builder_end_object (builder);

  json_builder_set_member_name (builder, "kernels");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "in_use");
  json_builder_add_string_value (builder, sm_simd_level_get_name (sm_simd_get_best_level ()));
  for (SmSimdLevel level = 0; level < SM_SIMD_N_LEVELS; level++)
    {
      const char *reason = NULL;

      json_builder_set_member_name (builder, sm_simd_level_get_name (level));
      if (sm_simd_get_kernels_for (level, &reason) != NULL)
        json_builder_add_string_value (builder, "available");
      else
        json_builder_add_string_value (builder, reason);
    }
  json_builder_end_object (builder);

  json_builder_set_member_name (builder, "data_dir");
  json_builder_add_string_value (builder, report->data_dir);

  json_builder_set_member_name (builder, "mesh");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "key");
  json_builder_add_string_value (builder, report->key_path);
  json_builder_set_member_name (builder, "fingerprint");
  if (report->fingerprint != NULL)
    json_builder_add_string_value (builder, report->fingerprint);
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "key_error");
  if (report->key_error != NULL)
    json_builder_add_string_value (builder, report->key_error);
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "trusted_peers");
  if (report->trusted_peers >= 0)
    json_builder_add_int_value (builder, report->trusted_peers);
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "trust_error");
  if (report->trust_error != NULL)
    json_builder_add_string_value (builder, report->trust_error);
  else
    json_builder_add_null_value (builder);
  json_builder_end_object (builder);

  json_builder_set_member_name (builder, "vulkan_loader");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "present");
  json_builder_add_boolean_value (builder, report->vulkan->present);
  json_builder_set_member_name (builder, "api_version");
  if (report->vulkan->present)
    {
      g_autofree char *api = format_api_version (report->vulkan->api_version);
      json_builder_add_string_value (builder, api);
    }
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "error");
  if (report->vulkan->error != NULL)
    json_builder_add_string_value (builder, report->vulkan->error);
  else
    json_builder_add_null_value (builder);
  json_builder_end_object (builder);

  json_builder_set_member_name (builder, "gpu");
  if (report->gpu != NULL)
    {
      const SmGpuInfo *info = sm_gpu_get_info (report->gpu);
      g_autofree char *api = format_api_version (info->api_version);

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "device");
      json_builder_add_string_value (builder, info->device_name);
      json_builder_set_member_name (builder, "type");
      json_builder_add_string_value (builder, info->device_type);
      json_builder_set_member_name (builder, "driver");
      json_builder_add_string_value (builder, info->driver);
      json_builder_set_member_name (builder, "api_version");
      json_builder_add_string_value (builder, api);
      json_builder_set_member_name (builder, "device_local_bytes");
      json_builder_add_int_value (builder, (gint64) info->device_local_bytes);
      json_builder_set_member_name (builder, "subgroup_size");
      json_builder_add_int_value (builder, info->subgroup_size);
      json_builder_set_member_name (builder, "max_workgroup_invocations");
      json_builder_add_int_value (builder, info->max_workgroup_invocations);
      json_builder_set_member_name (builder, "max_shared_memory");
      json_builder_add_int_value (builder, info->max_shared_memory);
      json_builder_set_member_name (builder, "timestamp_period_ns");
      sm_json_builder_add_number (builder, info->timestamp_period_ns);
      json_builder_set_member_name (builder, "upload_memory");
      json_builder_add_string_value (builder, info->upload_memory);
      json_builder_set_member_name (builder, "readback_memory");
      json_builder_add_string_value (builder, info->readback_memory);
      json_builder_set_member_name (builder, "reads_batch_in_place");
      json_builder_add_boolean_value (builder, info->reads_batch_in_place);
      json_builder_set_member_name (builder, "matrix_cores");
      json_builder_add_boolean_value (builder, info->matrix_cores);
      json_builder_set_member_name (builder, "matrix_cores_status");
      json_builder_add_string_value (builder, info->matrix_cores_status);
      json_builder_set_member_name (builder, "large_tiles_from_workgroups");
      if (info->large_tiles_from == G_MAXUINT)
        json_builder_add_null_value (builder);
      else
        json_builder_add_int_value (builder, info->large_tiles_from);
      json_builder_set_member_name (builder, "forced_tiles");
      json_builder_add_int_value (builder, info->forced_tiles);
      json_builder_set_member_name (builder, "tiles_status");
      json_builder_add_string_value (builder, info->tiles_status);
      json_builder_end_object (builder);
    }
  else
    {
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "error");
      json_builder_add_string_value (builder, report->gpu_error);
      json_builder_end_object (builder);
    }

  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  text = json_generator_to_data (generator, NULL);
  g_print ("%s\n", text);
}

int
sm_cli_doctor (int    argc,
               char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new (NULL);
  Report report = { 0 };
  gboolean as_json = FALSE;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, N_("Print one JSON object instead of a table"), NULL },
    { NULL }
  };

  g_option_context_set_summary (context,
    _("Shows what Synaptic Mesh found on this machine: CPU model and instruction\n"
      "sets (as the CPU reports them and as the OS enables them), which kernel\n"
      "sets it can run and which it chose, how it was built, where its data\n"
      "lives, this node's key and trusted peers, and whether a Vulkan loader\n"
      "is installed.\n\n"
      "SM_SIMD_DISABLE=avx512,avx2 turns kernel sets off."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!sm_cli_parse_options (context, &argc, &argv))
    return SM_CLI_EXIT_USAGE;
  if (argc > 1)
    {
      g_printerr (_("%s: unexpected argument “%s”\n"), argv[0], argv[1]);
      return SM_CLI_EXIT_USAGE;
    }

  report.cpu = sm_cpu_info_get ();
  report.vulkan = sm_vulkan_loader_probe ();
  {
    g_autoptr(GError) error = NULL;

    report.gpu = sm_gpu_new (&error);
    if (report.gpu == NULL)
      report.gpu_error = g_strdup (error->message);
  }
  report.data_dir = sm_paths_get_data_dir ();
  report.data_dir_exists = g_file_test (report.data_dir, G_FILE_TEST_IS_DIR);
  /* What the engine will use; doctor reads it, never measures. */
  if (report.gpu != NULL)
    {
      g_autofree char *tiles = g_build_filename (report.data_dir, SM_GPU_TILES_FILE, NULL);

      sm_gpu_tiles_load (report.gpu, tiles);
    }
  report_mesh (&report);

  if (as_json)
    print_json (&report);
  else
    print_text (&report);

  report_clear (&report);

  return SM_CLI_EXIT_OK;
}
