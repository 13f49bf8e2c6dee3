/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* What the mesh tests share: nodes in this process, raw ZeroMQ clients
 * that speak (or mangle) the wire format, and waiting with a deadline. */

#include <string.h>
#include <zmq.h>

#include "sm-node.h"

#define TEST_HEARTBEAT_MS 100

typedef struct
{
  SmEngine *engine;
  SmTrust  *trust;
  SmNode   *node;
  SmIdentity identity;
} TestNode;

static inline void
test_make_identity (SmIdentity *identity)
{
  g_assert_cmpint (zmq_curve_keypair (identity->public_key, identity->secret_key), ==, 0);
}

/* A node on a free loopback port with the standard preset.  @trusted_key,
 * when not NULL, is trusted as "tester" before the node starts. */
static inline void
test_node_start_with_heartbeat (TestNode   *t,
                                const char *name,
                                const char *trusted_key,
                                guint       heartbeat_ms)
{
  g_autoptr(GError) error = NULL;
  SmNodeConfig config = { .name = name, .bind = "tcp://127.0.0.1:*", .heartbeat_ms = heartbeat_ms };

  t->engine = sm_engine_new (64 * 1024 * 1024, 2, &error);
  g_assert_no_error (error);
  t->trust = sm_trust_new ();
  if (trusted_key != NULL)
    g_assert_true (sm_trust_add (t->trust, "tester", trusted_key, NULL));
  test_make_identity (&t->identity);
  config.identity = t->identity;
  config.trust = t->trust;
  t->node = sm_node_new (t->engine, &config, &error);
  g_assert_no_error (error);
  g_assert_nonnull (t->node);
}

static inline void
test_node_start (TestNode   *t,
                 const char *name,
                 const char *trusted_key)
{
  test_node_start_with_heartbeat (t, name, trusted_key, TEST_HEARTBEAT_MS);
}

static inline void
test_node_stop (TestNode *t)
{
  g_clear_pointer (&t->node, sm_node_free);
  g_clear_pointer (&t->engine, sm_engine_free);
  g_clear_pointer (&t->trust, sm_trust_free);
}

static inline SmNodePeerInfo
test_node_get_peer (SmNode *node,
                    guint   index)
{
  g_autoptr(GArray) peers = sm_node_dup_peers (node);

  g_assert_cmpuint (index, <, peers->len);
  return g_array_index (peers, SmNodePeerInfo, index);
}

/* Polls @node's peer @index until it is in @state; returns the ms waited,
 * or fails the test after @timeout_ms. */
static inline gint64
test_wait_for_peer (SmNode      *node,
                    guint        index,
                    SmPeerState  state,
                    guint        timeout_ms)
{
  gint64 start = g_get_monotonic_time ();

  while (test_node_get_peer (node, index).state != state)
    {
      if (g_get_monotonic_time () - start > (gint64) timeout_ms * 1000)
        g_error ("peer %u stayed %s, not %s, for %u ms", index,
                 sm_peer_state_get_name (test_node_get_peer (node, index).state),
                 sm_peer_state_get_name (state), timeout_ms);
      g_usleep (2000);
    }
  return (g_get_monotonic_time () - start) / 1000;
}

/* A raw client: a DEALER with CURVE (@identity not NULL) or without. */
static inline void *
test_client_new (void             *context,
                 const char       *endpoint,
                 const char       *server_key,
                 const SmIdentity *identity)
{
  void *socket = zmq_socket (context, ZMQ_DEALER);
  int linger = 0;

  zmq_setsockopt (socket, ZMQ_LINGER, &linger, sizeof linger);
  if (identity != NULL)
    {
      g_assert_cmpint (zmq_setsockopt (socket, ZMQ_CURVE_SERVERKEY, server_key, 41), ==, 0);
      g_assert_cmpint (zmq_setsockopt (socket, ZMQ_CURVE_PUBLICKEY, identity->public_key, 41), ==, 0);
      g_assert_cmpint (zmq_setsockopt (socket, ZMQ_CURVE_SECRETKEY, identity->secret_key, 41), ==, 0);
    }
  g_assert_cmpint (zmq_connect (socket, endpoint), ==, 0);
  return socket;
}

static inline void
test_client_send (void                *socket,
                  const SmWireMessage *message)
{
  guint8 frame[SM_WIRE_ENVELOPE_MAX];
  gsize size = sm_wire_encode (message, frame);

  g_assert_cmpint (zmq_send (socket, frame, size, message->tensor != NULL ? ZMQ_SNDMORE : 0), ==, (int) size);
  if (message->tensor != NULL)
    g_assert_cmpint (zmq_send (socket, message->tensor, message->tensor_size, 0), ==, (int) message->tensor_size);
}

/* Receives one message within @timeout_ms and decodes it into @message
 * (its tensor copied into @tensor, at most @tensor_floats).  FALSE when
 * nothing came.  The node's once-a-second METRICS are skipped. */
static inline gboolean
test_client_receive_any (void          *socket,
                     guint          timeout_ms,
                     SmWireMessage *message,
                     float         *tensor,
                     guint          tensor_floats)
{
  zmq_pollitem_t item = { .socket = socket, .events = ZMQ_POLLIN };
  zmq_msg_t frames[2];
  int more = 1, n = 0;
  size_t more_size = sizeof more;
  g_autoptr(GError) error = NULL;

  if (zmq_poll (&item, 1, timeout_ms) <= 0)
    return FALSE;
  while (more)
    {
      g_assert_cmpint (n, <, 2);
      zmq_msg_init (&frames[n]);
      g_assert_cmpint (zmq_msg_recv (&frames[n], socket, 0), >=, 0);
      zmq_getsockopt (socket, ZMQ_RCVMORE, &more, &more_size);
      n++;
    }
  g_assert_true (sm_wire_decode (zmq_msg_data (&frames[0]), zmq_msg_size (&frames[0]),
                                 n == 2 ? zmq_msg_data (&frames[1]) : NULL, n == 2 ? zmq_msg_size (&frames[1]) : 0,
                                 message, &error));
  g_assert_no_error (error);
  if (message->tensor != NULL && tensor != NULL)
    {
      g_assert_cmpuint (message->body.infer.rows * message->body.infer.cols, <=, tensor_floats);
      sm_wire_tensor_copy (message, tensor);
    }
  message->tensor = NULL;
  for (int i = 0; i < n; i++)
    zmq_msg_close (&frames[i]);
  return TRUE;
}

static inline gboolean
test_client_receive (void          *socket,
                     guint          timeout_ms,
                     SmWireMessage *message,
                     float         *tensor,
                     guint          tensor_floats)
{
  while (test_client_receive_any (socket, timeout_ms, message, tensor, tensor_floats))
    if (message->type != SM_WIRE_METRICS)
      return TRUE;
  return FALSE;
}

/* A raw server: a ROUTER with CURVE that a node's DEALER connects to as
 * if it were a peer, and that answers (or lies) as the test says.  Its
 * context has no ZAP handler, so it admits any key. */
typedef struct
{
  void       *socket;
  SmIdentity  identity;
  char        endpoint[256];
  guint8      client[256];       /* the routing id of the last sender */
  gsize       client_size;
} TestServer;

static inline void
test_server_start (TestServer *server,
                   void       *context)
{
  int one = 1, linger = 0;
  size_t size = sizeof server->endpoint;

  test_make_identity (&server->identity);
  server->socket = zmq_socket (context, ZMQ_ROUTER);
  zmq_setsockopt (server->socket, ZMQ_LINGER, &linger, sizeof linger);
  g_assert_cmpint (zmq_setsockopt (server->socket, ZMQ_CURVE_SERVER, &one, sizeof one), ==, 0);
  g_assert_cmpint (zmq_setsockopt (server->socket, ZMQ_CURVE_SECRETKEY, server->identity.secret_key, 41), ==, 0);
  g_assert_cmpint (zmq_bind (server->socket, "tcp://127.0.0.1:*"), ==, 0);
  g_assert_cmpint (zmq_getsockopt (server->socket, ZMQ_LAST_ENDPOINT, server->endpoint, &size), ==, 0);
}

/* Receives one message (skipping nothing) within @timeout_ms. */
static inline gboolean
test_server_receive (TestServer    *server,
                     guint          timeout_ms,
                     SmWireMessage *message)
{
  zmq_pollitem_t item = { .socket = server->socket, .events = ZMQ_POLLIN };
  zmq_msg_t frames[3];
  int more = 1, n = 0;
  size_t more_size = sizeof more;
  gboolean ok;

  if (zmq_poll (&item, 1, timeout_ms) <= 0)
    return FALSE;
  while (more)
    {
      g_assert_cmpint (n, <, 3);
      zmq_msg_init (&frames[n]);
      g_assert_cmpint (zmq_msg_recv (&frames[n], server->socket, 0), >=, 0);
      zmq_getsockopt (server->socket, ZMQ_RCVMORE, &more, &more_size);
      n++;
    }
  server->client_size = MIN (zmq_msg_size (&frames[0]), sizeof server->client);
  memcpy (server->client, zmq_msg_data (&frames[0]), server->client_size);
  ok = sm_wire_decode (zmq_msg_data (&frames[1]), zmq_msg_size (&frames[1]),
                       n == 3 ? zmq_msg_data (&frames[2]) : NULL, n == 3 ? zmq_msg_size (&frames[2]) : 0,
                       message, NULL);
  g_assert_true (ok);
  message->tensor = NULL;
  for (int i = 0; i < n; i++)
    zmq_msg_close (&frames[i]);
  return TRUE;
}

/* Sends @message to the last sender. */
static inline void
test_server_send (TestServer          *server,
                  const SmWireMessage *message)
{
  guint8 frame[SM_WIRE_ENVELOPE_MAX];
  gsize size = sm_wire_encode (message, frame);

  g_assert_cmpint (zmq_send (server->socket, server->client, server->client_size, ZMQ_SNDMORE), >=, 0);
  g_assert_cmpint (zmq_send (server->socket, frame, size, 0), ==, (int) size);
}

/* The events a node reported, as "KIND|PEER|MESSAGE" lines. */
typedef struct
{
  GMutex     lock;
  GPtrArray *lines;
} TestEvents;

static inline void
test_events_cb (SmNodeEvent  event,
                const char  *peer,
                const char  *message,
                gpointer     user_data)
{
  TestEvents *events = user_data;

  g_mutex_lock (&events->lock);
  g_ptr_array_add (events->lines, g_strdup_printf ("%d|%s|%s", event, peer != NULL ? peer : "-", message));
  g_mutex_unlock (&events->lock);
}

static inline guint
test_events_count (TestEvents *events)
{
  guint n;

  g_mutex_lock (&events->lock);
  n = events->lines->len;
  g_mutex_unlock (&events->lock);
  return n;
}

/* A HELLO that says it runs @node's model. */
static inline SmWireMessage
test_hello_for (SmEngine *engine)
{
  SmWireMessage hello = { .type = SM_WIRE_HELLO, .request_id = 5 };
  guint32 mask;

  g_strlcpy (hello.body.hello.name, "tester", sizeof hello.body.hello.name);
  sm_engine_get_model_identity (engine, &hello.body.hello.model_hash, &mask, &hello.body.hello.input_width);
  return hello;
}
