/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>
#include <gio/gio.h>

#include "sm-error.h"
#include "sm-identity.h"
#include "sm-paths.h"

#define GROUP "CURVE"

char *
sm_identity_default_path (const char *data_dir)
{
  return g_build_filename (data_dir, SM_IDENTITY_FILE_NAME, NULL);
}

char *
sm_identity_check_folder (const char *path)
{
  g_autofree char *folder = g_path_get_dirname (path);
  struct stat st;

  g_return_val_if_fail (path != NULL, NULL);

  if (stat (folder, &st) != 0)
    return NULL;
  /* The sticky bit (as on /tmp) keeps others from replacing our files. */
  if ((st.st_mode & 0022) != 0 && (st.st_mode & S_ISVTX) == 0)
    return g_strdup_printf ("%s: permissions %04o let others replace the node's key and trust list; chmod go-w it",
                            folder, (guint) (st.st_mode & 0777));
  if (st.st_uid != getuid () && st.st_uid != 0)
    return g_strdup_printf ("%s belongs to user %u, who can replace the node's key and trust list",
                            folder, (guint) st.st_uid);
  return NULL;
}

gboolean
sm_identity_key_is_valid (const char *text)
{
  guint8 raw[32];

  return text != NULL
      && strlen (text) == SM_IDENTITY_KEY_LENGTH
      && zmq_z85_decode (raw, text) != NULL;
}

static gboolean
key_exists_error (const char  *path,
                  GError     **error)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
               _("%s already exists; replacing it makes every peer that trusts this node refuse it"), path);
  return FALSE;
}

gboolean
sm_identity_create (const char  *path,
                    gboolean     replace,
                    SmIdentity  *identity,
                    GError     **error)
{
  g_autoptr(GKeyFile) file = g_key_file_new ();
  g_autofree char *contents = NULL;
  g_autoptr(GError) local_error = NULL;
  gsize length;

  g_return_val_if_fail (path != NULL && identity != NULL, FALSE);

  if (!replace && g_file_test (path, G_FILE_TEST_EXISTS))
    return key_exists_error (path, error);
  if (zmq_curve_keypair (identity->public_key, identity->secret_key) != 0)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_NOT_SUPPORTED,
                   _("libzmq cannot make CURVE keys: %s (it must be built with libsodium)"),
                   zmq_strerror (errno));
      return FALSE;
    }

  g_key_file_set_comment (file, NULL, NULL,
                          " Synaptic Mesh node key. The secret key must stay in this file (mode 0600);\n"
                          " peers trust the public key (synmesh keygen --show prints it).", NULL);
  g_key_file_set_string (file, GROUP, "public", identity->public_key);
  g_key_file_set_string (file, GROUP, "secret", identity->secret_key);
  contents = g_key_file_to_data (file, &length, NULL);

  /* Written whole or not at all, and never readable by others, not even
   * for a moment (created 0600).  Without @replace it only takes a name
   * nothing has: of two processes making the first key at once, the first
   * one's stays and the other learns it (a key overwritten under a running
   * node would be refused by every peer after its restart). */
  if (!sm_paths_write_file (path, contents, length, 0600, replace, &local_error))
    {
      memset (identity, 0, sizeof *identity);
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_EXISTS))
        return key_exists_error (path, error);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  return TRUE;
}

gboolean
sm_identity_load_or_create (const char  *path,
                            SmIdentity  *identity,
                            gboolean    *created,
                            GError     **error)
{
  g_autoptr(GError) local_error = NULL;

  *created = FALSE;
  if (g_file_test (path, G_FILE_TEST_EXISTS))
    return sm_identity_load (path, identity, error);
  if (sm_identity_create (path, FALSE, identity, &local_error))
    {
      *created = TRUE;
      return TRUE;
    }
  /* Another process made it meanwhile: theirs is the node's key. */
  if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_EXISTS))
    return sm_identity_load (path, identity, error);
  g_propagate_error (error, g_steal_pointer (&local_error));
  return FALSE;
}

static gboolean
read_key (GKeyFile    *file,
          const char  *path,
          const char  *name,
          char        *out,
          GError     **error)
{
  g_autofree char *text = g_key_file_get_string (file, GROUP, name, NULL);

  if (!sm_identity_key_is_valid (text))
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT,
                   _("%s: the %s key is missing or not a 40-character Z85 key"), path, name);
      return FALSE;
    }
  memcpy (out, text, SM_IDENTITY_KEY_LENGTH + 1);
  return TRUE;
}

gboolean
sm_identity_load (const char  *path,
                  SmIdentity  *identity,
                  GError     **error)
{
  g_autoptr(GKeyFile) file = g_key_file_new ();
  g_autoptr(GError) local_error = NULL;
  char derived[SM_IDENTITY_KEY_LENGTH + 1];
  struct stat st;

  g_return_val_if_fail (path != NULL && identity != NULL, FALSE);

  memset (identity, 0, sizeof *identity);
  if (stat (path, &st) != 0)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_IO,
                   _("%s: %s (synmesh keygen creates it)"), path, g_strerror (errno));
      return FALSE;
    }
  /* As ssh does: a key file that belongs to someone else is theirs. */
  if (st.st_uid != getuid ())
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT,
                   _("%s: owned by user %u, not by you (%u); a key is used only by its owner"),
                   path, (guint) st.st_uid, (guint) getuid ());
      return FALSE;
    }
  /* As ssh does: a secret others can read is no longer a secret. */
  if ((st.st_mode & 077) != 0)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT,
                   _("%s: permissions %04o are too open for a secret key; chmod 600 it "
                   "(or make a new key if others may have read it)"),
                   path, (guint) (st.st_mode & 0777));
      return FALSE;
    }
  if (!g_key_file_load_from_file (file, path, G_KEY_FILE_NONE, &local_error))
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT,
                   _("%s: not a key file: %s"), path, local_error->message);
      return FALSE;
    }
  if (!read_key (file, path, "public", identity->public_key, error)
      || !read_key (file, path, "secret", identity->secret_key, error))
    {
      memset (identity, 0, sizeof *identity);
      return FALSE;
    }
  if (zmq_curve_public (derived, identity->secret_key) != 0
      || strcmp (derived, identity->public_key) != 0)
    {
      memset (identity, 0, sizeof *identity);
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT,
                   _("%s: the public key does not belong to the secret key"), path);
      return FALSE;
    }
  return TRUE;
}

char *
sm_identity_fingerprint (const char *public_key)
{
  g_autoptr(GChecksum) sha = g_checksum_new (G_CHECKSUM_SHA256);
  guint8 raw[32], digest[32];
  gsize digest_length = sizeof digest;
  GString *text = g_string_new (NULL);

  g_return_val_if_fail (sm_identity_key_is_valid (public_key), NULL);

  zmq_z85_decode (raw, public_key);
  g_checksum_update (sha, raw, sizeof raw);
  g_checksum_get_digest (sha, digest, &digest_length);
  for (guint i = 0; i < 16; i++)
    g_string_append_printf (text, i ? ":%02x" : "%02x", digest[i]);
  return g_string_free (text, FALSE);
}
