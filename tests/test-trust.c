/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib/gstdio.h>
#include <zmq.h>

#include "sm-error.h"
#include "sm-trust.h"

/* Two real public keys, as `synmesh keygen` makes them. */
static void
make_key (char *public_key)
{
  char secret[41];

  g_assert_cmpint (zmq_curve_keypair (public_key, secret), ==, 0);
}

static void
test_trust_add_lookup_remove (void)
{
  g_autoptr(SmTrust) trust = sm_trust_new ();
  g_autoptr(GError) error = NULL;
  char a[41], b[41];
  guint8 raw[32];

  make_key (a);
  make_key (b);
  g_assert_true (sm_trust_add (trust, "lab-node-1", a, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (sm_trust_lookup (trust, a), ==, "lab-node-1");
  g_assert_null (sm_trust_lookup (trust, b));
  g_assert_nonnull (zmq_z85_decode (raw, a));
  g_assert_cmpstr (sm_trust_lookup_raw (trust, raw), ==, "lab-node-1");

  /* One name per key and one key per name. */
  g_assert_false (sm_trust_add (trust, "lab-node-1", b, &error));
  g_assert_nonnull (strstr (error->message, "already trusted"));
  g_clear_error (&error);
  g_assert_false (sm_trust_add (trust, "other", a, &error));
  g_assert_nonnull (strstr (error->message, "already trusted as “lab-node-1”"));
  g_clear_error (&error);

  /* Names are one printable word; keys are Z85 public keys. */
  g_assert_false (sm_trust_add (trust, "two words", b, &error));
  g_assert_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT);
  g_clear_error (&error);
  g_assert_false (sm_trust_add (trust, "", b, &error));
  g_clear_error (&error);
  g_assert_false (sm_trust_add (trust, "x", "not-a-key", &error));
  g_assert_nonnull (strstr (error->message, "Z85"));
  g_clear_error (&error);

  g_assert_true (sm_trust_add (trust, "gpu-box", b, &error));
  g_assert_cmpuint (sm_trust_get_count (trust), ==, 2);
  g_assert_true (sm_trust_remove (trust, "lab-node-1"));
  g_assert_false (sm_trust_remove (trust, "lab-node-1"));
  g_assert_null (sm_trust_lookup (trust, a));
  g_assert_cmpstr (sm_trust_lookup (trust, b), ==, "gpu-box");
  g_assert_cmpuint (sm_trust_get_count (trust), ==, 1);

  /* Walked in order, by index; past the end there is nothing. */
  {
    const char *name = NULL, *key = NULL;

    g_assert_true (sm_trust_add (trust, "third", a, &error));
    g_assert_true (sm_trust_get_peer (trust, 0, &name, &key));
    g_assert_cmpstr (name, ==, "gpu-box");
    g_assert_cmpstr (key, ==, b);
    g_assert_true (sm_trust_get_peer (trust, 1, &name, NULL));
    g_assert_cmpstr (name, ==, "third");
    g_assert_false (sm_trust_get_peer (trust, 2, &name, &key));
  }
}

static void
test_trust_file (void)
{
  g_autofree char *dir = g_dir_make_tmp ("synmesh-trust-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, SM_TRUST_FILE_NAME, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(SmTrust) missing = NULL, loaded = NULL, again = NULL;
  g_autofree char *contents = NULL;
  char a[41], b[41];

  /* No file: nobody is trusted, and that is not an error. */
  missing = sm_trust_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sm_trust_get_count (missing), ==, 0);

  make_key (a);
  make_key (b);
  contents = g_strdup_printf ("# lab\n\n  alpha %s  \nbeta\t\t%s\n", a, b);
  g_assert_true (g_file_set_contents_full (path, contents, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644, NULL));
  loaded = sm_trust_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sm_trust_lookup (loaded, a), ==, "alpha");
  g_assert_cmpstr (sm_trust_lookup (loaded, b), ==, "beta");

  /* Saved and read back: the same peers, in the same order. */
  g_assert_true (sm_trust_save (loaded, path, &error));
  g_clear_pointer (&contents, g_free);
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_cmpuint (strstr (contents, "alpha") - contents, <, strstr (contents, "beta") - contents);
  again = sm_trust_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sm_trust_get_count (again), ==, 2);
  g_assert_cmpstr (sm_trust_lookup (again, b), ==, "beta");

  /* Bad lines are named by number; nothing half-loaded is returned. */
  {
    g_autofree char *three = g_strdup_printf ("alpha %s extra\n", a);
    g_autofree char *dup = g_strdup_printf ("alpha %s\n# c\nalpha %s\n", a, b);
    const struct { const char *contents, *says; } cases[] = {
      { "alpha\n", ":1: expected" },
      { three, ":1: expected" },
      { "alpha 012345678901234567890123456789012345678~\n", ":1: the key of “alpha”" },
      { dup, ":3: a peer named “alpha”" },
    };

    for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
      {
        g_autoptr(GError) load_error = NULL;
        g_autoptr(SmTrust) bad = NULL;

        g_assert_true (g_file_set_contents_full (path, cases[i].contents, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, NULL));
        bad = sm_trust_load (path, &load_error);
        g_test_message ("%s", load_error ? load_error->message : "(loaded)");
        g_assert_null (bad);
        g_assert_error (load_error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT);
        g_assert_nonnull (strstr (load_error->message, cases[i].says));
      }
  }

  /* A file others may write is refused. */
  g_assert_true (g_file_set_contents_full (path, "", -1, G_FILE_SET_CONTENTS_CONSISTENT, 0666, NULL));
  g_assert_cmpint (g_chmod (path, 0666), ==, 0);
  g_assert_null (sm_trust_load (path, &error));
  g_assert_nonnull (strstr (error->message, "chmod go-w"));

  g_assert_cmpint (g_unlink (path), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/engine/mesh/trust/add-lookup-remove", test_trust_add_lookup_remove);
  g_test_add_func ("/engine/mesh/trust/file", test_trust_file);

  return g_test_run ();
}
