/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#define G_LOG_DOMAIN "sm-node"

#include <math.h>
#include <string.h>
#include <zmq.h>

#include "sm-node-private.h"

/* ---- offloading (engine side) ---- */

/* On the submitting thread: the engine chose to offload this query; we
 * take it when some peer could run it. */
gboolean
sm_node_offload_hook (SmEngineJob *job,
                      gpointer     user_data)
{
  SmNode *node = user_data;
  Command *command;

  if (g_atomic_int_get (&node->ready_peers) == 0)
    return FALSE;

  command = g_new0 (Command, 1);
  command->kind = COMMAND_OFFLOAD;
  command->job = job;
  sm_node_post (node, command);
  return TRUE;
}

static void
set_peer_state (SmNode      *node,
                Peer        *peer,
                SmPeerState  state)
{
  SmPeerState old = peer->info.state;

  if (old == state)
    return;
  g_mutex_lock (&node->lock);
  peer->info.state = state;
  g_mutex_unlock (&node->lock);
  if (old == SM_PEER_READY)
    g_atomic_int_add (&node->ready_peers, -1);
  if (state == SM_PEER_READY)
    g_atomic_int_add (&node->ready_peers, 1);
}

/* The ready peer with the expert and the fewest queries out, or NULL. */
static Peer *
choose_peer (SmNode   *node,
             SmDomain  domain)
{
  Peer *best = NULL;

  for (guint i = 0; i < node->peers->len; i++)
    {
      Peer *peer = g_ptr_array_index (node->peers, i);

      if (peer->info.state != SM_PEER_READY
          || !(peer->info.hello.expert_mask & (1u << domain))
          || peer->info.in_flight >= SM_NODE_PEER_IN_FLIGHT_MAX)
        continue;
      if (best == NULL || peer->info.in_flight < best->info.in_flight)
        best = peer;
    }
  return best;
}

/* Sends @jobs[0 … n) — one expert's queries, as wide — to @peer as one
 * request, one row each.  FALSE when the peer's pipe is full. */
static gboolean
send_request (SmNode       *node,
              Peer         *peer,
              SmEngineJob **jobs,
              guint         n,
              guint         width)
{
  SmWireMessage message = { .type = SM_WIRE_INFER_REQUEST, .flags = SM_WIRE_FLAG_TENSOR };
  g_autofree float *rows = NULL;
  const float *tensor;
  Pending *pending;
  gboolean sent;
  guint w;

  /* One query goes as it is; several are gathered into one tensor. */
  if (n == 1)
    tensor = sm_engine_job_get_features (jobs[0], &w);
  else
    {
      rows = g_new (float, (gsize) n * width);
      for (guint i = 0; i < n; i++)
        memcpy (rows + (gsize) i * width, sm_engine_job_get_features (jobs[i], &w), width * sizeof (float));
      tensor = rows;
    }
  message.request_id = ++node->next_request_id;
  message.body.infer = (SmWireInfer) { .expert = (guint8) sm_engine_job_get_domain (jobs[0]), .rows = n, .cols = width };
  message.tensor = (const guint8 *) tensor;
  message.tensor_size = (gsize) n * width * sizeof (float);
  message.sent_ns = (guint64) now_ns ();

  /* libzmq copies the tensor into its message here, so the jobs may end
   * (run locally, say) while the frame still waits in a dead peer's pipe. */
  g_mutex_lock (&node->lock);
  sent = sm_node_send_message (peer->socket, NULL, 0, &message, peer);
  if (sent)
    {
      peer->info.offloaded += n;
      peer->info.in_flight += n;
      node->stats.offloaded += n;
      node->stats.offload_requests++;
    }
  g_mutex_unlock (&node->lock);
  if (!sent)
    return FALSE;

  pending = g_malloc (sizeof *pending + n * sizeof (SmEngineJob *));
  pending->request_id = message.request_id;
  pending->peer = peer;
  pending->sent_ns = (gint64) message.sent_ns;
  pending->n_jobs = n;
  memcpy (pending->jobs, jobs, n * sizeof (SmEngineJob *));
  g_hash_table_insert (node->pending, &pending->request_id, pending);
  return TRUE;
}

/* The rows one request to @peer may carry now: as many as this engine
 * batches (the mesh runs one model, and a peer's engine splits a larger
 * request into batches of its own), within the wire's limits and the
 * queries the peer may still have out. */
static guint
request_rows_max (SmNode *node,
                  Peer   *peer,
                  guint   width)
{
  guint rows = MIN (sm_engine_get_max_batch (node->engine), SM_WIRE_ROWS_MAX);

  rows = MIN (rows, SM_WIRE_TENSOR_FLOATS_MAX / MAX (width, 1));
  rows = MIN (rows, SM_NODE_PEER_IN_FLIGHT_MAX - peer->info.in_flight);
  return MAX (rows, 1);
}

/* Sends one expert's queries @jobs[0 … n) in as few requests as the
 * peers take; what no peer takes runs here. */
static void
send_expert_queries (SmNode       *node,
                     SmEngineJob **jobs,
                     guint         n)
{
  SmDomain domain = sm_engine_job_get_domain (jobs[0]);
  guint done = 0;

  while (done < n)
    {
      Peer *peer = node->stopping ? NULL : choose_peer (node, domain);
      guint width, rows = 0, rows_max;

      if (peer == NULL)
        break;
      sm_engine_job_get_features (jobs[done], &width);
      rows_max = request_rows_max (node, peer, width);
      /* One width per request: a model swapped in meanwhile may change it. */
      while (done + rows < n && rows < rows_max)
        {
          guint w;

          sm_engine_job_get_features (jobs[done + rows], &w);
          if (w != width)
            break;
          rows++;
        }
      if (!send_request (node, peer, jobs + done, rows, width))
        break;
      done += rows;
    }
  for (; done < n; done++)
    sm_engine_job_run_locally (jobs[done]);
}

/* Sends the queries the engine offloaded since the last call: those of
 * one expert together, so that a busy node sends micro-batches, not one
 * query per round trip, while a quiet one sends each query as it comes. */
void
sm_node_send_offloads (SmNode *node)
{
  GPtrArray *by_domain[SM_N_DOMAINS] = { NULL };

  if (node->outbox->len == 0)
    return;
  for (guint i = 0; i < node->outbox->len; i++)
    {
      SmEngineJob *job = g_ptr_array_index (node->outbox, i);
      SmDomain domain = sm_engine_job_get_domain (job);

      if (by_domain[domain] == NULL)
        by_domain[domain] = g_ptr_array_new ();
      g_ptr_array_add (by_domain[domain], job);
    }
  g_ptr_array_set_size (node->outbox, 0);

  for (guint d = 0; d < SM_N_DOMAINS; d++)
    if (by_domain[d] != NULL)
      {
        send_expert_queries (node, (SmEngineJob **) by_domain[d]->pdata, by_domain[d]->len);
        g_ptr_array_unref (by_domain[d]);
      }
}

/* Ends a pending request without the peer's answer: its queries run here
 * instead. */
void
sm_node_retry_locally (SmNode  *node,
                       Pending *pending)
{
  g_mutex_lock (&node->lock);
  pending->peer->info.in_flight -= pending->n_jobs;
  pending->peer->info.retried += pending->n_jobs;
  node->stats.offload_retried += pending->n_jobs;
  g_mutex_unlock (&node->lock);
  for (guint i = 0; i < pending->n_jobs; i++)
    sm_engine_job_run_locally (pending->jobs[i]);
  g_hash_table_remove (node->pending, &pending->request_id);
}

void
sm_node_retry_peer_queries (SmNode *node,
                            Peer   *peer)
{
  GHashTableIter iter;
  Pending *pending;
  g_autoptr(GPtrArray) mine = g_ptr_array_new ();

  g_hash_table_iter_init (&iter, node->pending);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &pending))
    if (peer == NULL || pending->peer == peer)
      g_ptr_array_add (mine, pending);
  for (guint i = 0; i < mine->len; i++)
    sm_node_retry_locally (node, g_ptr_array_index (mine, i));
}

/* ---- what peers' DEALERs receive: answers to us ---- */

void
sm_node_mark_gone (SmNode     *node,
                   Peer       *peer,
                   const char *why)
{
  if (peer->info.state == SM_PEER_GONE)
    return;
  set_peer_state (node, peer, SM_PEER_GONE);
  g_mutex_lock (&node->lock);
  peer->info.has_hello = FALSE;
  g_mutex_unlock (&node->lock);
  sm_node_emit (node, SM_NODE_EVENT_PEER_GONE, peer->info.name, "%s", why);
  sm_node_clear_figures (node, peer);
  sm_node_retry_peer_queries (node, peer);
}

static void
take_hello (SmNode              *node,
            Peer                *peer,
            const SmWireMessage *message)
{
  guint64 hash;
  guint32 mask;
  guint width;

  sm_engine_get_model_identity (node->engine, &hash, &mask, &width);
  g_mutex_lock (&node->lock);
  peer->info.hello = message->body.hello;
  peer->info.has_hello = TRUE;
  g_mutex_unlock (&node->lock);

  if (message->body.hello.model_hash != hash)
    {
      if (peer->info.state != SM_PEER_MISMATCH)
        sm_node_emit (node, SM_NODE_EVENT_PEER_MISMATCH, peer->info.name,
              "%s runs another model (hash %016" G_GINT64_MODIFIER "x, ours %016" G_GINT64_MODIFIER "x): no queries go there",
              message->body.hello.name, message->body.hello.model_hash, hash);
      set_peer_state (node, peer, SM_PEER_MISMATCH);
      sm_node_retry_peer_queries (node, peer);
    }
  else if (peer->info.state != SM_PEER_READY)
    {
      set_peer_state (node, peer, SM_PEER_READY);
      sm_node_emit (node, SM_NODE_EVENT_PEER_READY, peer->info.name, "%s (%s) is ready", message->body.hello.name,
            peer->info.endpoint);
    }
}

/* Sends a heartbeat PING and remembers it, so that its PONG can be told
 * from one nobody asked for. */
void
sm_node_send_ping (SmNode *node,
                   Peer   *peer)
{
  guint slot = peer->next_ping++ % PINGS_OUTSTANDING;

  peer->pings[slot].request_id = ++node->next_request_id;
  peer->pings[slot].sent_ns = now_ns ();
  sm_node_send_to_peer (node, peer, SM_WIRE_PING, peer->pings[slot].request_id);
}

static void
take_rtt (SmNode  *node,
          Peer    *peer,
          guint64  request_id,
          gint64   now)
{
  Probe *probe = node->probe;
  gboolean probing = probe != NULL && (request_id & PROBE_BIT) && (request_id & ~PROBE_BIT) == probe->done
                     && g_ptr_array_index (node->peers, probe->index) == peer;
  gint64 sent_ns = -1;
  guint64 rtt;

  if (probing)
    sent_ns = probe->sent_ns;
  else
    for (guint i = 0; i < PINGS_OUTSTANDING; i++)
      if (peer->pings[i].request_id == request_id && request_id != 0)
        {
          sent_ns = peer->pings[i].sent_ns;
          peer->pings[i].request_id = 0;   /* a second PONG for it is not a sample */
          break;
        }
  if (sent_ns < 0)
    {
      g_mutex_lock (&node->lock);
      node->stats.unsolicited_pongs++;
      g_mutex_unlock (&node->lock);
      return;
    }

  rtt = (guint64) MAX (0, now - sent_ns);
  sm_histogram_recorder_record (peer->rtt_recorder, rtt);
  g_mutex_lock (&node->lock);
  peer->info.rtt_last_ns = rtt;
  g_mutex_unlock (&node->lock);

  if (probing)
    {
      probe->rtts[probe->done++] = rtt;
      if (probe->done < probe->count)
        {
          probe->sent_ns = now;
          sm_node_send_to_peer (node, peer, SM_WIRE_PING, PROBE_BIT | probe->done);
        }
    }
}

static void
take_reply (SmNode              *node,
            Peer                *peer,
            const SmWireMessage *message)
{
  Pending *pending = g_hash_table_lookup (node->pending, &message->request_id);
  g_autofree float *output = NULL;

  if (pending == NULL || pending->peer != peer)
    {
      /* Late: it timed out, or its peer was gone, and it ran locally. */
      g_mutex_lock (&node->lock);
      node->stats.late_replies++;
      g_mutex_unlock (&node->lock);
      return;
    }

  /* It does not know us: it restarted (on the same port, before we
   * missed three heartbeats, and libzmq reconnected our socket to it) or
   * changed model.  Every query out there would be refused the same way:
   * all run here, and it is asked for a HELLO again. */
  if (message->type == SM_WIRE_ERROR_REPLY && message->body.error.code == SM_WIRE_STATUS_MODEL_MISMATCH)
    {
      sm_node_retry_locally (node, pending);
      sm_node_mark_gone (node, peer, "does not know this node any more (restarted?): saying HELLO again");
      /* Now, not at the next heartbeat: it is there, only new. */
      set_peer_state (node, peer, SM_PEER_CONNECTING);
      sm_node_send_to_peer (node, peer, SM_WIRE_HELLO, 0);
      return;
    }
  if (message->type == SM_WIRE_ERROR_REPLY || message->body.infer.rows != pending->n_jobs)
    {
      sm_node_retry_locally (node, pending);
      return;
    }

  output = g_new (float, (gsize) message->body.infer.rows * message->body.infer.cols);
  sm_wire_tensor_copy (message, output);
  /* Counted before the queries complete: whoever waits for one may read
   * the figures at once. */
  g_mutex_lock (&node->lock);
  peer->info.in_flight -= pending->n_jobs;
  peer->info.answered += pending->n_jobs;
  node->stats.offload_answered += pending->n_jobs;
  g_mutex_unlock (&node->lock);
  for (guint i = 0; i < pending->n_jobs; i++)
    if (!sm_engine_job_complete (pending->jobs[i], output + (gsize) i * message->body.infer.cols,
                                 message->body.infer.cols, message->body.infer.queue_ns,
                                 message->body.infer.compute_ns))
      {
        g_mutex_lock (&node->lock);
        peer->info.answered--;
        peer->info.retried++;
        node->stats.offload_answered--;
        node->stats.offload_retried++;
        g_mutex_unlock (&node->lock);
      }
  g_hash_table_remove (node->pending, &message->request_id);
}

/* Reads every frame of one message into @frames (at most @max; the rest
 * are read and dropped).  Returns how many frames there were in all. */
guint
sm_node_receive_frames (void      *socket,
                        zmq_msg_t *frames,
                        guint      max)
{
  guint n = 0;
  int more = 1;
  size_t more_size = sizeof more;

  while (more)
    {
      zmq_msg_t extra;
      zmq_msg_t *frame = n < max ? &frames[n] : &extra;

      zmq_msg_init (frame);
      if (zmq_msg_recv (frame, socket, ZMQ_DONTWAIT) < 0)
        {
          zmq_msg_close (frame);
          break;
        }
      zmq_getsockopt (socket, ZMQ_RCVMORE, &more, &more_size);
      if (frame == &extra)
        zmq_msg_close (frame);
      n++;
    }
  return n;
}

void
sm_node_close_frames (zmq_msg_t *frames,
                      guint      n,
                      guint      max)
{
  for (guint i = 0; i < MIN (n, max); i++)
    zmq_msg_close (&frames[i]);
}

void
sm_node_peer_readable (SmNode *node,
                       Peer   *peer)
{
  zmq_msg_t frames[2];
  guint n = sm_node_receive_frames (peer->socket, frames, 2);
  SmWireMessage message;
  gint64 now = now_ns ();
  gboolean ok;

  if (n == 0)
    return;

  ok = n <= 2 && sm_wire_decode (zmq_msg_data (&frames[0]), zmq_msg_size (&frames[0]),
                                 n == 2 ? zmq_msg_data (&frames[1]) : NULL,
                                 n == 2 ? zmq_msg_size (&frames[1]) : 0, &message, NULL);
  g_mutex_lock (&node->lock);
  peer->info.messages_in++;
  for (guint i = 0; i < MIN (n, 2); i++)
    peer->info.bytes_in += zmq_msg_size (&frames[i]);
  g_mutex_unlock (&node->lock);

  /* A peer that answers with garbage is not heard from. */
  if (ok)
    {
      gboolean was_gone = peer->info.state == SM_PEER_GONE;

      peer->last_heard_ns = now;
      /* A BYE does not bring a gone peer back (else each of a flood of
       * them would make it come and go again). */
      if (was_gone && message.type != SM_WIRE_BYE)
        {
          set_peer_state (node, peer, SM_PEER_CONNECTING);
          sm_node_send_to_peer (node, peer, SM_WIRE_HELLO, 0);
        }

      switch (message.type)
        {
        case SM_WIRE_HELLO:
          take_hello (node, peer, &message);
          break;
        case SM_WIRE_PONG:
          take_rtt (node, peer, message.request_id, now);
          break;
        case SM_WIRE_INFER_REPLY:
        case SM_WIRE_ERROR_REPLY:
          take_reply (node, peer, &message);
          break;
        case SM_WIRE_METRICS:
          g_mutex_lock (&node->lock);
          peer->info.metrics = message.body.metrics;
          peer->info.has_metrics = TRUE;
          g_mutex_unlock (&node->lock);
          /* Only a ready peer's: one with another model is not a peer
           * whose figures mean anything beside ours. */
          if (peer->info.state == SM_PEER_READY)
            sm_node_take_figures (node, peer, &message.body.metrics);
          break;
        case SM_WIRE_BYE:
          sm_node_mark_gone (node, peer, "said goodbye");
          break;
        case SM_WIRE_PING:
        case SM_WIRE_INFER_REQUEST:
        default:
          break;   /* a server does not ask its clients anything */
        }
    }
  sm_node_close_frames (frames, n, 2);
}

