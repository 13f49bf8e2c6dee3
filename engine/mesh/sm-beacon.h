/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "sm-identity.h"

G_BEGIN_DECLS

/* LAN discovery, opt-in: CZMQ's zbeacon broadcasts "this node listens at
 * ENDPOINT with public key KEY" on a UDP port once a second and hears the
 * other nodes' announcements.  It announces nothing secret and grants
 * nothing: a node connects to a discovered peer only when it already
 * trusts that key. */

#define SM_BEACON_DEFAULT_PORT 7869

typedef struct _SmBeacon SmBeacon;

/* Fails when the machine has no interface that can broadcast. */
SmBeacon *sm_beacon_new        (guint         port,
                                const char   *endpoint,
                                const char   *public_key,
                                GError      **error);
void      sm_beacon_free       (SmBeacon     *beacon);

/* The libzmq socket to poll for announcements. */
void     *sm_beacon_get_socket (SmBeacon     *beacon);

/* Reads one announcement; FALSE when it is not one of ours.  An endpoint
 * announced on every interface ("*", 0.0.0.0) gets the sender's address. */
gboolean  sm_beacon_receive    (SmBeacon     *beacon,
                                char        **endpoint,
                                char          public_key[SM_IDENTITY_KEY_LENGTH + 1]);

G_END_DECLS
