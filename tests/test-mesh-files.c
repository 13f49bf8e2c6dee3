/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <zmq.h>

#include "sm-error.h"
#include "sm-identity.h"
#include "sm-trust.h"

/* The files that decide who may use a node are taken only from their
 * owner, as ssh takes its keys (issue 15). */

/* A private file (0600) that belongs to another user: made and given
 * away when we are root, else one the system has. */
static char *
foreign_file (const char *dir,
              const char *name,
              const char *contents,
              const char *fallback)
{
  char *path;

  if (getuid () != 0)
    {
      struct stat st;

      if (stat (fallback, &st) != 0 || st.st_uid == getuid ())
        return NULL;
      return g_strdup (fallback);
    }
  path = g_build_filename (dir, name, NULL);
  g_assert_true (g_file_set_contents_full (path, contents, -1, G_FILE_SET_CONTENTS_NONE, 0600, NULL));
  g_assert_cmpint (chown (path, 65534, 65534), ==, 0);
  return path;
}

static void
test_files_foreign_trust_refused (void)
{
  g_autofree char *dir = g_dir_make_tmp ("sm-files-XXXXXX", NULL);
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(SmTrust) trust = NULL;
  char public_key[41], secret_key[41];

  g_assert_cmpint (zmq_curve_keypair (public_key, secret_key), ==, 0);
  {
    g_autofree char *line = g_strdup_printf ("intruder %s\n", public_key);

    path = foreign_file (dir, SM_TRUST_FILE_NAME, line, "/etc/passwd");
  }
  if (path == NULL)
    {
      g_test_skip ("no file of another user to try");
      return;
    }
  trust = sm_trust_load (path, &error);
  g_assert_null (trust);
  g_assert_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT);
  g_assert_nonnull (strstr (error->message, "owned by user"));
  if (g_str_has_prefix (path, dir))
    g_unlink (path);
  g_rmdir (dir);
}

static void
test_files_foreign_key_refused (void)
{
  g_autofree char *dir = g_dir_make_tmp ("sm-files-XXXXXX", NULL);
  g_autofree char *mine = g_build_filename (dir, "mine.key", NULL);
  g_autofree char *contents = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  SmIdentity identity;

  /* A good key file, then the same bytes owned by someone else. */
  g_assert_true (sm_identity_create (mine, FALSE, &identity, &error));
  g_assert_true (sm_identity_load (mine, &identity, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (mine, &contents, NULL, NULL));
  path = foreign_file (dir, "foreign.key", contents, "/etc/shadow");
  if (path == NULL)
    {
      g_test_skip ("no file of another user to try");
      g_unlink (mine);
      g_rmdir (dir);
      return;
    }
  g_assert_false (sm_identity_load (path, &identity, &error));
  g_assert_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT);
  g_assert_nonnull (strstr (error->message, "owned by user"));
  if (g_str_has_prefix (path, dir))
    g_unlink (path);
  g_unlink (mine);
  g_rmdir (dir);
}

static void
test_files_open_folder_warned (void)
{
  g_autofree char *dir = g_dir_make_tmp ("sm-files-XXXXXX", NULL);
  g_autofree char *key = g_build_filename (dir, SM_IDENTITY_FILE_NAME, NULL);
  g_autofree char *quiet = NULL, *warning = NULL, *sticky = NULL;

  g_assert_cmpint (g_chmod (dir, 0700), ==, 0);
  quiet = sm_identity_check_folder (key);
  g_assert_null (quiet);
  g_assert_cmpint (g_chmod (dir, 0777), ==, 0);
  warning = sm_identity_check_folder (key);
  g_assert_nonnull (warning);
  g_assert_nonnull (strstr (warning, "0777"));
  /* As /tmp: others may write, but not replace our files. */
  g_assert_cmpint (g_chmod (dir, 01777), ==, 0);
  sticky = sm_identity_check_folder (key);
  g_assert_null (sticky);
  g_rmdir (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/engine/mesh/files/foreign-trust-refused", test_files_foreign_trust_refused);
  g_test_add_func ("/engine/mesh/files/foreign-key-refused", test_files_foreign_key_refused);
  g_test_add_func ("/engine/mesh/files/open-folder-warned", test_files_open_folder_warned);

  return g_test_run ();
}
