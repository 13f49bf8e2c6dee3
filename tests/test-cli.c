/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <locale.h>
#include <string.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "sm-cpu.h"
#include "sm-identity.h"
#include "sm-npy.h"
#include "sm-safetensors.h"
#include "sm-simd.h"
#include "sm-store.h"
#include "subprocess-test-util.h"

/* Runs the built synmesh (its path comes from meson) with @args and
 * returns its exit status, with stdout and stderr in @out and @err. */

/* Points SYNMESH_DATA_DIR at @dir for the commands run next and returns
 * what it was, for restore_data_dir(): the other tests rely on the test
 * environment's folder, never the user's. */
static char *
swap_data_dir (const char *dir)
{
  char *old = g_strdup (g_getenv ("SYNMESH_DATA_DIR"));

  g_setenv ("SYNMESH_DATA_DIR", dir, TRUE);
  return old;
}

static void
restore_data_dir (char *old)
{
  if (old != NULL)
    g_setenv ("SYNMESH_DATA_DIR", old, TRUE);
  else
    g_unsetenv ("SYNMESH_DATA_DIR");
  g_free (old);
}

static int
run_synmesh (const char * const  *args,
             char               **out,
             char               **err)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  const char *binary = g_getenv ("SYNMESH_BIN");

  g_assert_nonnull (binary);
  g_ptr_array_add (argv, (gpointer) binary);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);

  process = g_subprocess_newv ((const char * const *) argv->pdata,
                               G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                               &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, out, err, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (process));

  return g_subprocess_get_exit_status (process);
}

/* In the C locale (a bare container) the messages keep their characters,
 * where the C.UTF-8 locale exists to print them in; a locale the user
 * chose is left alone. */
static void
test_cli_c_locale (void)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                                                       | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *err = NULL;
  g_autofree char *old = g_strdup (setlocale (LC_CTYPE, NULL));
  gboolean has_c_utf8 = setlocale (LC_CTYPE, "C.UTF-8") != NULL;

  setlocale (LC_CTYPE, old);
  if (!has_c_utf8)
    {
      g_test_skip ("this system has no C.UTF-8 locale");
      return;
    }
  for (const char * const *name = (const char *[]) { "LANG", "LANGUAGE", "LC_CTYPE", "LC_MESSAGES", NULL }; *name; name++)
    g_subprocess_launcher_unsetenv (launcher, *name);
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C", TRUE);
  process = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("SYNMESH_BIN"), "no-such-command", NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, NULL, &err, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_subprocess_get_exit_status (process), ==, 2);
  g_assert_nonnull (strstr (err, "“no-such-command”"));
}

static void
test_cli_version (void)
{
  g_autofree char *out = NULL, *err = NULL;
  g_autofree char *expected = g_strdup_printf ("synmesh %s\n", PACKAGE_VERSION);

  g_assert_cmpint (run_synmesh ((const char *[]) { "--version", NULL }, &out, &err), ==, 0);
  g_assert_cmpstr (out, ==, expected);
}

static void
test_cli_help_lists_commands (void)
{
  const char *commands[] = { "doctor", "run", "bench", "infer", "node", "keygen", "trust", "sessions" };
  g_autofree char *out = NULL, *err = NULL;

  g_assert_cmpint (run_synmesh ((const char *[]) { "--help", NULL }, &out, &err), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      g_autofree char *row = g_strdup_printf ("\n  %s ", commands[i]);
      g_assert_nonnull (strstr (out, row));
    }
}

static void
test_cli_no_command_is_usage_error (void)
{
  g_autofree char *out = NULL, *err = NULL;

  g_assert_cmpint (run_synmesh ((const char *[]) { NULL }, &out, &err), ==, 2);
  g_assert_nonnull (strstr (err, "Commands:"));
}

/* A wrong value is named, not only "invalid". */
static void
test_cli_run_names_wrong_value (void)
{
  g_autofree char *out = NULL, *err = NULL;

  g_assert_cmpint (run_synmesh ((const char *[]) { "run", "--no-store", "--duration", "-3", NULL }, &out, &err), ==, 2);
  g_assert_nonnull (strstr (err, "--duration"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_synmesh ((const char *[]) { "run", "--no-store", "--gpu", "maybe", NULL }, &out, &err), ==, 2);
  g_assert_nonnull (strstr (err, "--gpu"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_synmesh ((const char *[]) { "run", "--no-store", "--precision", "fp4", NULL }, &out, &err), ==, 2);
  g_assert_nonnull (strstr (err, "--precision"));
}

static void
test_cli_unknown_command (void)
{
  g_autofree char *out = NULL, *err = NULL;

  g_assert_cmpint (run_synmesh ((const char *[]) { "frobnicate", NULL }, &out, &err), ==, 2);
  g_assert_nonnull (strstr (err, "unknown command “frobnicate”"));
}

static void
test_cli_bad_option (void)
{
  g_autofree char *out = NULL, *err = NULL;

  g_assert_cmpint (run_synmesh ((const char *[]) { "doctor", "--no-such-option", NULL }, &out, &err), ==, 2);
  g_assert_nonnull (strstr (err, "synmesh doctor"));
}

static void
test_cli_doctor_help (void)
{
  g_autofree char *out = NULL, *err = NULL;

  g_assert_cmpint (run_synmesh ((const char *[]) { "doctor", "--help", NULL }, &out, &err), ==, 0);
  g_assert_nonnull (strstr (out, "synmesh doctor"));
  g_assert_nonnull (strstr (out, "--json"));
}

static void
test_cli_doctor_text (void)
{
  const SmCpuInfo *cpu = sm_cpu_info_get ();
  g_autofree char *out = NULL, *err = NULL;

  g_assert_cmpint (run_synmesh ((const char *[]) { "doctor", NULL }, &out, &err), ==, 0);
  g_assert_nonnull (strstr (out, cpu->model));
  g_assert_nonnull (strstr (out, "data directory"));
  g_assert_nonnull (strstr (out, "loader"));
}

/* The JSON report must say what this process detects itself. */
static void
test_cli_doctor_json (void)
{
  const SmCpuInfo *cpu = sm_cpu_info_get ();
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) expected = sm_cpu_features_to_strv (cpu->usable);
  g_autofree char *out = NULL, *err = NULL;
  JsonObject *root, *cpu_object;
  JsonArray *features;

  char *old_dir = swap_data_dir ("/nonexistent/synmesh-test");

  g_assert_cmpint (run_synmesh ((const char *[]) { "doctor", "--json", NULL }, &out, &err), ==, 0);
  restore_data_dir (old_dir);

  json_parser_load_from_data (parser, out, -1, &error);
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));

  g_assert_cmpstr (json_object_get_string_member (root, "version"), ==, PACKAGE_VERSION);
  g_assert_cmpstr (json_object_get_string_member (root, "data_dir"), ==, "/nonexistent/synmesh-test");

  cpu_object = json_object_get_object_member (root, "cpu");
  g_assert_cmpstr (json_object_get_string_member (cpu_object, "model"), ==, cpu->model);
  g_assert_cmpint (json_object_get_int_member (cpu_object, "threads"), ==, cpu->logical_cpus);

  features = json_object_get_array_member (cpu_object, "features");
  g_assert_cmpuint (json_array_get_length (features), ==, g_strv_length (expected));
  for (guint i = 0; expected[i] != NULL; i++)
    g_assert_cmpstr (json_array_get_string_element (features, i), ==, expected[i]);

  g_assert_true (json_object_has_member (root, "vulkan_loader"));
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (root, "kernels"), "generic"),
                   ==, "available");

  /* No key yet: doctor says how to make one; no trust file: nobody trusted. */
  {
    JsonObject *mesh = json_object_get_object_member (root, "mesh");

    g_assert_cmpstr (json_object_get_string_member (mesh, "key"), ==, "/nonexistent/synmesh-test/node.key");
    g_assert_true (json_object_get_null_member (mesh, "fingerprint"));
    g_assert_nonnull (strstr (json_object_get_string_member (mesh, "key_error"), "synmesh keygen"));
    g_assert_cmpint (json_object_get_int_member (mesh, "trusted_peers"), ==, 0);
  }
}

/* Kernel sets switched off by SM_SIMD_DISABLE are reported as such. */
static void
test_cli_doctor_simd_disable (void)
{
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonObject *kernels;

  g_setenv ("SM_SIMD_DISABLE", "avx512,avx2,neon", TRUE);
  g_assert_cmpint (run_synmesh ((const char *[]) { "doctor", "--json", NULL }, &out, &err), ==, 0);
  g_unsetenv ("SM_SIMD_DISABLE");

  json_parser_load_from_data (parser, out, -1, &error);
  g_assert_no_error (error);
  kernels = json_object_get_object_member (json_node_get_object (json_parser_get_root (parser)), "kernels");
  g_assert_cmpstr (json_object_get_string_member (kernels, "in_use"), ==, "generic");
  if (SM_HAVE_X86_KERNELS && (sm_cpu_info_get ()->usable & SM_CPU_FEATURE_AVX2))
    g_assert_cmpstr (json_object_get_string_member (kernels, "avx2"), ==, "disabled by SM_SIMD_DISABLE");
}

/* The quick kernel benchmark runs and reports in DESIGN.md's format:
 * every result with a target says whether it is met. */
static void
test_cli_bench_quick_json (void)
{
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonObject *root;
  JsonArray *results;
  guint with_target = 0;

  g_assert_cmpint (run_synmesh ((const char *[]) { "bench", "kernels", "--quick", "--json", NULL },
                                &out, &err), ==, 0);
  json_parser_load_from_data (parser, out, -1, &error);
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (root, "bench"), ==, "kernels");
  g_assert_true (json_object_has_member (json_object_get_object_member (root, "machine"), "features"));

  results = json_object_get_array_member (root, "results");
  g_assert_cmpuint (json_array_get_length (results), >, 10);
  for (guint i = 0; i < json_array_get_length (results); i++)
    {
      JsonObject *r = json_array_get_object_element (results, i);

      g_assert_cmpfloat (json_object_get_double_member (r, "value"), >, 0);
      g_assert_true (json_object_has_member (r, "baseline"));
      g_assert_true (json_object_has_member (r, "ratio"));
      if (!json_object_get_null_member (r, "target"))
        {
          with_target++;
          g_assert_false (json_object_get_null_member (r, "met"));
        }
    }
  g_assert_cmpuint (with_target, >, 0);
}

static void
test_cli_bench_unknown_area (void)
{
  g_autofree char *out = NULL, *err = NULL;

  g_assert_cmpint (run_synmesh ((const char *[]) { "bench", "nonsense", NULL }, &out, &err), ==, 2);
  g_assert_nonnull (strstr (err, "unknown area"));
}

/* A headless node starts, makes its key when it has none, says where it
 * listens, stops on time; bad options are refused before it binds. */
static void
test_cli_node (void)
{
  g_autofree char *dir = g_dir_make_tmp ("synmesh-node-XXXXXX", NULL);
  g_autofree char *key = g_build_filename (dir, "node.key", NULL);
  g_autofree char *out = NULL, *err = NULL;
  GStatBuf st;
  char *old_dir = swap_data_dir (dir);

  g_assert_cmpint (run_synmesh ((const char *[]) { "node", "--bind", "tcp://127.0.0.1:*", "--name", "cli-test",
                                                   "--duration", "0.3", NULL }, &out, &err), ==, 0);
  g_assert_nonnull (strstr (out, "listening tcp://127.0.0.1:"));
  g_assert_nonnull (strstr (out, " as cli-test"));
  g_assert_nonnull (strstr (out, "fingerprint "));
  g_assert_cmpint (g_stat (key, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_synmesh ((const char *[]) { "node", "--peer", "tcp://127.0.0.1:1=short", NULL }, &out, &err), ==, 2);
  g_assert_nonnull (strstr (err, "is not [NAME@]ENDPOINT=PUBLICKEY"));

  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_synmesh ((const char *[]) { "node", "--offload", "101", NULL }, &out, &err), ==, 2);
  g_assert_nonnull (strstr (err, "--offload is 0–100"));

  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_synmesh ((const char *[]) { "node", "--bind", "nonsense://x", NULL }, &out, &err), ==, 1);
  g_assert_nonnull (strstr (err, "Cannot listen on nonsense://x"));
  restore_data_dir (old_dir);

  g_assert_cmpint (g_unlink (key), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

/* keygen makes a key once, shows it on request, and replaces it only when
 * told to. */
static void
test_cli_keygen (void)
{
  g_autofree char *dir = g_dir_make_tmp ("synmesh-keygen-XXXXXX", NULL);
  g_autofree char *key = g_build_filename (dir, "node.key", NULL);
  g_autofree char *out = NULL, *err = NULL, *shown = NULL, *replaced = NULL;

  g_assert_cmpint (run_synmesh ((const char *[]) { "keygen", "--key", key, NULL }, &out, &err), ==, 0);
  g_assert_nonnull (strstr (out, "Public key:"));
  g_assert_nonnull (strstr (out, "Fingerprint:"));

  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_synmesh ((const char *[]) { "keygen", "--show", "--key", key, NULL }, &shown, &err), ==, 0);
  g_assert_cmpstr (shown, ==, out);

  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_synmesh ((const char *[]) { "keygen", "--key", key, NULL }, &replaced, &err), ==, 1);
  g_assert_nonnull (strstr (err, "already exists"));
  g_clear_pointer (&replaced, g_free);
  g_clear_pointer (&err, g_free);

  g_assert_cmpint (run_synmesh ((const char *[]) { "keygen", "--force", "--key", key, NULL }, &replaced, &err), ==, 0);
  g_assert_cmpstr (replaced, !=, out);

  g_assert_cmpint (g_unlink (key), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

/* trust: adds, lists with fingerprints, refuses duplicates and bad keys,
 * removes; the file stays 0600 and a hand-edited one is not trusted
 * blindly, nor echoed raw to the terminal. */
static void
test_cli_trust (void)
{
  g_autofree char *dir = g_dir_make_tmp ("synmesh-trust-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "trusted-peers", NULL);
  g_autofree char *key = g_build_filename (dir, "node.key", NULL);
  g_autofree char *a = NULL, *b = NULL, *fingerprint = NULL, *bad = NULL;
  g_autofree char *out = NULL, *err = NULL;
  char *old_dir = swap_data_dir (dir);
  GStatBuf st;

#define TRUST(status, ...) G_STMT_START { g_clear_pointer (&out, g_free); g_clear_pointer (&err, g_free); \
    g_assert_cmpint (run_synmesh ((const char *[]) { "trust", __VA_ARGS__, NULL }, &out, &err), ==, status); \
  } G_STMT_END
  /* Listing an empty folder creates nothing. */
  TRUST (0, "list");
  g_assert_nonnull (strstr (out, "No peers trusted"));
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));

  /* Two real keys, as keygen prints them; a leading '-' needs "--". */
  {
    SmIdentity ia, ib;

    do
      g_assert_true (sm_identity_create (key, TRUE, &ia, NULL));
    while (ia.public_key[0] == '-');
    do
      g_assert_true (sm_identity_create (key, TRUE, &ib, NULL));
    while (ib.public_key[0] == '-');
    a = g_strdup (ia.public_key);
    b = g_strdup (ib.public_key);
  }
  fingerprint = sm_identity_fingerprint (a);
  TRUST (0, "add", "lab-1", a);
  g_assert_nonnull (strstr (out, fingerprint));
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  TRUST (0, "add", "gpu-box", "--", b);

  TRUST (1, "add", "lab-1", b);
  g_assert_nonnull (strstr (err, "a peer named “lab-1” is already trusted"));
  TRUST (1, "add", "other", a);
  g_assert_nonnull (strstr (err, "already trusted as “lab-1”"));
  TRUST (1, "add", "short", "abc");
  g_assert_nonnull (strstr (err, "40-character Z85"));
  TRUST (2, "add", "only-a-name");

  TRUST (0, "list");
  g_assert_nonnull (strstr (out, "lab-1"));
  g_assert_nonnull (strstr (out, a));
  g_assert_nonnull (strstr (out, fingerprint));
  g_assert_nonnull (strstr (out, "gpu-box"));
  g_assert_cmpuint (strstr (out, "lab-1") - out, <, strstr (out, "gpu-box") - out);

  TRUST (1, "remove", "nobody");
  g_assert_nonnull (strstr (err, "no peer named “nobody”"));
  TRUST (0, "remove", "lab-1");
  TRUST (0, "--trust", path, "list");
  g_assert_null (strstr (out, "lab-1"));
  g_assert_nonnull (strstr (out, "gpu-box"));
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  /* A file others may write decides nothing, as for the node. */
  g_assert_cmpint (g_chmod (path, 0666), ==, 0);
  TRUST (1, "list");
  g_assert_nonnull (strstr (err, "chmod go-w"));
  TRUST (1, "add", "lab-1", a);

  /* A hand-edited name with an escape sequence: refused, and said
   * without the escape reaching the terminal. */
  bad = g_strdup_printf ("ev\x1b[31mil %s\n", a);
  /* A new file: GLib 2.84 (Debian 13) keeps an existing file's 0666 mode,
   * which would be refused first, for the mode. */
  g_assert_cmpint (g_unlink (path), ==, 0);
  g_assert_true (g_file_set_contents_full (path, bad, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, NULL));
  TRUST (1, "list");
  g_assert_null (strchr (err, '\x1b'));
  g_assert_nonnull (strstr (err, "ev\\x1b[31mil"));
#undef TRUST
  restore_data_dir (old_dir);

  g_assert_cmpint (g_unlink (path), ==, 0);
  g_assert_cmpint (g_unlink (key), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

static void
test_cli_infer_text (void)
{
  g_autofree char *out = NULL, *err = NULL;

  g_assert_cmpint (run_synmesh ((const char *[]) { "infer", "--text", "What is 17 times 23?", NULL },
                                &out, &err), ==, 0);
  g_assert_nonnull (strstr (out, "Mathematics"));
  g_assert_nonnull (strstr (out, "softmax confidence"));

  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_synmesh ((const char *[]) { "infer", NULL }, &out, &err), ==, 2);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_synmesh ((const char *[]) { "infer", "--text", "x", "--preset", "huge", NULL },
                                &out, &err), ==, 2);
  g_assert_nonnull (strstr (err, "unknown preset"));
}

/* .npy rows through the single network of a safetensors file, compared
 * with the same network run here. */
static void
test_cli_infer_npy (void)
{
  g_autofree char *model_path = g_test_build_filename (G_TEST_DIST, "data", "safetensors", "sequential-f32.safetensors", NULL);
  g_autofree char *bad = g_test_build_filename (G_TEST_DIST, "data", "npy", "float64.npy", NULL);
  g_autofree char *dir = g_dir_make_tmp ("synmesh-cli-XXXXXX", NULL);
  g_autofree char *x_path = g_build_filename (dir, "x.npy", NULL);
  g_autofree char *y_path = g_build_filename (dir, "y.npy", NULL);
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr(SmPool) pool = sm_pool_new (SM_POOL_DEFAULT_LIMIT, NULL);
  g_autoptr(SmModel) model = sm_safetensors_load (model_path, pool, SM_PRECISION_F32, NULL);
  SmExpert *expert = sm_model_get_expert (model, SM_DOMAIN_REASONING);
  float x[4 * 5], expected[4 * 3];
  float *scratch = g_aligned_alloc (sm_expert_scratch_floats (expert, 4), sizeof (float), 64);
  SmNpyArray input = { 4, 5, FALSE, x }, output;

  for (guint i = 0; i < 20; i++)
    x[i] = (float) i / 10 - 1;
  g_assert_true (sm_npy_save (x_path, &input, NULL));

  g_assert_cmpint (run_synmesh ((const char *[]) { "infer", "--model", model_path, "--input", x_path,
                                                   "--output", y_path, "--backend", "generic", NULL },
                                &out, &err), ==, 0);
  g_assert_true (sm_npy_load (y_path, &output, NULL));
  g_assert_cmpuint (output.rows, ==, 4);
  g_assert_cmpuint (output.cols, ==, 3);
  sm_expert_forward (expert, &sm_kernels_generic, x, 4, expected, scratch);
  g_assert_cmpmem (output.data, sizeof expected, expected, sizeof expected);
  sm_npy_array_clear (&output);

  /* Another dtype: refused, and said why. */
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_synmesh ((const char *[]) { "infer", "--model", model_path, "--input", bad,
                                                   "--output", y_path, NULL }, &out, &err), ==, 1);
  g_assert_nonnull (strstr (err, "float32"));

  /* Columns that do not match the expert's inputs. */
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_synmesh ((const char *[]) { "infer", "--preset", "micro", "--expert", "coding",
                                                   "--input", x_path, "--output", y_path, NULL }, &out, &err), ==, 1);
  g_assert_nonnull (strstr (err, "192 inputs"));

  g_aligned_free (scratch);
  g_unlink (x_path);
  g_unlink (y_path);
  g_rmdir (dir);
}

static void
test_cli_run (void)
{
  g_autofree char *out = NULL, *err = NULL;

  g_assert_cmpint (run_synmesh ((const char *[]) { "run", "--duration", "1.2", "--rate", "300",
                                                   "--refresh-ms", "250", NULL }, &out, &err), ==, 0);
  g_assert_nonnull (strstr (out, "ops/s"));
  g_assert_nonnull (strstr (out, "Summary"));
  g_assert_nonnull (strstr (out, " 0 failed"));

  /* In int8, saying what that costs (issue 18), and recording it. */
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_synmesh ((const char *[]) { "run", "--duration", "0.6", "--rate", "300", "--precision", "int8",
                                                   NULL }, &out, &err), ==, 0);
  g_assert_nonnull (strstr (out, "Weights in int8: on the calibration batch, outputs differ from f32 by up to"));
  g_assert_nonnull (strstr (out, " 0 failed"));

  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_synmesh ((const char *[]) { "run", "--mode", "sideways", NULL }, &out, &err), ==, 2);

  /* Offloading needs peers, and a peer is checked before anything runs. */
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_synmesh ((const char *[]) { "run", "--offload", "50", NULL }, &out, &err), ==, 2);
  g_assert_nonnull (strstr (err, "--peer"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_synmesh ((const char *[]) { "run", "--peer", "tcp://127.0.0.1:1=short", NULL }, &out, &err), ==, 2);
  g_assert_nonnull (strstr (err, "is not [NAME@]ENDPOINT=PUBLICKEY"));
}

/* With generic kernels forced, the advisor recommends vector kernels,
 * applies them and reports the measured outcome.  That takes a window
 * (2 s) to see, a tick to settle and a window to measure; the run goes on
 * until the outcome is said, however loaded the machine. */
static void
test_cli_run_auto_apply (void)
{
  g_autoptr(GSubprocess) child = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL, *err = NULL;

  if (!sm_simd_get_kernels_for (sm_simd_get_best_level (), NULL)->is_vector)
    {
      g_test_skip ("no vector kernels on this machine");
      return;
    }
  child = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE, &error,
                            g_getenv ("SYNMESH_BIN"), "run", "--duration", "300", "--rate", "300",
                            "--backend", "generic", "--auto-apply", "--refresh-ms", "250", NULL);
  g_assert_no_error (error);
  out = interrupt_when_told (child, g_subprocess_get_stdout_pipe (child), "outcome of “Switch the kernels to auto");
  g_assert_cmpint (g_subprocess_get_exit_status (child), ==, 0);
  g_assert_nonnull (strstr (out, "Kernels run without vector instructions"));
  g_assert_nonnull (strstr (out, "applied: Switch the kernels to auto"));

  /* Applied too near the end (seeing takes 2 s, measuring 2.25 s more):
   * the outcome is said to be unmeasured. */
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_synmesh ((const char *[]) { "run", "--duration", "3", "--rate", "300",
                                                   "--backend", "generic", "--auto-apply", "--no-store",
                                                   "--refresh-ms", "250", NULL }, &out, &err), ==, 0);
  if (strstr (out, "applied: Switch the kernels to auto") != NULL)
    g_assert_nonnull (strstr (out, "not measured, the run ended"));
}

/* Two recorded runs, then every sessions verb on them. */
static void
test_cli_sessions (void)
{
  g_autofree char *dir = g_dir_make_tmp ("synmesh-cli-db-XXXXXX", NULL);
  g_autofree char *db = g_build_filename (dir, "s.db", NULL);
  g_autofree char *csv = g_build_filename (dir, "s.csv", NULL);
  g_autofree char *out = NULL, *err = NULL;

  for (int i = 0; i < 2; i++)
    {
      g_clear_pointer (&out, g_free);
      g_clear_pointer (&err, g_free);
      g_assert_cmpint (run_synmesh ((const char *[]) { "run", "--db", db, "--duration", "1", "--rate", "200",
                                                       "--refresh-ms", "100", NULL }, &out, &err), ==, 0);
      g_assert_nonnull (strstr (out, "Recorded as session"));
    }

#define SESSIONS(...) G_STMT_START { g_clear_pointer (&out, g_free); g_clear_pointer (&err, g_free); \
    g_assert_cmpint (run_synmesh ((const char *[]) { "sessions", "--db", db, __VA_ARGS__, NULL }, &out, &err), ==, 0); \
  } G_STMT_END
  SESSIONS ("list");
  g_assert_nonnull (strstr (out, "    1  "));
  g_assert_nonnull (strstr (out, "    2  "));
  SESSIONS ("show", "1");
  g_assert_nonnull (strstr (out, "preset standard"));
  SESSIONS ("export", "2", "--format", "csv", "-o", csv);
  g_assert_true (g_file_test (csv, G_FILE_TEST_IS_REGULAR));
  /* An existing file is replaced only with --force. */
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_synmesh ((const char *[]) { "sessions", "--db", db, "export", "2", "-o", csv, NULL },
                                &out, &err), ==, 1);
  g_assert_nonnull (strstr (err, "already exists"));
  g_assert_nonnull (strstr (err, "--force"));
  SESSIONS ("export", "2", "--format", "json", "-o", csv, "--force");
  SESSIONS ("compare", "1", "2", "--metric", "engine.throughput");
  g_assert_nonnull (strstr (out, "engine.throughput"));
  /* A session that is not there is named as missing, not as sampleless. */
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_synmesh ((const char *[]) { "sessions", "--db", db, "compare", "1", "99", NULL }, &out, &err),
                   ==, 1);
  g_assert_nonnull (strstr (err, "there is no session 99"));
  SESSIONS ("prune", "--max-size", "0.001");
  g_assert_nonnull (strstr (out, "1 deleted"));
  SESSIONS ("delete", "2");
  SESSIONS ("list");
  g_assert_nonnull (strstr (out, "No sessions"));
#undef SESSIONS

  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_synmesh ((const char *[]) { "sessions", "--db", db, "show", "7", NULL }, &out, &err), ==, 1);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_synmesh ((const char *[]) { "sessions", "--db", db, "frob", NULL }, &out, &err), ==, 2);
}

/* Names come from the database: control characters are escaped, so a
 * newline cannot break the table nor an escape sequence reach the
 * terminal. */
static void
test_cli_sessions_escape (void)
{
  g_autofree char *dir = g_dir_make_tmp ("synmesh-cli-escape-XXXXXX", NULL);
  g_autofree char *db = g_build_filename (dir, "s.db", NULL);
  g_autofree char *out = NULL, *err = NULL;
  g_auto(GStrv) lines = NULL;

  {
    g_autoptr(SmStore) store = sm_store_open (db, NULL, NULL);
    gint64 session = sm_store_begin_session (store, "x", "m\x1b]0;title\x07", "{}", NULL);

    g_assert_cmpint (session, ==, 1);
    g_assert_true (sm_store_rename_session (store, session, "two\nlines \x1b[31mred\x1b[0m \xc2\x9b tab\there", NULL));
  }
  g_assert_cmpint (run_synmesh ((const char *[]) { "sessions", "--db", db, "list", NULL }, &out, &err), ==, 0);
  g_assert_null (strchr (out, '\x1b'));
  g_assert_null (strstr (out, "\xc2\x9b"));
  g_assert_nonnull (strstr (out, "two\\nlines \\x1b[31mred\\x1b[0m \\u009b tab\\there"));
  /* The header and one row. */
  lines = g_strsplit (out, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 3);

  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_synmesh ((const char *[]) { "sessions", "--db", db, "show", "1", NULL }, &out, &err), ==, 0);
  g_assert_null (strchr (out, '\x1b'));
  g_assert_null (strchr (out, '\x07'));
  g_assert_nonnull (strstr (out, "m\\x1b]0;title\\x07"));
}

/* Reading creates nothing: no folder, no empty database. */
static void
test_cli_sessions_missing_db (void)
{
  const char *db = "/nonexistent-synmesh-test/no/such/dir/x.db";
  g_autofree char *out = NULL, *err = NULL;

  g_assert_cmpint (run_synmesh ((const char *[]) { "sessions", "--db", db, "list", NULL }, &out, &err), ==, 0);
  g_assert_nonnull (strstr (out, "No sessions"));
  g_assert_false (g_file_test ("/nonexistent-synmesh-test", G_FILE_TEST_EXISTS));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_synmesh ((const char *[]) { "sessions", "--db", db, "show", "1", NULL }, &out, &err), ==, 1);
  g_assert_nonnull (strstr (err, "no session 1"));
  g_assert_false (g_file_test ("/nonexistent-synmesh-test", G_FILE_TEST_EXISTS));
}

/* A file that is not a session database, named with --db, is reported by
 * a command that only reads; it is neither moved aside nor replaced. */
static void
test_cli_sessions_not_a_database (void)
{
  g_autofree char *dir = g_dir_make_tmp ("synmesh-cli-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "notes.txt", NULL);
  const char *text = "These are notes, not sessions.\n";
  g_autofree char *after = NULL;

  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *out = NULL, *err = NULL;
      const char * const list[] = { "sessions", "--db", path, "list", NULL };
      const char * const show[] = { "sessions", "--db", path, "show", "1", NULL };

      g_assert_cmpint (run_synmesh (i == 0 ? list : show, &out, &err), ==, 1);
      g_assert_nonnull (strstr (err, "not a session database"));
    }
  g_assert_true (g_file_get_contents (path, &after, NULL, NULL));
  g_assert_cmpstr (after, ==, text);
  g_unlink (path);
  g_assert_cmpint (g_rmdir (dir), ==, 0);   /* nothing kept aside beside it */
}

/* Numbers out of range are refused, not clamped or taken. */
static void
test_cli_sessions_ranges (void)
{
  const char * const refused[][4] = {
    { "show", "99999999999999999999", NULL },
    { "show", "-1", NULL },
    { "delete", "9223372036854775808", NULL },
    { "compare", "1", "99999999999999999999", NULL },
    { "prune", "--max-age", "-5", NULL },
    { "prune", "--max-age", "nan", NULL },
    { "prune", "--max-age", "1e300", NULL },
    { "prune", "--max-size", "-1", NULL },
    { "prune", "--max-size", "1e300", NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_autofree char *out = NULL, *err = NULL;
      const char *args[8] = { "sessions", "--db", "/nonexistent-synmesh-test/x.db" };

      for (guint j = 0; refused[i][j] != NULL; j++)
        args[3 + j] = refused[i][j];
      g_assert_cmpint (run_synmesh (args, &out, &err), ==, 2);
    }
  g_assert_false (g_file_test ("/nonexistent-synmesh-test", G_FILE_TEST_EXISTS));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/cli/version", test_cli_version);
  g_test_add_func ("/cli/c-locale", test_cli_c_locale);
  g_test_add_func ("/cli/help-lists-commands", test_cli_help_lists_commands);
  g_test_add_func ("/cli/no-command-is-usage-error", test_cli_no_command_is_usage_error);
  g_test_add_func ("/cli/run-names-wrong-value", test_cli_run_names_wrong_value);
  g_test_add_func ("/cli/unknown-command", test_cli_unknown_command);
  g_test_add_func ("/cli/bad-option", test_cli_bad_option);
  g_test_add_func ("/cli/doctor/help", test_cli_doctor_help);
  g_test_add_func ("/cli/doctor/text", test_cli_doctor_text);
  g_test_add_func ("/cli/doctor/json", test_cli_doctor_json);
  g_test_add_func ("/cli/doctor/simd-disable", test_cli_doctor_simd_disable);
  g_test_add_func ("/cli/bench/quick-json", test_cli_bench_quick_json);
  g_test_add_func ("/cli/bench/unknown-area", test_cli_bench_unknown_area);
  g_test_add_func ("/cli/keygen", test_cli_keygen);
  g_test_add_func ("/cli/node", test_cli_node);
  g_test_add_func ("/cli/trust", test_cli_trust);
  g_test_add_func ("/cli/infer/text", test_cli_infer_text);
  g_test_add_func ("/cli/infer/npy", test_cli_infer_npy);
  g_test_add_func ("/cli/run", test_cli_run);
  g_test_add_func ("/cli/run-auto-apply", test_cli_run_auto_apply);
  g_test_add_func ("/cli/sessions", test_cli_sessions);
  g_test_add_func ("/cli/sessions/escape", test_cli_sessions_escape);
  g_test_add_func ("/cli/sessions/missing-db", test_cli_sessions_missing_db);
  g_test_add_func ("/cli/sessions/not-a-database", test_cli_sessions_not_a_database);
  g_test_add_func ("/cli/sessions/ranges", test_cli_sessions_ranges);

  return g_test_run ();
}
