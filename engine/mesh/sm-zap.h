/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>


G_BEGIN_DECLS

/* ZeroMQ's authentication protocol (ZAP, RFC 27): libzmq asks the socket
 * bound at SM_ZAP_ENDPOINT in the same context whether a CURVE client may
 * connect.  The node's thread answers: yes for a trusted key,
 * with the peer's name as the User-Id of its messages; no for any other
 * key, and for any mechanism but CURVE. */

#define SM_ZAP_ENDPOINT "inproc://zeromq.zap.01"

typedef enum {
  SM_ZAP_ALLOWED,
  SM_ZAP_DENIED,
  SM_ZAP_IGNORED,              /* not a ZAP request: nothing to count */
} SmZapVerdict;

/* The name under which a raw 32-byte public key is trusted, or NULL. */
typedef const char *(*SmZapLookupFunc) (const guint8 *public_key,
                                        gpointer      user_data);

/* Reads one request from @socket (a ZMQ_REP) and answers it. */
SmZapVerdict sm_zap_handle (void            *socket,
                            SmZapLookupFunc  lookup,
                            gpointer         user_data);

G_END_DECLS
