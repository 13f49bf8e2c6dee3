/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#define G_LOG_DOMAIN "sm-node"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <zmq.h>

#include "sm-beacon.h"
#include "sm-error.h"
#include "sm-gate.h"
#include "sm-histogram.h"
#include "sm-node.h"
#include "sm-simd.h"

/* A query out at a peer gets this many heartbeats to come back before it
 * runs locally, even while the peer still answers PINGs. */
#define REQUEST_TIMEOUT_HEARTBEATS 5
/* A client that sent nothing for this many heartbeats is forgotten. */
#define CLIENT_EXPIRY_HEARTBEATS   10
/* Polled by the node's thread: the wakeup, the ROUTER, the beacon; then
 * one DEALER per peer. */
#define FIXED_ITEMS                3
/* Request ids with this bit are the benchmark's PINGs. */
#define PROBE_BIT                  (G_GUINT64_CONSTANT (1) << 63)
/* PINGs a peer may leave unanswered before the oldest is forgotten: more
 * than the heartbeats it takes to be gone. */
#define PINGS_OUTSTANDING          8
#define N_EVENTS                   (SM_NODE_EVENT_DISCOVERED + 1)

/* ---- what other threads post to the node's thread ---- */

typedef enum {
  COMMAND_OFFLOAD,     /* an engine query to send to a peer */
  COMMAND_SERVED,      /* a peer's query the engine answered */
  COMMAND_ADD_PEER,
  COMMAND_PROBE,
  COMMAND_STOP,
} CommandKind;

typedef struct _Peer Peer;

/* A peer's query, from its arrival to the reply. */
typedef struct
{
  SmNode   *node;
  guint8    routing_id[256];
  gsize     routing_id_size;
  guint64   request_id;
  guint64   echo_ns;
  gint64    received_ns;
  SmResult *result;
  GError   *error;
} Served;

typedef struct
{
  guint     index;
  guint     count;
  guint     done;
  guint64  *rtts;
  gint64    sent_ns;
  gboolean  finished;
  GError   *error;
} Probe;

typedef struct
{
  CommandKind  kind;
  SmEngineJob *job;
  Served      *served;
  Peer        *peer;
  Probe       *probe;
} Command;

/* ---- the node's own state ---- */

/* An engine query out at a peer. */
typedef struct
{
  guint64      request_id;
  SmEngineJob *job;
  Peer        *peer;
  gint64       sent_ns;
} Pending;

struct _Peer
{
  SmNodePeerInfo       info;      /* under node->lock; the thread writes it */
  guint8               raw_key[32];
  void                *socket;    /* DEALER */
  gint64               last_heard_ns;
  gint64               connected_ns;
  SmHistogram         *rtt;
  SmHistogramRecorder *rtt_recorder;
  /* PINGs sent and not answered: only a PONG that names one of them is a
   * round trip, timed by our clock, not by what the PONG says. */
  struct {
    guint64 request_id;
    gint64  sent_ns;
  } pings[PINGS_OUTSTANDING];
  guint                next_ping;
};

/* A peer connected to our ROUTER, known by its routing id. */
typedef struct
{
  char    key[SM_IDENTITY_KEY_LENGTH + 1];  /* its User-Id: the CURVE key */
  guint64 model_hash;
  gboolean said_hello;
  gint64  last_heard_ns;
} Client;

struct _SmNode
{
  SmEngine        *engine;
  SmTrust         *trust;
  SmIdentity       identity;
  char             name[SM_WIRE_NAME_MAX + 1];
  char            *endpoint;
  guint8           node_id[16];
  gint64           heartbeat_ns;
  gint64           started_ns;

  void            *context;
  void            *router;
  SmGate          *gate;
  SmBeacon        *beacon;         /* LAN discovery, when asked for */
  int              wakeup;        /* eventfd */
  GAsyncQueue     *commands;
  GThread         *thread;

  SmNodeEventFunc  event_func;
  gpointer         event_data;
  /* Events shown per kind in the current window, and those only counted
   * (a flood of BYEs or handshakes must not become a flood of lines). */
  struct {
    gint64  window_ns;
    guint   shown;
    guint64 folded;
  } events[N_EVENTS];
  guint64          handshakes_reported;
  guint64          untrusted_reported;

  /* The trusted-peers file, watched by a stat() per heartbeat: the node's
   * thread has no main context to run a GFileMonitor in. */
  char            *trust_path;
  SmTrust         *owned_trust;    /* the last list read from trust_path */
  struct stat      trust_stat;
  gboolean         trust_exists;
  /* The gate's answer to libzmq (a Z85 key); only the gate's thread uses it. */
  char             gate_user_id[SM_IDENTITY_KEY_LENGTH + 1];

  gint             ready_peers;     /* read by submitting threads */

  /* The thread's own */
  GPtrArray       *peers;          /* Peer*, also read under lock */
  GHashTable      *pending;        /* request id → Pending */
  GHashTable      *clients;        /* routing id (GBytes) → Client */
  guint64          next_request_id;
  gint64           next_heartbeat_ns;
  Probe           *probe;
  gboolean         stopping;
  gboolean         sockets_changed; /* poll a peer's new socket */
  gint64           metrics_sent_ns;
  guint64          metrics_completed;

  GMutex           lock;           /* peers' info and stats for readers */
  GCond            probe_done;
  GCond            peer_added;
  SmNodeStats      stats;
};

static inline gint64
now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gint64) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

const char *
sm_peer_state_get_name (SmPeerState state)
{
  switch (state)
    {
    case SM_PEER_CONNECTING: return "connecting";
    case SM_PEER_READY: return "ready";
    case SM_PEER_MISMATCH: return "mismatch";
    case SM_PEER_GONE: return "gone";
    default: return "unknown";
    }
}

static void
emit (SmNode      *node,
      SmNodeEvent  event,
      const char  *peer,
      const char  *format,
      ...) G_GNUC_PRINTF (4, 5);

/* Says how many events of @event were folded in the window that ended. */
static void
fold_flush (SmNode      *node,
            SmNodeEvent  event,
            gint64       now)
{
  guint64 folded = node->events[event].folded;
  g_autofree char *message = NULL;

  if (now - node->events[event].window_ns < (gint64) SM_NODE_EVENT_WINDOW_S * 1000000000)
    return;
  node->events[event].window_ns = now;
  node->events[event].shown = 0;
  node->events[event].folded = 0;
  if (folded == 0 || node->event_func == NULL)
    return;
  message = g_strdup_printf ("%" G_GUINT64_FORMAT " more such events in %d s, not shown one by one",
                             folded, SM_NODE_EVENT_WINDOW_S);
  node->event_func (event, NULL, message, node->event_data);
}

/* On the node's thread only.  Everything shown passes through here, so
 * this is where peers' text is made harmless and floods are folded. */
static void
emit (SmNode      *node,
      SmNodeEvent  event,
      const char  *peer,
      const char  *format,
      ...)
{
  g_autofree char *text = NULL, *message = NULL, *peer_text = NULL;
  va_list args;

  if (node->event_func == NULL)
    return;
  fold_flush (node, event, now_ns ());
  if (node->events[event].shown >= SM_NODE_EVENT_BURST)
    {
      node->events[event].folded++;
      g_mutex_lock (&node->lock);
      node->stats.events_folded++;
      g_mutex_unlock (&node->lock);
      return;
    }
  node->events[event].shown++;
  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  message = sm_wire_text_for_display (text);
  peer_text = peer != NULL ? sm_wire_text_for_display (peer) : NULL;
  node->event_func (event, peer_text, message, node->event_data);
}

static void
post (SmNode  *node,
      Command *command)
{
  guint64 one = 1;

  g_async_queue_push (node->commands, command);
  /* A full counter (never, in practice) still wakes the thread. */
  if (write (node->wakeup, &one, sizeof one) < 0 && errno != EAGAIN)
    g_warning ("Cannot wake the mesh node: %s", g_strerror (errno));
}

/* ---- sending ---- */

/* Sends an envelope (after @routing_id on the ROUTER) and, for INFER, its
 * tensor; never blocks: a peer at its high-water mark loses the message,
 * which the caller learns from the return value. */
static gboolean
send_message (void                *socket,
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
static void
reply (SmNode              *node,
       const guint8        *routing_id,
       gsize                routing_id_size,
       const SmWireMessage *message)
{
  if (!send_message (node->router, routing_id, routing_id_size, message, NULL))
    {
      g_mutex_lock (&node->lock);
      node->stats.replies_dropped++;
      g_mutex_unlock (&node->lock);
    }
}

static void
fill_hello (SmNode        *node,
            SmWireMessage *message)
{
  SmWireHello *hello = &message->body.hello;

  message->type = SM_WIRE_HELLO;
  memcpy (hello->node_id, node->node_id, sizeof hello->node_id);
  g_strlcpy (hello->name, node->name, sizeof hello->name);
  g_strlcpy (hello->software, PACKAGE_VERSION, sizeof hello->software);
  sm_engine_get_model_identity (node->engine, &hello->model_hash, &hello->expert_mask, &hello->input_width);
  hello->simd_level = (guint8) sm_simd_get_level ();
  hello->gpu = 0;
}

static void
send_to_peer (SmNode   *node,
              Peer     *peer,
              SmWireType type,
              guint64   request_id)
{
  SmWireMessage message = { .type = type, .request_id = request_id };

  if (type == SM_WIRE_HELLO)
    fill_hello (node, &message);
  message.sent_ns = (guint64) now_ns ();
  g_mutex_lock (&node->lock);
  send_message (peer->socket, NULL, 0, &message, peer);
  g_mutex_unlock (&node->lock);
}

static void
reply_error (SmNode       *node,
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
  reply (node, routing_id, routing_id_size, &message);
}

/* ---- offloading (engine side) ---- */

/* On the submitting thread: the engine chose to offload this query; we
 * take it when some peer could run it. */
static gboolean
offload_hook (SmEngineJob *job,
              gpointer     user_data)
{
  SmNode *node = user_data;
  Command *command;

  if (g_atomic_int_get (&node->ready_peers) == 0)
    return FALSE;

  command = g_new0 (Command, 1);
  command->kind = COMMAND_OFFLOAD;
  command->job = job;
  post (node, command);
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

static void
send_offload (SmNode      *node,
              SmEngineJob *job)
{
  SmDomain domain = sm_engine_job_get_domain (job);
  Peer *peer = choose_peer (node, domain);
  SmWireMessage message = { .type = SM_WIRE_INFER_REQUEST, .flags = SM_WIRE_FLAG_TENSOR };
  const float *features;
  guint width;
  Pending *pending;
  gboolean sent;

  if (peer == NULL || node->stopping)
    {
      sm_engine_job_run_locally (job);
      return;
    }

  features = sm_engine_job_get_features (job, &width);
  message.request_id = ++node->next_request_id;
  message.body.infer = (SmWireInfer) { .expert = (guint8) domain, .rows = 1, .cols = width };
  message.tensor = (const guint8 *) features;
  message.tensor_size = (gsize) width * sizeof (float);
  message.sent_ns = (guint64) now_ns ();

  /* libzmq copies the tensor into its message here, so the job may end
   * (run locally, say) while the frame still waits in a dead peer's pipe. */
  g_mutex_lock (&node->lock);
  sent = send_message (peer->socket, NULL, 0, &message, peer);
  if (sent)
    {
      peer->info.offloaded++;
      peer->info.in_flight++;
      node->stats.offloaded++;
    }
  g_mutex_unlock (&node->lock);

  if (!sent)
    {
      sm_engine_job_run_locally (job);
      return;
    }

  pending = g_new (Pending, 1);
  pending->request_id = message.request_id;
  pending->job = job;
  pending->peer = peer;
  pending->sent_ns = (gint64) message.sent_ns;
  g_hash_table_insert (node->pending, &pending->request_id, pending);
}

/* Ends a pending query without the peer's answer: it runs here instead. */
static void
retry_locally (SmNode  *node,
               Pending *pending)
{
  g_mutex_lock (&node->lock);
  pending->peer->info.in_flight--;
  pending->peer->info.retried++;
  node->stats.offload_retried++;
  g_mutex_unlock (&node->lock);
  sm_engine_job_run_locally (pending->job);
  g_hash_table_remove (node->pending, &pending->request_id);
}

static void
retry_peer_queries (SmNode *node,
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
    retry_locally (node, g_ptr_array_index (mine, i));
}

/* ---- what peers' DEALERs receive: answers to us ---- */

static void
mark_gone (SmNode     *node,
           Peer       *peer,
           const char *why)
{
  if (peer->info.state == SM_PEER_GONE)
    return;
  set_peer_state (node, peer, SM_PEER_GONE);
  g_mutex_lock (&node->lock);
  peer->info.has_hello = FALSE;
  g_mutex_unlock (&node->lock);
  emit (node, SM_NODE_EVENT_PEER_GONE, peer->info.name, "%s", why);
  retry_peer_queries (node, peer);
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
        emit (node, SM_NODE_EVENT_PEER_MISMATCH, peer->info.name,
              "%s runs another model (hash %016" G_GINT64_MODIFIER "x, ours %016" G_GINT64_MODIFIER "x): no queries go there",
              message->body.hello.name, message->body.hello.model_hash, hash);
      set_peer_state (node, peer, SM_PEER_MISMATCH);
      retry_peer_queries (node, peer);
    }
  else if (peer->info.state != SM_PEER_READY)
    {
      set_peer_state (node, peer, SM_PEER_READY);
      emit (node, SM_NODE_EVENT_PEER_READY, peer->info.name, "%s (%s) is ready", message->body.hello.name,
            peer->info.endpoint);
    }
}

/* Sends a heartbeat PING and remembers it, so that its PONG can be told
 * from one nobody asked for. */
static void
send_ping (SmNode *node,
           Peer   *peer)
{
  guint slot = peer->next_ping++ % PINGS_OUTSTANDING;

  peer->pings[slot].request_id = ++node->next_request_id;
  peer->pings[slot].sent_ns = now_ns ();
  send_to_peer (node, peer, SM_WIRE_PING, peer->pings[slot].request_id);
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
          send_to_peer (node, peer, SM_WIRE_PING, PROBE_BIT | probe->done);
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
    return;   /* late: it timed out and ran locally already */

  if (message->type == SM_WIRE_ERROR_REPLY || message->body.infer.rows != 1)
    {
      retry_locally (node, pending);
      return;
    }

  output = g_new (float, message->body.infer.cols);
  sm_wire_tensor_copy (message, output);
  /* Counted before the query completes: whoever waits for it may read
   * the figures at once. */
  g_mutex_lock (&node->lock);
  peer->info.in_flight--;
  peer->info.answered++;
  g_mutex_unlock (&node->lock);
  if (!sm_engine_job_complete (pending->job, output, message->body.infer.cols,
                               message->body.infer.queue_ns, message->body.infer.compute_ns))
    {
      g_mutex_lock (&node->lock);
      peer->info.answered--;
      peer->info.retried++;
      node->stats.offload_retried++;
      g_mutex_unlock (&node->lock);
    }
  g_hash_table_remove (node->pending, &message->request_id);
}

/* Reads every frame of one message into @frames (at most @max; the rest
 * are read and dropped).  Returns how many frames there were in all. */
static guint
receive_frames (void      *socket,
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

static void
close_frames (zmq_msg_t *frames,
              guint      n,
              guint      max)
{
  for (guint i = 0; i < MIN (n, max); i++)
    zmq_msg_close (&frames[i]);
}

static void
peer_readable (SmNode *node,
               Peer   *peer)
{
  zmq_msg_t frames[2];
  guint n = receive_frames (peer->socket, frames, 2);
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
          send_to_peer (node, peer, SM_WIRE_HELLO, 0);
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
          break;
        case SM_WIRE_BYE:
          mark_gone (node, peer, "said goodbye");
          break;
        case SM_WIRE_PING:
        case SM_WIRE_INFER_REQUEST:
        default:
          break;   /* a server does not ask its clients anything */
        }
    }
  close_frames (frames, n, 2);
}

/* ---- what our ROUTER receives: peers asking us ---- */

static void
serve_done (SmResult     *result,
            const GError *error,
            gpointer      user_data)
{
  Served *served = user_data;
  Command *command = g_new0 (Command, 1);

  served->result = result;
  served->error = error != NULL ? g_error_copy (error) : NULL;
  command->kind = COMMAND_SERVED;
  command->served = served;
  post (served->node, command);
}

static void
served_free (Served *served)
{
  sm_result_free (served->result);
  g_clear_error (&served->error);
  g_free (served);
}

static void
send_served (SmNode *node,
             Served *served)
{
  g_mutex_lock (&node->lock);
  node->stats.serving--;
  node->stats.served++;
  g_mutex_unlock (&node->lock);

  /* Our own model's output is checked as a peer's would be: a NaN is a
   * failure to say so, not an answer. */
  if (served->error == NULL)
    for (guint i = 0; i < served->result->output_width; i++)
      if (!isfinite (served->result->output[i]))
        {
          served->error = g_error_new (SM_ENGINE_ERROR, SM_ENGINE_ERROR_FAILED,
                                       "The model's output is not finite");
          break;
        }

  if (served->error != NULL)
    {
      SmWireStatus status = g_error_matches (served->error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_NOT_SUPPORTED)
                            ? SM_WIRE_STATUS_NO_EXPERT : SM_WIRE_STATUS_INTERNAL;

      reply_error (node, served->routing_id, served->routing_id_size, served->request_id, served->echo_ns,
                   status, served->error->message);
    }
  else
    {
      SmResult *r = served->result;
      SmWireMessage message = {
        .type = SM_WIRE_INFER_REPLY,
        .flags = SM_WIRE_FLAG_TENSOR,
        .request_id = served->request_id,
        .echo_ns = served->echo_ns,
        .tensor = (const guint8 *) r->output,
        .tensor_size = (gsize) r->output_width * sizeof (float),
      };
      gint64 now = now_ns ();

      message.body.infer = (SmWireInfer) {
        .expert = (guint8) r->domain,
        .rows = 1,
        .cols = r->output_width,
        .queue_ns = r->queue_ns,
        .compute_ns = r->inference_ns,
      };
      message.sent_ns = (guint64) now;
      reply (node, served->routing_id, served->routing_id_size, &message);
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
    reply_error (node, routing_id, routing_id_size, request_id, echo_ns, status, text);
  emit (node, SM_NODE_EVENT_REJECTED, NULL, "Refused a frame (%s): %s", sm_wire_status_name (status), text);
}

static gboolean
has_peer_key (SmNode     *node,
              const char *public_key);

/* Whether @key (Z85) may talk to us now: the trusted-peers file as last
 * read, or a peer we were told to connect to.  On the node's thread,
 * which is the only one that changes either. */
static gboolean
key_is_trusted (SmNode     *node,
                const char *key)
{
  return key != NULL && (sm_trust_lookup (node->trust, key) != NULL || has_peer_key (node, key));
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

  if (!key_is_trusted (node, key))
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
  const float *features;
  Served *served;

  sm_engine_get_model_identity (node->engine, &hash, &mask, &width);
  if (!client->said_hello || client->model_hash != hash)
    {
      refuse (node, id, id_size, message->request_id, message->sent_ns, SM_WIRE_STATUS_MODEL_MISMATCH,
              client->said_hello ? "Another model runs here" : "Say HELLO first", TRUE);
      return;
    }
  /* docs/protocol.md, "Conversation": one query per request in this
   * version (a larger tensor than the node takes is TOO_LARGE), the
   * model's own width (another is another model), an expert served here
   * (255, "let the peer route", is not done by any version-2 node). */
  if (infer->rows != 1)
    {
      refuse (node, id, id_size, message->request_id, message->sent_ns, SM_WIRE_STATUS_TOO_LARGE,
              "One query (rows = 1) per request", TRUE);
      return;
    }
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
  if (node->stats.serving >= SM_NODE_SERVE_MAX || node->stopping)
    {
      g_mutex_lock (&node->lock);
      node->stats.overloaded++;
      g_mutex_unlock (&node->lock);
      reply_error (node, id, id_size, message->request_id, message->sent_ns, SM_WIRE_STATUS_OVERLOADED,
                   "Too many queries at once");
      return;
    }

  /* The frame is float-aligned whenever libzmq allocated it; copy if not. */
  if ((uintptr_t) message->tensor % G_ALIGNOF (float) == 0)
    features = (const float *) message->tensor;
  else
    {
      copy = g_new (float, infer->cols);
      sm_wire_tensor_copy (message, copy);
      features = copy;
    }

  served = g_new0 (Served, 1);
  served->node = node;
  memcpy (served->routing_id, id, MIN (id_size, sizeof served->routing_id));
  served->routing_id_size = MIN (id_size, sizeof served->routing_id);
  served->request_id = message->request_id;
  served->echo_ns = message->sent_ns;
  served->received_ns = now;

  g_mutex_lock (&node->lock);
  node->stats.serving++;
  node->stats.serving_max = MAX (node->stats.serving_max, node->stats.serving);
  g_mutex_unlock (&node->lock);
  sm_engine_submit_features (node->engine, (SmDomain) infer->expert, features, infer->cols, serve_done, served);
}

static void
router_readable (SmNode *node)
{
  zmq_msg_t frames[3];
  guint n = receive_frames (node->router, frames, 3);
  g_autoptr(GError) error = NULL;
  SmWireMessage message = { 0 };
  const guint8 *id;
  gsize id_size;
  gint64 now = now_ns ();
  Client *client;

  if (n < 2)
    {
      close_frames (frames, n, 3);
      return;
    }
  id = zmq_msg_data (&frames[0]);
  id_size = zmq_msg_size (&frames[0]);
  client = find_client (node, &frames[0], &frames[1], now);
  if (client == NULL)
    {
      close_frames (frames, n, 3);
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
      close_frames (frames, n, 3);
      return;
    }

  switch (message.type)
    {
    case SM_WIRE_HELLO:
      {
        SmWireMessage hello = { .request_id = message.request_id, .echo_ns = message.sent_ns };

        client->said_hello = TRUE;
        client->model_hash = message.body.hello.model_hash;
        fill_hello (node, &hello);
        hello.sent_ns = (guint64) now_ns ();
        reply (node, id, id_size, &hello);
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

        reply (node, id, id_size, &pong);
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
  close_frames (frames, n, 3);
}

/* The gate refused a connection: counted here, on the gate's thread; the
 * node's thread reports the count at its next heartbeat, so that a flood
 * of handshakes is one line, not one per handshake. */
static void
connection_refused (gboolean untrusted_key,
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
static const char *
lookup_key (const guint8 *public_key,
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

/* ---- the node's thread ---- */

static void *
open_socket (SmNode  *node,
             int      type,
             GError **error)
{
  void *socket = zmq_socket (node->context, type);
  int linger = 0;
  gint64 max_size = (gint64) SM_WIRE_TRANSPORT_MAX;

  if (socket == NULL)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_FAILED, "Cannot make a ZeroMQ socket: %s",
                   zmq_strerror (zmq_errno ()));
      return NULL;
    }
  zmq_setsockopt (socket, ZMQ_LINGER, &linger, sizeof linger);
  /* Above the largest legal frame (sm-wire.h), so that frames somewhat
   * too large reach the decoder and are answered TOO_LARGE. */
  zmq_setsockopt (socket, ZMQ_MAXMSGSIZE, &max_size, sizeof max_size);
  return socket;
}

/* A DEALER to the peer, CURVE with its key as the server's. */
static void *
connect_peer (SmNode      *node,
              Peer        *peer,
              GError     **error)
{
  void *socket = open_socket (node, ZMQ_DEALER, error);
  int one = 1, reconnect_max = (int) MAX (100, node->heartbeat_ns / 1000000);

  if (socket == NULL)
    return NULL;
  /* Queue nothing for a peer that is not connected: a query waiting in a
   * pipe to a dead peer would only be retried late. */
  zmq_setsockopt (socket, ZMQ_IMMEDIATE, &one, sizeof one);
  /* Reconnect within a heartbeat, so that a peer that is back is seen. */
  zmq_setsockopt (socket, ZMQ_RECONNECT_IVL_MAX, &reconnect_max, sizeof reconnect_max);
  if (zmq_setsockopt (socket, ZMQ_CURVE_SERVERKEY, peer->info.public_key, SM_IDENTITY_KEY_LENGTH + 1) < 0
      || zmq_setsockopt (socket, ZMQ_CURVE_PUBLICKEY, node->identity.public_key, SM_IDENTITY_KEY_LENGTH + 1) < 0
      || zmq_setsockopt (socket, ZMQ_CURVE_SECRETKEY, node->identity.secret_key, SM_IDENTITY_KEY_LENGTH + 1) < 0
      || zmq_connect (socket, peer->info.endpoint) < 0)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT, "Cannot connect to %s at %s: %s",
                   peer->info.name, peer->info.endpoint, zmq_strerror (zmq_errno ()));
      zmq_close (socket);
      return NULL;
    }
  return socket;
}

static Peer *
peer_new (SmNode      *node,
          const char  *name,
          const char  *endpoint,
          const char  *public_key,
          GError     **error)
{
  Peer *peer = g_new0 (Peer, 1);

  g_strlcpy (peer->info.name, name, sizeof peer->info.name);
  g_strlcpy (peer->info.endpoint, endpoint, sizeof peer->info.endpoint);
  g_strlcpy (peer->info.public_key, public_key, sizeof peer->info.public_key);
  zmq_z85_decode (peer->raw_key, public_key);
  peer->info.state = SM_PEER_CONNECTING;
  peer->last_heard_ns = peer->connected_ns = now_ns ();

  peer->socket = connect_peer (node, peer, error);
  if (peer->socket == NULL)
    {
      g_free (peer);
      return NULL;
    }
  peer->rtt = sm_histogram_new ();
  peer->rtt_recorder = sm_histogram_add_recorder (peer->rtt);
  return peer;
}

/* A peer gone for a while gets a new socket: libzmq does not try again
 * after a handshake the peer refused (it did not trust us yet, say). */
static void
reconnect_peer (SmNode *node,
                Peer   *peer,
                gint64  now)
{
  g_autoptr(GError) error = NULL;
  void *socket = connect_peer (node, peer, &error);

  if (socket == NULL)
    {
      g_warning ("%s", error->message);
      return;
    }
  zmq_close (peer->socket);
  peer->socket = socket;
  peer->connected_ns = now;
  node->sockets_changed = TRUE;
}

/* Closes a socket giving its last messages (BYE) a moment to leave. */
static void
close_socket (void *socket)
{
  int linger = 100;

  zmq_setsockopt (socket, ZMQ_LINGER, &linger, sizeof linger);
  zmq_close (socket);
}

static void
peer_free (Peer *peer)
{
  close_socket (peer->socket);
  sm_histogram_free (peer->rtt);
  g_free (peer);
}

static gboolean
has_peer_key (SmNode     *node,
              const char *public_key)
{
  for (guint i = 0; i < node->peers->len; i++)
    if (g_str_equal (((Peer *) g_ptr_array_index (node->peers, i))->info.public_key, public_key))
      return TRUE;
  return FALSE;
}

/* An announcement: a node we trust and do not know yet becomes a peer;
 * anyone else is ignored (discovery grants no trust). */
static void
beacon_readable (SmNode *node)
{
  g_autofree char *endpoint = NULL;
  g_autoptr(GError) error = NULL;
  char key[SM_IDENTITY_KEY_LENGTH + 1];
  const char *name;
  Peer *peer;

  if (!sm_beacon_receive (node->beacon, &endpoint, key)
      || g_str_equal (key, node->identity.public_key)
      || has_peer_key (node, key)
      || (name = sm_trust_lookup (node->trust, key)) == NULL
      || node->peers->len >= SM_NODE_PEERS_MAX)
    return;

  peer = peer_new (node, name, endpoint, key, &error);
  if (peer == NULL)
    {
      emit (node, SM_NODE_EVENT_REJECTED, name, "Discovered at %s, but: %s", endpoint, error->message);
      return;
    }
  g_mutex_lock (&node->lock);
  g_ptr_array_add (node->peers, peer);
  node->stats.discovered++;
  g_mutex_unlock (&node->lock);
  send_to_peer (node, peer, SM_WIRE_HELLO, 0);
  emit (node, SM_NODE_EVENT_DISCOVERED, name, "Found %s at %s", name, endpoint);
}

static void
send_metrics (SmNode *node,
              gint64  now)
{
  SmWireMessage message = { .type = SM_WIRE_METRICS, .sent_ns = (guint64) now };
  SmWireMetrics *m = &message.body.metrics;
  SmEngineTotals totals;
  SmPoolStats pool;
  GHashTableIter iter;
  GBytes *key;
  Client *client;

  sm_engine_get_totals (node->engine, &totals);
  sm_pool_get_stats (sm_engine_get_pool (node->engine), &pool);
  m->uptime_ms = (guint64) (now - node->started_ns) / 1000000;
  m->completed = totals.completed;
  m->failed = totals.failed;
  /* The rate over the time since the last summary. */
  m->ops_per_s = node->metrics_sent_ns > 0 && now > node->metrics_sent_ns
                 ? (double) (totals.completed - node->metrics_completed) * 1e9 / (double) (now - node->metrics_sent_ns)
                 : 0.0;
  node->metrics_sent_ns = now;
  node->metrics_completed = totals.completed;
  m->p50_ns = totals.p50_ns;
  m->p99_ns = totals.p99_ns;
  m->p999_ns = totals.p999_ns;
  m->pool_in_use = pool.in_use;
  m->pool_limit = pool.limit;
  m->fragmentation = CLAMP (pool.fragmentation, 0.0, 1.0);
  m->queue_depth = sm_engine_get_queue_depth (node->engine);
  m->peers = (guint32) g_atomic_int_get (&node->ready_peers);
  g_mutex_lock (&node->lock);
  m->replies_dropped = node->stats.replies_dropped;
  g_mutex_unlock (&node->lock);

  g_hash_table_iter_init (&iter, node->clients);
  while (g_hash_table_iter_next (&iter, (gpointer *) &key, (gpointer *) &client))
    if (client->said_hello)
      {
        gsize size;
        const guint8 *id = g_bytes_get_data (key, &size);

        /* Not a reply: one lost at the high-water mark is not counted
         * (the next second brings another). */
        send_message (node->router, id, size, &message, NULL);
      }
}

static gboolean
trust_file_changed (SmNode *node)
{
  struct stat st;
  gboolean exists = stat (node->trust_path, &st) == 0;

  if (exists == node->trust_exists
      && (!exists
          || (st.st_ino == node->trust_stat.st_ino && st.st_size == node->trust_stat.st_size
              && st.st_mtim.tv_sec == node->trust_stat.st_mtim.tv_sec
              && st.st_mtim.tv_nsec == node->trust_stat.st_mtim.tv_nsec
              && st.st_ctim.tv_sec == node->trust_stat.st_ctim.tv_sec
              && st.st_ctim.tv_nsec == node->trust_stat.st_ctim.tv_nsec)))
    return FALSE;
  node->trust_exists = exists;
  if (exists)
    node->trust_stat = st;
  return TRUE;
}

/* The trusted-peers file changed: read it again, and stop serving the
 * clients whose keys it no longer lists.  A file that cannot be read
 * keeps the list we have (and says so): an editor's half-written save
 * must not open the node, nor close it. */
static void
reload_trust (SmNode *node)
{
  g_autoptr(GError) error = NULL;
  SmTrust *trust;
  SmTrust *old;
  GHashTableIter iter;
  Client *client;
  guint dropped = 0;

  if (node->trust_path == NULL || !trust_file_changed (node))
    return;
  trust = sm_trust_load (node->trust_path, &error);
  if (trust == NULL)
    {
      emit (node, SM_NODE_EVENT_REJECTED, NULL, "Kept the trust list as it was: %s", error->message);
      return;
    }
  g_mutex_lock (&node->lock);
  old = node->owned_trust;
  node->trust = node->owned_trust = trust;
  node->stats.trust_reloads++;
  g_mutex_unlock (&node->lock);
  sm_trust_free (old);

  g_hash_table_iter_init (&iter, node->clients);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &client))
    if (!key_is_trusted (node, client->key))
      {
        g_hash_table_iter_remove (&iter);
        dropped++;
      }
  emit (node, SM_NODE_EVENT_REJECTED, NULL, "Read %s again: %u keys trusted, %u connected clients no longer served",
        node->trust_path, sm_trust_get_count (trust), dropped);
}

static void
heartbeat (SmNode *node,
           gint64  now)
{
  gint64 silence = node->heartbeat_ns * SM_NODE_MISSED_HEARTBEATS;
  gint64 timeout = node->heartbeat_ns * REQUEST_TIMEOUT_HEARTBEATS;
  GHashTableIter iter;
  Pending *pending;
  Client *client;
  g_autoptr(GPtrArray) late = g_ptr_array_new ();
  guint64 handshakes, untrusted;

  reload_trust (node);

  /* The gate's refusals, one line for all since the last heartbeat. */
  g_mutex_lock (&node->lock);
  handshakes = node->stats.rejected_handshakes;
  untrusted = node->stats.untrusted_keys;
  g_mutex_unlock (&node->lock);
  if (handshakes > node->handshakes_reported)
    emit (node, SM_NODE_EVENT_REJECTED, NULL, "Refused %" G_GUINT64_FORMAT " connections (%" G_GUINT64_FORMAT
          " with keys not trusted, the others without CURVE)", handshakes - node->handshakes_reported,
          untrusted - node->untrusted_reported);
  node->handshakes_reported = handshakes;
  node->untrusted_reported = untrusted;
  for (guint i = 0; i < N_EVENTS; i++)
    fold_flush (node, i, now);

  for (guint i = 0; i < node->peers->len; i++)
    {
      Peer *peer = g_ptr_array_index (node->peers, i);

      if (now - peer->last_heard_ns > silence && peer->info.state != SM_PEER_GONE)
        mark_gone (node, peer, peer->info.state == SM_PEER_CONNECTING && !peer->info.has_hello
                               ? "cannot be reached" : "missed three heartbeats");
      if (peer->info.state == SM_PEER_GONE && now - peer->connected_ns > silence)
        reconnect_peer (node, peer, now);
      if (!peer->info.has_hello)
        send_to_peer (node, peer, SM_WIRE_HELLO, 0);
      send_ping (node, peer);
      g_mutex_lock (&node->lock);
      {
        g_autoptr(SmHistogramSnapshot) snapshot = sm_histogram_snapshot (peer->rtt);

        peer->info.rtt_count = sm_histogram_snapshot_get_count (snapshot);
        peer->info.rtt_p50_ns = sm_histogram_snapshot_get_percentile (snapshot, 50);
        peer->info.rtt_p99_ns = sm_histogram_snapshot_get_percentile (snapshot, 99);
      }
      g_mutex_unlock (&node->lock);
    }

  /* A query a live peer sits on too long runs here. */
  g_hash_table_iter_init (&iter, node->pending);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &pending))
    if (now - pending->sent_ns > timeout)
      g_ptr_array_add (late, pending);
  for (guint i = 0; i < late->len; i++)
    retry_locally (node, g_ptr_array_index (late, i));

  g_hash_table_iter_init (&iter, node->clients);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &client))
    if (now - client->last_heard_ns > node->heartbeat_ns * CLIENT_EXPIRY_HEARTBEATS)
      g_hash_table_iter_remove (&iter);
  g_mutex_lock (&node->lock);
  node->stats.clients = g_hash_table_size (node->clients);
  g_mutex_unlock (&node->lock);

  if (now - node->metrics_sent_ns >= 1000000000)
    send_metrics (node, now);
}

static void
finish_probe (SmNode   *node,
              GError   *error)
{
  Probe *probe = node->probe;

  node->probe = NULL;
  g_mutex_lock (&node->lock);
  probe->error = error;
  probe->finished = TRUE;
  g_cond_broadcast (&node->probe_done);
  g_mutex_unlock (&node->lock);
}

static void
run_command (SmNode  *node,
             Command *command)
{
  switch (command->kind)
    {
    case COMMAND_OFFLOAD:
      send_offload (node, command->job);
      break;
    case COMMAND_SERVED:
      send_served (node, command->served);
      break;
    case COMMAND_ADD_PEER:
      g_mutex_lock (&node->lock);
      g_ptr_array_add (node->peers, command->peer);
      g_cond_broadcast (&node->peer_added);
      g_mutex_unlock (&node->lock);
      send_to_peer (node, command->peer, SM_WIRE_HELLO, 0);
      break;
    case COMMAND_PROBE:
      {
        Peer *peer = g_ptr_array_index (node->peers, command->probe->index);

        node->probe = command->probe;
        node->probe->sent_ns = now_ns ();
        send_to_peer (node, peer, SM_WIRE_PING, PROBE_BIT);
      }
      break;
    case COMMAND_STOP:
      node->stopping = TRUE;
      break;
    default:
      g_assert_not_reached ();
    }
  g_free (command);
}

static void
say_bye_to_clients (SmNode *node)
{
  SmWireMessage bye = { .type = SM_WIRE_BYE, .sent_ns = (guint64) now_ns () };
  GHashTableIter iter;
  GBytes *key;
  gsize size;

  g_hash_table_iter_init (&iter, node->clients);
  while (g_hash_table_iter_next (&iter, (gpointer *) &key, NULL))
    {
      const guint8 *id = g_bytes_get_data (key, &size);

      reply (node, id, size, &bye);
    }
}

static gboolean
has_message (void *socket)
{
  int events = 0;
  size_t size = sizeof events;

  return zmq_getsockopt (socket, ZMQ_EVENTS, &events, &size) == 0 && (events & ZMQ_POLLIN);
}

static gpointer
node_main (gpointer data)
{
  SmNode *node = data;
  g_autofree zmq_pollitem_t *items = NULL;
  guint n_items = 0;

  node->next_heartbeat_ns = now_ns ();
  for (;;)
    {
      gint64 now = now_ns ();
      long timeout_ms;
      Command *command;
      guint64 counter;

      while ((command = g_async_queue_try_pop (node->commands)) != NULL)
        run_command (node, command);

      if (node->stopping && node->stats.serving == 0)
        break;

      if (now >= node->next_heartbeat_ns)
        {
          heartbeat (node, now);
          node->next_heartbeat_ns = now + node->heartbeat_ns;
        }
      if (node->probe != NULL && now - node->probe->sent_ns > node->heartbeat_ns * SM_NODE_MISSED_HEARTBEATS)
        finish_probe (node, g_error_new (SM_ENGINE_ERROR, SM_ENGINE_ERROR_FAILED, "The peer stopped answering PINGs"));
      else if (node->probe != NULL && node->probe->done == node->probe->count)
        finish_probe (node, NULL);

      if (n_items != FIXED_ITEMS + node->peers->len || node->sockets_changed)
        {
          node->sockets_changed = FALSE;
          n_items = FIXED_ITEMS + node->peers->len;
          g_free (items);
          items = g_new0 (zmq_pollitem_t, n_items);
          items[0] = (zmq_pollitem_t) { .fd = node->wakeup, .events = ZMQ_POLLIN };
          items[1] = (zmq_pollitem_t) { .socket = node->router, .events = ZMQ_POLLIN };
          /* Without discovery, an eventfd that never fires holds the place. */
          items[2] = node->beacon != NULL
                     ? (zmq_pollitem_t) { .socket = sm_beacon_get_socket (node->beacon), .events = ZMQ_POLLIN }
                     : (zmq_pollitem_t) { .fd = node->wakeup, .events = 0 };
          for (guint i = 0; i < node->peers->len; i++)
            items[FIXED_ITEMS + i] = (zmq_pollitem_t) { .socket = ((Peer *) g_ptr_array_index (node->peers, i))->socket,
                                                        .events = ZMQ_POLLIN };
        }

      timeout_ms = (long) MAX (0, (node->next_heartbeat_ns - now + 999999) / 1000000);
      if (zmq_poll (items, (int) n_items, timeout_ms) < 0)
        {
          if (zmq_errno () == EINTR)
            continue;
          g_critical ("The mesh node cannot poll its sockets: %s", zmq_strerror (zmq_errno ()));
          break;
        }

      if (items[0].revents & ZMQ_POLLIN)
        {
          if (read (node->wakeup, &counter, sizeof counter) < 0 && errno != EAGAIN)
            g_warning ("Cannot read the mesh node's wakeup: %s", g_strerror (errno));
        }
      /* Drain each socket: one poll per message would cost a system call
       * per message under load. */
      for (int budget = 256; budget > 0 && (items[1].revents & ZMQ_POLLIN); budget--)
        {
          router_readable (node);
          items[1].revents = has_message (node->router) ? ZMQ_POLLIN : 0;
        }
      /* Peers before announcements: a discovered peer changes the list. */
      for (guint i = 0; i < n_items - FIXED_ITEMS; i++)
        for (int budget = 256; budget > 0 && (items[FIXED_ITEMS + i].revents & ZMQ_POLLIN); budget--)
          {
            Peer *peer = g_ptr_array_index (node->peers, i);

            peer_readable (node, peer);
            items[FIXED_ITEMS + i].revents = has_message (peer->socket) ? ZMQ_POLLIN : 0;
          }
      if (node->beacon != NULL && (items[2].revents & ZMQ_POLLIN))
        beacon_readable (node);
    }

  /* Leaving: the peers learn at once, both those we connected to and
   * those connected to us, and what they had of ours runs here. */
  for (guint i = 0; i < node->peers->len; i++)
    send_to_peer (node, g_ptr_array_index (node->peers, i), SM_WIRE_BYE, 0);
  say_bye_to_clients (node);
  retry_peer_queries (node, NULL);
  if (node->probe != NULL)
    finish_probe (node, g_error_new (SM_ENGINE_ERROR, SM_ENGINE_ERROR_FAILED, "The node stopped"));

  return NULL;
}

/* ---- the API ---- */

static gboolean
bind_router (SmNode      *node,
             const char  *endpoint,
             GError     **error)
{
  int one = 1;
  char bound[256];
  size_t size = sizeof bound;

  node->router = open_socket (node, ZMQ_ROUTER, error);
  if (node->router == NULL)
    return FALSE;
  zmq_setsockopt (node->router, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
  /* libzmq asks the ZAP handler about every CURVE client. */
  if (zmq_setsockopt (node->router, ZMQ_CURVE_SERVER, &one, sizeof one) < 0
      || zmq_setsockopt (node->router, ZMQ_CURVE_SECRETKEY, node->identity.secret_key, SM_IDENTITY_KEY_LENGTH + 1) < 0
      || zmq_setsockopt (node->router, ZMQ_ZAP_DOMAIN, "synmesh", 7) < 0)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_FAILED, "Cannot set up CURVE: %s (libzmq without libsodium?)",
                   zmq_strerror (zmq_errno ()));
      return FALSE;
    }
  if (zmq_bind (node->router, endpoint) < 0)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_IO, "Cannot listen on %s: %s",
                   endpoint, zmq_strerror (zmq_errno ()));
      return FALSE;
    }
  if (zmq_getsockopt (node->router, ZMQ_LAST_ENDPOINT, bound, &size) == 0)
    node->endpoint = g_strndup (bound, size);
  else
    node->endpoint = g_strdup (endpoint);
  return TRUE;
}

static gboolean
open_sockets (SmNode             *node,
              const SmNodeConfig *config,
              GError            **error)
{
  g_autofree char *default_bind = g_strdup_printf ("tcp://127.0.0.1:%d", SM_NODE_DEFAULT_PORT);

  node->context = zmq_ctx_new ();
  if (!zmq_has ("curve"))
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_NOT_SUPPORTED,
                   "This libzmq has no CURVE security (built without libsodium)");
      return FALSE;
    }

  /* The ZAP handler must listen before any peer can connect. */
  node->gate = sm_gate_new (node->context, lookup_key, connection_refused, node, error);
  if (node->gate == NULL)
    return FALSE;
  if (!bind_router (node, config->bind != NULL ? config->bind : default_bind, error)
      || !sm_gate_start (node->gate, node->router, error))
    return FALSE;
  if (config->discovery_port > 0)
    {
      node->beacon = sm_beacon_new (config->discovery_port, node->endpoint, node->identity.public_key, error);
      if (node->beacon == NULL)
        return FALSE;
    }

  node->wakeup = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (node->wakeup < 0)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_FAILED, "Cannot make an eventfd: %s", g_strerror (errno));
      return FALSE;
    }
  return TRUE;
}

static void
close_sockets (SmNode *node)
{
  if (node->peers != NULL)
    g_ptr_array_set_size (node->peers, 0);
  g_clear_pointer (&node->beacon, sm_beacon_free);
  g_clear_pointer (&node->gate, sm_gate_free);
  g_clear_pointer (&node->router, close_socket);
  g_clear_pointer (&node->context, zmq_ctx_term);
  if (node->wakeup >= 0)
    close (node->wakeup);
  node->wakeup = -1;
}

/* Frees what sm_node_new() made, once the thread is gone (or never ran). */
static void
node_destroy (SmNode *node)
{
  close_sockets (node);
  g_ptr_array_unref (node->peers);
  g_hash_table_unref (node->pending);
  g_hash_table_unref (node->clients);
  g_async_queue_unref (node->commands);
  g_mutex_clear (&node->lock);
  g_cond_clear (&node->probe_done);
  g_cond_clear (&node->peer_added);
  sm_trust_free (node->owned_trust);
  g_free (node->trust_path);
  g_free (node->endpoint);
  g_free (node);
}

SmNode *
sm_node_new (SmEngine            *engine,
             const SmNodeConfig  *config,
             GError             **error)
{
  SmNode *node;
  guint8 digest[32];
  gsize digest_size = sizeof digest;
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);

  g_return_val_if_fail (engine != NULL && config != NULL && config->trust != NULL, NULL);

  node = g_new0 (SmNode, 1);
  node->engine = engine;
  node->trust = config->trust;
  node->trust_path = g_strdup (config->trust_path);
  if (node->trust_path != NULL)
    trust_file_changed (node);   /* the state config->trust was read in */
  node->identity = config->identity;
  node->wakeup = -1;
  g_strlcpy (node->name, config->name != NULL ? config->name : g_get_host_name (), sizeof node->name);
  if (!g_utf8_validate (node->name, -1, NULL) || node->name[0] == '\0')
    g_strlcpy (node->name, "node", sizeof node->name);
  node->heartbeat_ns = (gint64) (config->heartbeat_ms > 0 ? config->heartbeat_ms : SM_NODE_DEFAULT_HEARTBEAT_MS) * 1000000;
  node->started_ns = now_ns ();
  /* The node id follows the key: the same node after a restart. */
  g_checksum_update (checksum, (const guchar *) node->identity.public_key, SM_IDENTITY_KEY_LENGTH);
  g_checksum_get_digest (checksum, digest, &digest_size);
  memcpy (node->node_id, digest, sizeof node->node_id);

  node->commands = g_async_queue_new ();
  node->peers = g_ptr_array_new_with_free_func ((GDestroyNotify) peer_free);
  node->pending = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, g_free);
  node->clients = g_hash_table_new_full (g_bytes_hash, g_bytes_equal, (GDestroyNotify) g_bytes_unref, g_free);
  g_mutex_init (&node->lock);
  g_cond_init (&node->probe_done);
  g_cond_init (&node->peer_added);

  if (!open_sockets (node, config, error))
    {
      node_destroy (node);
      return NULL;
    }

  node->thread = g_thread_new ("sm-node", node_main, node);
  sm_engine_set_offload (engine, offload_hook, node);
  return node;
}

void
sm_node_free (SmNode *node)
{
  Command *command;

  if (node == NULL)
    return;

  /* No new query comes our way after this returns. */
  sm_engine_set_offload (node->engine, NULL, NULL);
  command = g_new0 (Command, 1);
  command->kind = COMMAND_STOP;
  post (node, command);
  g_thread_join (node->thread);

  /* Commands that came after the thread left: none offloads (the hook is
   * gone), none serves (the thread waited for every query it ran). */
  while ((command = g_async_queue_try_pop (node->commands)) != NULL)
    {
      if (command->kind == COMMAND_ADD_PEER)
        peer_free (command->peer);
      g_free (command);
    }

  node_destroy (node);
}

void
sm_node_set_event_func (SmNode          *node,
                        SmNodeEventFunc  func,
                        gpointer         user_data)
{
  node->event_func = func;
  node->event_data = user_data;
}

gboolean
sm_node_add_peer (SmNode      *node,
                  const char  *name,
                  const char  *endpoint,
                  const char  *public_key,
                  GError     **error)
{
  Command *command;
  Peer *peer;
  guint count;

  if (!sm_identity_key_is_valid (public_key))
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT,
                   "“%s” is not a public key (40 Z85 characters, as `synmesh keygen --show` prints)", public_key);
      return FALSE;
    }
  g_mutex_lock (&node->lock);
  count = node->peers->len;
  g_mutex_unlock (&node->lock);
  if (count >= SM_NODE_PEERS_MAX)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_NO_MEMORY, "A node keeps at most %d peers",
                   SM_NODE_PEERS_MAX);
      return FALSE;
    }
  /* The socket is made here, not on the node's thread: libzmq sockets may
   * move between threads with a full memory barrier, which the command
   * queue's lock gives. */
  peer = peer_new (node, name, endpoint, public_key, error);
  if (peer == NULL)
    return FALSE;
  command = g_new0 (Command, 1);
  command->kind = COMMAND_ADD_PEER;
  command->peer = peer;
  post (node, command);

  /* Wait for the thread to take it (it never blocks for long), so that the
   * peer is in sm_node_dup_peers() when this returns. */
  g_mutex_lock (&node->lock);
  while (node->peers->len == count)
    g_cond_wait (&node->peer_added, &node->lock);
  g_mutex_unlock (&node->lock);
  return TRUE;
}

/* The key is the last 40 characters: Z85 has '=' and '@' in its alphabet,
 * so neither can be searched for in it. */
gboolean
sm_node_parse_peer (const char  *text,
                    char       **name,
                    char       **endpoint,
                    char       **public_key,
                    GError     **error)
{
  gsize length = strlen (text);
  const char *scheme, *at, *start = text;

  if (length <= SM_IDENTITY_KEY_LENGTH + 1 || text[length - SM_IDENTITY_KEY_LENGTH - 1] != '='
      || !sm_identity_key_is_valid (text + length - SM_IDENTITY_KEY_LENGTH))
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT,
                   "“%s” is not [NAME@]ENDPOINT=PUBLICKEY, e.g. lab@tcp://127.0.0.1:7871=<the 40-character key>", text);
      return FALSE;
    }
  scheme = strstr (text, "://");
  at = strchr (text, '@');
  *name = NULL;
  if (at != NULL && scheme != NULL && at < scheme)
    {
      *name = g_strndup (text, (gsize) (at - text));
      start = at + 1;
    }
  *endpoint = g_strndup (start, (gsize) (text + length - SM_IDENTITY_KEY_LENGTH - 1 - start));
  *public_key = g_strdup (text + length - SM_IDENTITY_KEY_LENGTH);
  return TRUE;
}

gboolean
sm_node_endpoint_is_public (const char *endpoint)
{
  const char *host, *end;
  g_autofree char *name = NULL;

  g_return_val_if_fail (endpoint != NULL, FALSE);

  if (!g_str_has_prefix (endpoint, "tcp://"))
    return FALSE;   /* ipc://, inproc:// stay on this machine */
  host = endpoint + strlen ("tcp://");
  /* tcp://[::1]:port, tcp://host:port, tcp://iface;host:port (the part
   * after ';' is the remote end of a connect, not ours). */
  if (host[0] == '[')
    {
      end = strchr (host, ']');
      name = end != NULL ? g_strndup (host + 1, (gsize) (end - host - 1)) : g_strdup (host);
    }
  else
    {
      end = strrchr (host, ':');
      name = end != NULL ? g_strndup (host, (gsize) (end - host)) : g_strdup (host);
    }
  return !(g_str_has_prefix (name, "127.") || g_str_equal (name, "::1") || g_str_equal (name, "localhost")
           || g_str_equal (name, "lo"));
}

const char *
sm_node_get_endpoint (SmNode *node)
{
  return node->endpoint;
}

const char *
sm_node_get_name (SmNode *node)
{
  return node->name;
}

GArray *
sm_node_dup_peers (SmNode *node)
{
  GArray *peers = g_array_new (FALSE, FALSE, sizeof (SmNodePeerInfo));

  g_mutex_lock (&node->lock);
  for (guint i = 0; i < node->peers->len; i++)
    g_array_append_val (peers, ((Peer *) g_ptr_array_index (node->peers, i))->info);
  g_mutex_unlock (&node->lock);
  return peers;
}

void
sm_node_get_stats (SmNode      *node,
                   SmNodeStats *stats)
{
  g_mutex_lock (&node->lock);
  *stats = node->stats;
  g_mutex_unlock (&node->lock);
}

gboolean
sm_node_probe (SmNode    *node,
               guint      index,
               guint      count,
               guint64   *rtts,
               GError   **error)
{
  Probe probe = { .index = index, .count = count, .rtts = rtts };
  Command *command;
  gboolean known;

  g_mutex_lock (&node->lock);
  known = index < node->peers->len;
  g_mutex_unlock (&node->lock);
  if (!known || count == 0)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT, "No peer %u to probe", index);
      return FALSE;
    }

  command = g_new0 (Command, 1);
  command->kind = COMMAND_PROBE;
  command->probe = &probe;
  post (node, command);

  g_mutex_lock (&node->lock);
  while (!probe.finished)
    g_cond_wait (&node->probe_done, &node->lock);
  g_mutex_unlock (&node->lock);

  if (probe.error != NULL)
    {
      g_propagate_error (error, probe.error);
      return FALSE;
    }
  return TRUE;
}
