/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "sm-zap.h"

G_BEGIN_DECLS

/* Who may connect to a node: on a thread of its own, the gate answers
 * libzmq's ZAP requests (sm-zap.h) and watches the ROUTER's failed
 * handshakes, so that neither a flood of connection attempts nor a slow
 * lookup ever delays the node's messages. */

typedef struct _SmGate SmGate;

/* Called on the gate's thread for each connection refused: a CURVE key
 * not trusted (@untrusted_key) or no CURVE at all. */
typedef void (*SmGateRefusedFunc) (gboolean  untrusted_key,
                                   gpointer  user_data);

/* Binds the ZAP handler in @context, before anything there listens, so
 * that no connection can arrive unasked.  @lookup runs on the gate's
 * thread. */
SmGate   *sm_gate_new    (void              *context,
                          SmZapLookupFunc    lookup,
                          SmGateRefusedFunc  refused,
                          gpointer           user_data,
                          GError           **error);
/* Watches @router's handshakes and starts the thread. */
gboolean  sm_gate_start  (SmGate            *gate,
                          void              *router,
                          GError           **error);
/* Stops the thread and closes the gate's sockets; the router's own
 * monitor goes when the router is closed. */
void      sm_gate_free   (SmGate            *gate);

G_END_DECLS
