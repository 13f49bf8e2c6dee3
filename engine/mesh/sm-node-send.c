/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#define G_LOG_DOMAIN "sm-node"

#include <string.h>
#include <zmq.h>

#include "sm-node-private.h"

/* ---- sending ---- */

/* Sends an envelope (after @routing_id on the ROUTER) and, for INFER, its
 * tensor; never blocks: a peer at its high-water mark loses the message,
 * which the caller learns from the return value. */
gboolean
sm_node_send_message (void                *socket,
                      const guint8        *routing_id,
                      gsize                routing_id_size,
                      const SmWireMessage *message,
                      Peer                *peer)
{
  guint8 frame[SM_WIRE_ENVELOPE_MAX];
  gsize size = sm_wire_encode (message, frame);
  gboolean tensor = message->tensor != NULL;

  if (routing_id != NULL && zmq_send (socket, routing_id, routing_id_size, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
    return FALSE;
  if (zmq_send (socket, frame, size, (tensor ? ZMQ_SNDMORE : 0) | ZMQ_DONTWAIT) < 0)
    return FALSE;
  if (tensor && zmq_send (socket, message->tensor, message->tensor_size, ZMQ_DONTWAIT) < 0)
    return FALSE;

  if (peer != NULL)
    {
      peer->info.messages_out++;
      peer->info.bytes_out += size + (tensor ? message->tensor_size : 0);
    }
  return TRUE;
}

/* Answers a client through the ROUTER.  With ZMQ_ROUTER_MANDATORY a
 * client that reads too slowly (its pipe at the high-water mark) or that
 * left makes the send fail instead of vanish: counted, never blocking. */
void
sm_node_reply (SmNode              *node,
               const guint8        *routing_id,
               gsize                routing_id_size,
               const SmWireMessage *message)
{
  if (!sm_node_send_message (node->router, routing_id, routing_id_size, message, NULL))
    {
      g_mutex_lock (&node->lock);
      node->stats.replies_dropped++;
      g_mutex_unlock (&node->lock);
    }
}

void
sm_node_fill_hello (SmNode        *node,
                    SmWireMessage *message)
{
  SmWireHello *hello = &message->body.hello;

  message->type = SM_WIRE_HELLO;
  memcpy (hello->node_id, node->node_id, sizeof hello->node_id);
  g_strlcpy (hello->name, node->name, sizeof hello->name);
  g_strlcpy (hello->software, PACKAGE_VERSION, sizeof hello->software);
  sm_engine_get_model_identity (node->engine, &hello->model_hash, &hello->expert_mask, &hello->input_width);
  hello->simd_level = (guint8) sm_engine_get_simd_level (node->engine);
  hello->gpu = 0;
}

void
sm_node_send_to_peer (SmNode   *node,
                      Peer     *peer,
                      SmWireType type,
                      guint64   request_id)
{
  SmWireMessage message = { .type = type, .request_id = request_id };

  if (type == SM_WIRE_HELLO)
    sm_node_fill_hello (node, &message);
  message.sent_ns = (guint64) now_ns ();
  g_mutex_lock (&node->lock);
  sm_node_send_message (peer->socket, NULL, 0, &message, peer);
  g_mutex_unlock (&node->lock);
}

void
sm_node_reply_error (SmNode       *node,
                     const guint8 *routing_id,
                     gsize         routing_id_size,
                     guint64       request_id,
                     guint64       echo_ns,
                     SmWireStatus  status,
                     const char   *text)
{
  SmWireMessage message = {
    .type = SM_WIRE_ERROR_REPLY,
    .request_id = request_id,
    .sent_ns = (guint64) now_ns (),
    .echo_ns = echo_ns,
  };

  g_autofree char *shown = sm_wire_text_for_display (text);

  message.body.error.code = status;
  g_strlcpy (message.body.error.message, shown, sizeof message.body.error.message);
  /* Cut at a character, not inside one: the decoder checks UTF-8. */
  if (!g_utf8_validate (message.body.error.message, -1, NULL))
    message.body.error.message[0] = '\0';
  sm_node_reply (node, routing_id, routing_id_size, &message);
}

