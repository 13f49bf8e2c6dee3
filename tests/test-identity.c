/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <sys/stat.h>
#include <glib/gstdio.h>

#include "sm-error.h"
#include "sm-identity.h"

typedef struct
{
  char *dir;
  char *path;
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  f->dir = g_dir_make_tmp ("synmesh-identity-XXXXXX", NULL);
  f->path = sm_identity_default_path (f->dir);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_unlink (f->path);
  g_assert_cmpint (g_rmdir (f->dir), ==, 0);
  g_free (f->path);
  g_free (f->dir);
}

static void
test_identity_create_load (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *fingerprint = NULL;
  SmIdentity made, loaded, again;
  struct stat st;

  g_assert_true (sm_identity_create (f->path, FALSE, &made, &error));
  g_assert_no_error (error);
  g_assert_cmpint (stat (f->path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_true (sm_identity_key_is_valid (made.public_key));
  g_assert_true (sm_identity_key_is_valid (made.secret_key));
  g_assert_cmpstr (made.public_key, !=, made.secret_key);

  g_assert_true (sm_identity_load (f->path, &loaded, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (loaded.public_key, ==, made.public_key);
  g_assert_cmpstr (loaded.secret_key, ==, made.secret_key);

  /* 16 bytes as colon-separated hex, the same for the same key. */
  fingerprint = sm_identity_fingerprint (made.public_key);
  g_assert_cmpuint (strlen (fingerprint), ==, 16 * 3 - 1);
  g_assert_true (g_regex_match_simple ("^([0-9a-f]{2}:){15}[0-9a-f]{2}$", fingerprint, 0, 0));
  {
    g_autofree char *twice = sm_identity_fingerprint (loaded.public_key);

    g_assert_cmpstr (twice, ==, fingerprint);
  }

  /* An existing key is kept unless replacing is asked for. */
  g_assert_false (sm_identity_create (f->path, FALSE, &again, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "already exists"));
  g_clear_error (&error);
  g_assert_true (sm_identity_load (f->path, &loaded, &error));
  g_assert_cmpstr (loaded.public_key, ==, made.public_key);

  g_assert_true (sm_identity_create (f->path, TRUE, &again, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (again.public_key, !=, made.public_key);
  g_assert_cmpint (stat (f->path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
}

static void
test_identity_too_open (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  SmIdentity identity;

  g_assert_true (sm_identity_create (f->path, FALSE, &identity, &error));
  g_assert_cmpint (g_chmod (f->path, 0640), ==, 0);
  g_assert_false (sm_identity_load (f->path, &identity, &error));
  g_assert_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT);
  g_assert_nonnull (strstr (error->message, "chmod 600"));
  /* Nothing of the secret is handed out with the error. */
  g_assert_cmpstr (identity.secret_key, ==, "");
}

static void
test_identity_missing (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  SmIdentity identity;

  g_assert_false (sm_identity_load (f->path, &identity, &error));
  g_assert_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "synmesh keygen"));
}

static void
test_identity_corrupt (Fixture       *f,
                       gconstpointer  data)
{
  SmIdentity a, b;
  g_autoptr(GError) error = NULL;

  g_assert_true (sm_identity_create (f->path, FALSE, &a, &error));
  g_assert_true (sm_identity_create (f->path, TRUE, &b, &error));

  {
    g_autofree char *mismatched = g_strdup_printf ("[CURVE]\npublic=%s\nsecret=%s\n", a.public_key, b.secret_key);
    g_autofree char *short_key = g_strdup_printf ("[CURVE]\npublic=%.39s\nsecret=%s\n", b.public_key, b.secret_key);
    g_autofree char *bad_char = g_strdup_printf ("[CURVE]\npublic=%s\nsecret=%.39s~\n", b.public_key, b.secret_key);
    g_autofree char *no_secret = g_strdup_printf ("[CURVE]\npublic=%s\n", b.public_key);
    const struct { const char *contents, *says; } cases[] = {
      { "\x01\x02 not a key file", "not a key file" },
      { "", "missing" },
      { no_secret, "secret key is missing" },
      { short_key, "public key is missing or not" },
      { bad_char, "secret key is missing or not" },
      { mismatched, "does not belong" },
    };

    for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
      {
        g_autoptr(GError) load_error = NULL;
        SmIdentity loaded;

        g_assert_true (g_file_set_contents_full (f->path, cases[i].contents, -1,
                                                 G_FILE_SET_CONTENTS_CONSISTENT, 0600, NULL));
        g_assert_false (sm_identity_load (f->path, &loaded, &load_error));
        g_test_message ("%s", load_error->message);
        g_assert_error (load_error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT);
        g_assert_nonnull (strstr (load_error->message, cases[i].says));
        g_assert_cmpstr (loaded.secret_key, ==, "");
      }
  }
}

/* Processes making the first key at once (the app and `synmesh node` on a
 * new machine) all end with the one key on disk; nothing temporary stays. */
typedef struct
{
  const char *path;
  GMutex      lock;
  GCond       go;
  gboolean    started;
  SmIdentity  identity;
  gboolean    created;
  gboolean    ok;
} Maker;

static gpointer
make_key_thread (gpointer data)
{
  Maker *maker = data;
  g_autoptr(GError) error = NULL;

  g_mutex_lock (&maker->lock);
  while (!maker->started)
    g_cond_wait (&maker->go, &maker->lock);
  g_mutex_unlock (&maker->lock);
  maker->ok = sm_identity_load_or_create (maker->path, &maker->identity, &maker->created, &error);
  g_assert_no_error (error);
  return NULL;
}

static void
test_identity_first_use_race (Fixture       *f,
                              gconstpointer  data)
{
  enum { MAKERS = 4, ROUNDS = 50 };

  for (guint round = 0; round < ROUNDS; round++)
    {
      Maker makers[MAKERS] = { { 0 } };
      GThread *threads[MAKERS];
      SmIdentity on_disk;
      guint created = 0;

      for (guint i = 0; i < MAKERS; i++)
        {
          makers[i].path = f->path;
          g_mutex_init (&makers[i].lock);
          g_cond_init (&makers[i].go);
          threads[i] = g_thread_new ("maker", make_key_thread, &makers[i]);
        }
      for (guint i = 0; i < MAKERS; i++)
        {
          g_mutex_lock (&makers[i].lock);
          makers[i].started = TRUE;
          g_cond_signal (&makers[i].go);
          g_mutex_unlock (&makers[i].lock);
        }
      for (guint i = 0; i < MAKERS; i++)
        g_thread_join (threads[i]);

      g_assert_true (sm_identity_load (f->path, &on_disk, NULL));
      for (guint i = 0; i < MAKERS; i++)
        {
          g_assert_true (makers[i].ok);
          g_assert_cmpstr (makers[i].identity.public_key, ==, on_disk.public_key);
          created += makers[i].created;
          g_mutex_clear (&makers[i].lock);
          g_cond_clear (&makers[i].go);
        }
      g_assert_cmpuint (created, ==, 1);
      {
        g_autoptr(GDir) dir = g_dir_open (f->dir, 0, NULL);
        const char *name;
        guint files = 0;

        while ((name = g_dir_read_name (dir)) != NULL)
          files++;
        g_assert_cmpuint (files, ==, 1);
      }
      g_assert_cmpint (g_unlink (f->path), ==, 0);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/engine/mesh/identity/create-load", Fixture, NULL, fixture_set_up, test_identity_create_load, fixture_tear_down);
  g_test_add ("/engine/mesh/identity/too-open", Fixture, NULL, fixture_set_up, test_identity_too_open, fixture_tear_down);
  g_test_add ("/engine/mesh/identity/missing", Fixture, NULL, fixture_set_up, test_identity_missing, fixture_tear_down);
  g_test_add ("/engine/mesh/identity/first-use-race", Fixture, NULL, fixture_set_up, test_identity_first_use_race,
              fixture_tear_down);
  g_test_add ("/engine/mesh/identity/corrupt", Fixture, NULL, fixture_set_up, test_identity_corrupt, fixture_tear_down);

  return g_test_run ();
}
