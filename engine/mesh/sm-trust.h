/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The peers this node trusts: its trusted-peers file, one "NAME KEY" per
 * line (KEY the peer's Z85 public key as `synmesh keygen` prints it, NAME
 * a word to show for it), '#' comments and blank lines allowed.  The ZAP
 * handler accepts a CURVE client only when its key is in here. */

#define SM_TRUST_FILE_NAME "trusted-peers"
#define SM_TRUST_NAME_MAX  64

typedef struct _SmTrust SmTrust;

SmTrust    *sm_trust_new          (void);
void        sm_trust_free         (SmTrust      *trust);

/* Reads @path.  A missing file is an empty list (no peer is trusted);
 * a malformed line, a duplicate name or key, a file that anyone may
 * write or that another user owns is an error that names the line. */
SmTrust    *sm_trust_load         (const char   *path,
                                   GError      **error);
/* Writes the list atomically, in the order the peers were added. */
gboolean    sm_trust_save         (SmTrust      *trust,
                                   const char   *path,
                                   GError      **error);

gboolean    sm_trust_add          (SmTrust      *trust,
                                   const char   *name,
                                   const char   *public_key,
                                   GError      **error);
gboolean    sm_trust_remove       (SmTrust      *trust,
                                   const char   *name);
guint       sm_trust_get_count    (SmTrust      *trust);
/* The peer at @index (0 … count − 1, in file order): its name and Z85 key,
 * borrowed until the list changes.  FALSE past the end. */
gboolean    sm_trust_get_peer     (SmTrust      *trust,
                                   guint         index,
                                   const char  **name,
                                   const char  **public_key);

/* The name of the peer with this Z85 key, or NULL when it is not trusted. */
const char *sm_trust_lookup       (SmTrust      *trust,
                                   const char   *public_key);
/* The same for a raw 32-byte key, as ZAP requests carry it. */
const char *sm_trust_lookup_raw   (SmTrust      *trust,
                                   const guint8 *public_key);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SmTrust, sm_trust_free)

G_END_DECLS
