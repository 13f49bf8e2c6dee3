/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A node's CURVE keypair, kept in one key file (mode 0600) in the data
 * directory.  Peers trust the public key; the secret never leaves the file
 * and this struct.  Keys are Z85 text, as libzmq takes them. */

#define SM_IDENTITY_FILE_NAME  "node.key"
#define SM_IDENTITY_KEY_LENGTH 40       /* Z85 characters of a 32-byte key */

typedef struct
{
  char public_key[SM_IDENTITY_KEY_LENGTH + 1];
  char secret_key[SM_IDENTITY_KEY_LENGTH + 1];
} SmIdentity;

/* The key file's path: @data_dir/node.key. */
char     *sm_identity_default_path (const char   *data_dir);

/* A warning when the folder that holds @path may be written by others
 * (who could then replace the key or the trust list), or NULL. */
char     *sm_identity_check_folder (const char   *path);

/* Makes a new keypair and writes it to @path, atomically and 0600.  An
 * existing file is an error (G_IO_ERROR_EXISTS) unless @replace (peers that trusted the old key
 * will refuse the new one). */
gboolean  sm_identity_create       (const char   *path,
                                    gboolean      replace,
                                    SmIdentity   *identity,
                                    GError      **error);

/* The key at @path, made (as sm_identity_create() without replacing) when
 * there is none; @created says which.  Of two processes making it at once
 * both end with the one that reached the disk first. */
gboolean  sm_identity_load_or_create (const char *path,
                                      SmIdentity *identity,
                                      gboolean   *created,
                                      GError    **error);

/* Reads @path.  A file that others can read, malformed keys, or a public
 * key that does not belong to the secret are errors. */
gboolean  sm_identity_load         (const char   *path,
                                    SmIdentity   *identity,
                                    GError      **error);

/* Whether @text is a Z85-encoded 32-byte key. */
gboolean  sm_identity_key_is_valid (const char   *text);

/* What people compare to know they trust the right key: the first 16 bytes
 * of the SHA-256 of the raw public key, as colon-separated hex. */
char     *sm_identity_fingerprint  (const char   *public_key);

G_END_DECLS
