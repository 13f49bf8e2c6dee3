/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#define G_LOG_DOMAIN "sm-node"

#include <glib/gi18n-lib.h>

#include <math.h>
#include <string.h>
#include <zmq.h>

#include "sm-error.h"
#include "sm-node-private.h"
#include "sm-simd.h"

/* ---- what our ROUTER receives: peers asking us ---- */

static void
serve_done (SmResult     *result,
            const GError *error,
            gpointer      user_data)
{
  ServedRow *row = user_data;
  Served *served = row->served;

  row->result = result;
  row->error = error != NULL ? g_error_copy (error) : NULL;
  if (g_atomic_int_dec_and_test (&served->rows_left))
    {
      Command *command = g_new0 (Command, 1);

      command->kind = COMMAND_SERVED;
      command->served = served;
      sm_node_post (served->node, command);
    }
}

static void
served_free (Served *served)
{
  for (guint i = 0; i < served->n_rows; i++)
    {
      sm_result_free (served->rows[i].result);
      g_clear_error (&served->rows[i].error);
    }
  g_free (served);
}

/* The request's answer, or NULL and the reason in @error: every row
 * answered, all as wide (a model swapped in mid-request could change
 * that) and finite (our own model's NaN is a failure to say so, as a
 * peer's would be). */
static float *
served_output (Served  *served,
               guint   *width,
               guint64 *queue_ns,
               guint64 *compute_ns,
               GError **error)
{
  g_autofree float *output = NULL;

  *width = 0;
  *queue_ns = *compute_ns = 0;
  for (guint i = 0; i < served->n_rows; i++)
    {
      const ServedRow *row = &served->rows[i];

      if (row->error != NULL)
        {
          *error = g_error_copy (row->error);
          return NULL;
        }
      if (i == 0)
        {
          *width = row->result->output_width;
          output = g_new (float, (gsize) served->n_rows * *width);
        }
      else if (row->result->output_width != *width)
        {
          g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_FAILED,
                       _("The model changed while the request ran"));
          return NULL;
        }
      for (guint j = 0; j < *width; j++)
        if (!isfinite (row->result->output[j]))
          {
            g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_FAILED, _("The model's output is not finite"));
            return NULL;
          }
      memcpy (output + (gsize) i * *width, row->result->output, *width * sizeof (float));
      *queue_ns = MAX (*queue_ns, row->result->queue_ns);
      *compute_ns = MAX (*compute_ns, row->result->inference_ns);
    }
  return g_steal_pointer (&output);
}

void
sm_node_send_served (SmNode *node,
                     Served *served)
{
  g_autoptr(GError) error = NULL;
  g_autofree float *output = NULL;
  guint width;
  guint64 queue_ns, compute_ns;

  g_mutex_lock (&node->lock);
  node->stats.serving -= served->n_rows;
  node->stats.served += served->n_rows;
  g_mutex_unlock (&node->lock);

  output = served_output (served, &width, &queue_ns, &compute_ns, &error);
  if (output == NULL)
    {
      SmWireStatus status = g_error_matches (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_NOT_SUPPORTED)
                            ? SM_WIRE_STATUS_NO_EXPERT : SM_WIRE_STATUS_INTERNAL;

      sm_node_reply_error (node, served->routing_id, served->routing_id_size, served->request_id, served->echo_ns,
                           status, error->message);
    }
  else
    {
      SmWireMessage message = {
        .type = SM_WIRE_INFER_REPLY,
        .flags = SM_WIRE_FLAG_TENSOR,
        .request_id = served->request_id,
        .echo_ns = served->echo_ns,
        .tensor = (const guint8 *) output,
        .tensor_size = (gsize) served->n_rows * width * sizeof (float),
      };

      message.body.infer = (SmWireInfer) {
        .expert = (guint8) served->rows[0].result->domain,
        .rows = served->n_rows,
        .cols = width,
        .queue_ns = queue_ns,
        .compute_ns = compute_ns,
      };
      message.sent_ns = (guint64) now_ns ();
      sm_node_reply (node, served->routing_id, served->routing_id_size, &message);
    }
  served_free (served);
}

static void
refuse (SmNode       *node,
        const guint8 *routing_id,
        gsize         routing_id_size,
        guint64       request_id,
        guint64       echo_ns,
        SmWireStatus  status,
        const char   *text,
        gboolean      answer)
{
  g_mutex_lock (&node->lock);
  node->stats.refused_frames++;
  node->stats.refused_by_status[status]++;
  g_mutex_unlock (&node->lock);
  if (answer)
    sm_node_reply_error (node, routing_id, routing_id_size, request_id, echo_ns, status, text);
  sm_node_emit (node, SM_NODE_EVENT_REJECTED, NULL, "Refused a frame (%s): %s", sm_wire_status_name (status), text);
}

/* Whether @key (Z85) may talk to us now: the trusted-peers file as last
 * read, or a peer we were told to connect to.  On the node's thread,
 * which is the only one that changes either. */
gboolean
sm_node_key_is_trusted (SmNode     *node,
                        const char *key)
{
  return key != NULL && (sm_trust_lookup (node->trust, key) != NULL || sm_node_has_peer_key (node, key));
}

/* The client that sent @envelope, or NULL when its key is no longer
 * trusted: the ZAP handler admitted it, but the trust list changed since,
 * and libzmq cannot close one connection of a ROUTER, so its frames are
 * ignored from now on. */
static Client *
find_client (SmNode    *node,
             zmq_msg_t *routing_id,
             zmq_msg_t *envelope,
             gint64     now)
{
  g_autoptr(GBytes) id = g_bytes_new (zmq_msg_data (routing_id), zmq_msg_size (routing_id));
  Client *client = g_hash_table_lookup (node->clients, id);
  const char *key = client != NULL ? client->key : zmq_msg_gets (envelope, "User-Id");

  if (!sm_node_key_is_trusted (node, key))
    {
      if (client != NULL)
        g_hash_table_remove (node->clients, id);
      g_mutex_lock (&node->lock);
      node->stats.untrusted_frames++;
      g_mutex_unlock (&node->lock);
      return NULL;
    }
  if (client == NULL)
    {
      client = g_new0 (Client, 1);
      g_strlcpy (client->key, key, sizeof client->key);
      g_hash_table_insert (node->clients, g_steal_pointer (&id), client);
    }
  client->last_heard_ns = now;
  return client;
}

static void
serve_infer (SmNode              *node,
             Client              *client,
             zmq_msg_t           *routing_id,
             const SmWireMessage *message,
             gint64               now)
{
  const guint8 *id = zmq_msg_data (routing_id);
  gsize id_size = zmq_msg_size (routing_id);
  guint64 hash;
  guint32 mask;
  guint width;
  const SmWireInfer *infer = &message->body.infer;
  g_autofree float *copy = NULL;
  g_autofree gpointer *row_data = NULL;
  const float *features;
  Served *served;

  sm_engine_get_model_identity (node->engine, &hash, &mask, &width);
  if (!client->said_hello || client->model_hash != hash)
    {
      refuse (node, id, id_size, message->request_id, message->sent_ns, SM_WIRE_STATUS_MODEL_MISMATCH,
              client->said_hello ? "Another model runs here" : "Say HELLO first", TRUE);
      return;
    }
  /* docs/protocol.md, "Conversation": the model's own width (another is
   * another model), an expert served here (255, "let the peer route", is
   * not done by any version-2 node); the wire's limits bound the rows. */
  if (infer->cols != width)
    {
      g_autofree char *text = g_strdup_printf ("The model here takes %u features, not %u", width, infer->cols);

      refuse (node, id, id_size, message->request_id, message->sent_ns, SM_WIRE_STATUS_MODEL_MISMATCH, text, TRUE);
      return;
    }
  if (infer->expert >= SM_N_DOMAINS || !(mask & (1u << infer->expert)))
    {
      refuse (node, id, id_size, message->request_id, message->sent_ns, SM_WIRE_STATUS_NO_EXPERT,
              infer->expert == SM_WIRE_EXPERT_ROUTE ? "This node does not route: name an expert"
                                                    : "No such expert here", TRUE);
      return;
    }
  if (node->stats.serving + infer->rows > SM_NODE_SERVE_MAX || node->stopping)
    {
      g_mutex_lock (&node->lock);
      node->stats.overloaded++;
      g_mutex_unlock (&node->lock);
      sm_node_reply_error (node, id, id_size, message->request_id, message->sent_ns, SM_WIRE_STATUS_OVERLOADED,
                   "Too many queries at once");
      return;
    }

  /* The frame is float-aligned whenever libzmq allocated it; copy if not. */
  if ((uintptr_t) message->tensor % G_ALIGNOF (float) == 0)
    features = (const float *) message->tensor;
  else
    {
      copy = g_new (float, (gsize) infer->rows * infer->cols);
      sm_wire_tensor_copy (message, copy);
      features = copy;
    }

  served = g_malloc0 (sizeof *served + infer->rows * sizeof (ServedRow));
  served->node = node;
  memcpy (served->routing_id, id, MIN (id_size, sizeof served->routing_id));
  served->routing_id_size = MIN (id_size, sizeof served->routing_id);
  served->request_id = message->request_id;
  served->echo_ns = message->sent_ns;
  served->received_ns = now;
  served->n_rows = infer->rows;
  served->rows_left = (gint) infer->rows;
  row_data = g_new (gpointer, infer->rows);
  for (guint i = 0; i < infer->rows; i++)
    {
      served->rows[i].served = served;
      row_data[i] = &served->rows[i];
    }

  g_mutex_lock (&node->lock);
  node->stats.serving += infer->rows;
  node->stats.serving_max = MAX (node->stats.serving_max, node->stats.serving);
  g_mutex_unlock (&node->lock);
  /* One submission: the rows join the expert's queue together and run as
   * one batch (or as few as the engine's max batch allows). */
  sm_engine_submit_feature_rows (node->engine, (SmDomain) infer->expert, features, infer->rows, infer->cols,
                                 serve_done, row_data);
}

void
sm_node_router_readable (SmNode *node)
{
  zmq_msg_t frames[3];
  guint n = sm_node_receive_frames (node->router, frames, 3);
  g_autoptr(GError) error = NULL;
  SmWireMessage message = { 0 };
  const guint8 *id;
  gsize id_size;
  gint64 now = now_ns ();
  Client *client;

  if (n < 2)
    {
      sm_node_close_frames (frames, n, 3);
      return;
    }
  id = zmq_msg_data (&frames[0]);
  id_size = zmq_msg_size (&frames[0]);
  client = find_client (node, &frames[0], &frames[1], now);
  if (client == NULL)
    {
      sm_node_close_frames (frames, n, 3);
      return;
    }

  /* Decoded even when there are too many frames: the header names the
   * request that the refusal answers. */
  if (!sm_wire_decode (zmq_msg_data (&frames[1]), zmq_msg_size (&frames[1]),
                       n >= 3 ? zmq_msg_data (&frames[2]) : NULL,
                       n >= 3 ? zmq_msg_size (&frames[2]) : 0, &message, &error)
      || n > 3)
    {
      gboolean is_error = zmq_msg_size (&frames[1]) >= 8
                          && (((const guint8 *) zmq_msg_data (&frames[1]))[6]
                              | ((const guint8 *) zmq_msg_data (&frames[1]))[7] << 8) == SM_WIRE_ERROR_REPLY;

      /* Never answer an ERROR with an ERROR. */
      refuse (node, id, id_size, message.request_id, message.sent_ns,
              error != NULL ? (SmWireStatus) error->code : SM_WIRE_STATUS_MALFORMED,
              error != NULL ? error->message : "Too many frames: a message is an envelope and at most a tensor",
              !is_error);
      sm_node_close_frames (frames, n, 3);
      return;
    }

  switch (message.type)
    {
    case SM_WIRE_HELLO:
      {
        SmWireMessage hello = { .request_id = message.request_id, .echo_ns = message.sent_ns };

        client->said_hello = TRUE;
        client->model_hash = message.body.hello.model_hash;
        sm_node_fill_hello (node, &hello);
        hello.sent_ns = (guint64) now_ns ();
        sm_node_reply (node, id, id_size, &hello);
      }
      break;
    case SM_WIRE_PING:
      {
        SmWireMessage pong = {
          .type = SM_WIRE_PONG,
          .request_id = message.request_id,
          .echo_ns = message.sent_ns,
          .sent_ns = (guint64) now_ns (),
        };

        sm_node_reply (node, id, id_size, &pong);
      }
      break;
    case SM_WIRE_INFER_REQUEST:
      serve_infer (node, client, &frames[0], &message, now);
      break;
    case SM_WIRE_BYE:
      {
        g_autoptr(GBytes) key = g_bytes_new (id, id_size);

        g_hash_table_remove (node->clients, key);
      }
      break;
    case SM_WIRE_ERROR_REPLY:
      break;
    case SM_WIRE_PONG:
    case SM_WIRE_INFER_REPLY:
    case SM_WIRE_METRICS:
    default:
      /* docs/protocol.md: BAD_TYPE is also a type the receiver does not
       * take in its role, as a reply sent to a server. */
      refuse (node, id, id_size, message.request_id, message.sent_ns, SM_WIRE_STATUS_BAD_TYPE,
              "A server takes requests, not replies or METRICS", TRUE);
      break;
    }
  sm_node_close_frames (frames, n, 3);
}

/* The gate refused a connection: counted here, on the gate's thread; the
 * node's thread reports the count at its next heartbeat, so that a flood
 * of handshakes is one line, not one per handshake. */
void
sm_node_connection_refused (gboolean untrusted_key,
                            gpointer user_data)
{
  SmNode *node = user_data;

  g_mutex_lock (&node->lock);
  node->stats.rejected_handshakes++;
  if (untrusted_key)
    node->stats.untrusted_keys++;
  g_mutex_unlock (&node->lock);
}

/* Trusted: the keys in the trust file, and those of the peers we were
 * told to connect to.  On the gate's thread, so under the lock: the node's
 * thread swaps the trust list when its file changes.  The answer, libzmq's
 * User-Id for the connection, is the key itself: the node checks it
 * against the list again with every frame. */
const char *
sm_node_lookup_key (const guint8 *public_key,
                    gpointer      user_data)
{
  SmNode *node = user_data;
  const char *name;

  g_mutex_lock (&node->lock);
  name = sm_trust_lookup_raw (node->trust, public_key);
  for (guint i = 0; name == NULL && i < node->peers->len; i++)
    {
      Peer *peer = g_ptr_array_index (node->peers, i);

      if (memcmp (peer->raw_key, public_key, sizeof peer->raw_key) == 0)
        name = peer->info.name;
    }
  g_mutex_unlock (&node->lock);
  if (name == NULL || zmq_z85_encode (node->gate_user_id, public_key, 32) == NULL)
    return NULL;
  return node->gate_user_id;
}

