/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "sm-error.h"
#include "sm-identity.h"
#include "sm-trust.h"

typedef struct
{
  char *name;
  char *key;               /* Z85 */
} Peer;

struct _SmTrust
{
  GPtrArray  *peers;       /* of Peer, in file order */
  GHashTable *by_key;      /* Z85 key -> name, both borrowed from peers */
};

static void
peer_free (gpointer data)
{
  Peer *peer = data;

  g_free (peer->name);
  g_free (peer->key);
  g_free (peer);
}

SmTrust *
sm_trust_new (void)
{
  SmTrust *trust = g_new0 (SmTrust, 1);

  trust->peers = g_ptr_array_new_with_free_func (peer_free);
  trust->by_key = g_hash_table_new (g_str_hash, g_str_equal);
  return trust;
}

void
sm_trust_free (SmTrust *trust)
{
  if (trust == NULL)
    return;
  g_hash_table_unref (trust->by_key);
  g_ptr_array_unref (trust->peers);
  g_free (trust);
}

static gboolean
name_is_valid (const char *name)
{
  gsize n = strlen (name);

  if (n == 0 || n > SM_TRUST_NAME_MAX || !g_utf8_validate (name, n, NULL))
    return FALSE;
  for (const char *p = name; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (g_unichar_isspace (c) || !g_unichar_isprint (c) || c == '#')
        return FALSE;
    }
  return TRUE;
}

static Peer *
find_peer (SmTrust    *trust,
           const char *name)
{
  for (guint i = 0; i < trust->peers->len; i++)
    {
      Peer *peer = g_ptr_array_index (trust->peers, i);

      if (g_str_equal (peer->name, name))
        return peer;
    }
  return NULL;
}

gboolean
sm_trust_add (SmTrust     *trust,
              const char  *name,
              const char  *public_key,
              GError     **error)
{
  const char *holder;
  Peer *peer;

  g_return_val_if_fail (trust != NULL && name != NULL && public_key != NULL, FALSE);

  if (!name_is_valid (name))
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT,
                   _("“%s” is not a peer name: one word of printable characters, at most %d bytes, no '#'"),
                   name, SM_TRUST_NAME_MAX);
      return FALSE;
    }
  if (!sm_identity_key_is_valid (public_key))
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT,
                   _("the key of “%s” is not a 40-character Z85 public key (synmesh keygen --show prints one)"),
                   name);
      return FALSE;
    }
  if (find_peer (trust, name) != NULL)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT,
                   _("a peer named “%s” is already trusted"), name);
      return FALSE;
    }
  holder = g_hash_table_lookup (trust->by_key, public_key);
  if (holder != NULL)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT,
                   _("the key of “%s” is already trusted as “%s”"), name, holder);
      return FALSE;
    }

  peer = g_new (Peer, 1);
  peer->name = g_strdup (name);
  peer->key = g_strdup (public_key);
  g_ptr_array_add (trust->peers, peer);
  g_hash_table_insert (trust->by_key, peer->key, peer->name);
  return TRUE;
}

gboolean
sm_trust_remove (SmTrust    *trust,
                 const char *name)
{
  Peer *peer;

  g_return_val_if_fail (trust != NULL && name != NULL, FALSE);

  peer = find_peer (trust, name);
  if (peer == NULL)
    return FALSE;
  g_hash_table_remove (trust->by_key, peer->key);
  g_ptr_array_remove (trust->peers, peer);
  return TRUE;
}

guint
sm_trust_get_count (SmTrust *trust)
{
  return trust->peers->len;
}

gboolean
sm_trust_get_peer (SmTrust     *trust,
                   guint        index,
                   const char **name,
                   const char **public_key)
{
  Peer *peer;

  g_return_val_if_fail (trust != NULL, FALSE);

  if (index >= trust->peers->len)
    return FALSE;
  peer = g_ptr_array_index (trust->peers, index);
  if (name != NULL)
    *name = peer->name;
  if (public_key != NULL)
    *public_key = peer->key;
  return TRUE;
}

const char *
sm_trust_lookup (SmTrust    *trust,
                 const char *public_key)
{
  g_return_val_if_fail (trust != NULL && public_key != NULL, NULL);

  return g_hash_table_lookup (trust->by_key, public_key);
}

const char *
sm_trust_lookup_raw (SmTrust      *trust,
                     const guint8 *public_key)
{
  char text[SM_IDENTITY_KEY_LENGTH + 1];

  g_return_val_if_fail (trust != NULL && public_key != NULL, NULL);

  if (zmq_z85_encode (text, public_key, 32) == NULL)
    return NULL;
  return g_hash_table_lookup (trust->by_key, text);
}

SmTrust *
sm_trust_load (const char  *path,
               GError     **error)
{
  g_autoptr(SmTrust) trust = sm_trust_new ();
  g_autoptr(GError) local_error = NULL;
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;
  struct stat st;

  g_return_val_if_fail (path != NULL, NULL);

  if (stat (path, &st) != 0)
    {
      if (errno == ENOENT)
        return g_steal_pointer (&trust);
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_IO, "%s: %s", path, g_strerror (errno));
      return NULL;
    }
  /* Whoever owns or can write this file decides who may use the node. */
  if (st.st_uid != getuid ())
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT,
                   _("%s: owned by user %u, not by you (%u); only your own list decides whom this node trusts"),
                   path, (guint) st.st_uid, (guint) getuid ());
      return NULL;
    }
  /* Whoever can write this file decides who may use the node. */
  if ((st.st_mode & 0022) != 0)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT,
                   _("%s: permissions %04o let others choose whom this node trusts; chmod go-w it"),
                   path, (guint) (st.st_mode & 0777));
      return NULL;
    }
  if (!g_file_get_contents (path, &contents, NULL, &local_error))
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_IO, "%s", local_error->message);
      return NULL;
    }

  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) fields = NULL;
      g_autoptr(GError) line_error = NULL;
      char *line = g_strstrip (lines[i]);

      if (line[0] == '\0' || line[0] == '#')
        continue;
      fields = g_strsplit_set (line, " \t", -1);
      {
        /* Any run of blanks separates the two fields. */
        guint n = 0;

        for (guint j = 0; fields[j] != NULL; j++)
          if (fields[j][0] != '\0')
            fields[n++] = fields[j];
          else
            g_free (fields[j]);
        fields[n] = NULL;
        if (n != 2)
          {
            g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT,
                         _("%s:%u: expected “NAME PUBLIC-KEY”, found %u fields"), path, i + 1, n);
            return NULL;
          }
      }
      if (!sm_trust_add (trust, fields[0], fields[1], &line_error))
        {
          g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT,
                       "%s:%u: %s", path, i + 1, line_error->message);
          return NULL;
        }
    }
  return g_steal_pointer (&trust);
}

gboolean
sm_trust_save (SmTrust     *trust,
               const char  *path,
               GError     **error)
{
  g_autoptr(GString) text = g_string_new ("# Peers this Synaptic Mesh node trusts: NAME PUBLIC-KEY per line.\n");

  g_return_val_if_fail (trust != NULL && path != NULL, FALSE);

  for (guint i = 0; i < trust->peers->len; i++)
    {
      Peer *peer = g_ptr_array_index (trust->peers, i);

      g_string_append_printf (text, "%s %s\n", peer->name, peer->key);
    }
  return g_file_set_contents_full (path, text->str, text->len,
                                   G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                   0600, error);
}
