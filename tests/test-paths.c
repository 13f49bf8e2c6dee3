/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <sys/stat.h>
#include <glib/gstdio.h>

#include "sm-paths.h"

static void
test_paths_default (void)
{
  g_autofree char *expected = g_build_filename (g_get_user_data_dir (), "synaptic-mesh", NULL);
  g_autofree char *dir = NULL;

  g_unsetenv (SM_DATA_DIR_ENV);
  dir = sm_paths_get_data_dir ();
  g_assert_cmpstr (dir, ==, expected);
}

static void
test_paths_override_and_create (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = g_dir_make_tmp ("synmesh-paths-XXXXXX", &error);
  g_autofree char *nested = NULL;
  g_autofree char *dir = NULL;
  GStatBuf st;

  g_assert_no_error (error);
  nested = g_build_filename (tmp, "a", "b", NULL);
  g_setenv (SM_DATA_DIR_ENV, nested, TRUE);

  dir = sm_paths_ensure_data_dir (&error);
  g_assert_no_error (error);
  g_assert_cmpstr (dir, ==, nested);
  g_assert_cmpint (g_stat (dir, &st), ==, 0);
  g_assert_true (S_ISDIR (st.st_mode));
  /* It will hold private keys: nobody else may even list it. */
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);

  g_rmdir (nested);
  {
    g_autofree char *parent = g_path_get_dirname (nested);
    g_rmdir (parent);
  }
  g_rmdir (tmp);
  g_unsetenv (SM_DATA_DIR_ENV);
}

static void
test_paths_create_fails_clearly (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;

  /* A path under a regular file can never become a directory. */
  g_setenv (SM_DATA_DIR_ENV, "/dev/null/synaptic-mesh", TRUE);
  dir = sm_paths_ensure_data_dir (&error);
  g_assert_null (dir);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "/dev/null/synaptic-mesh"));
  g_unsetenv (SM_DATA_DIR_ENV);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/engine/paths/default", test_paths_default);
  g_test_add_func ("/engine/paths/override-and-create", test_paths_override_and_create);
  g_test_add_func ("/engine/paths/create-fails-clearly", test_paths_create_fails_clearly);

  return g_test_run ();
}
