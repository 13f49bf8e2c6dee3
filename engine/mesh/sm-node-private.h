/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* The mesh node's insides, shared by its files: sm-node.c (the API: make,
 * configure, free), sm-node-events.c (what the node says, folded and
 * escaped, and what other threads post to it), sm-node-send.c (framing
 * and sending), sm-node-peers.c (our DEALERs: offloading the engine's
 * queries and the peers' answers), sm-node-serve.c (our ROUTER: peers'
 * requests) and sm-node-loop.c (the node's thread, its sockets and
 * heartbeat).  Only the node's files include it. */

#include <sys/stat.h>

#include "sm-gate.h"
#include "sm-beacon.h"
#include "sm-histogram.h"
#include "sm-node.h"

G_BEGIN_DECLS

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
/* Throughput, p50, p99, queue depth, pool in use. */
#define N_PEER_FIGURES             5

/* ---- what other threads post to the node's thread ---- */

typedef enum {
  COMMAND_OFFLOAD,     /* an engine query to send to a peer */
  COMMAND_SERVED,      /* a peer's query the engine answered */
  COMMAND_ADD_PEER,
  COMMAND_PROBE,
  COMMAND_STOP,
} CommandKind;

typedef struct _Peer Peer;

/* A peer's request, from its arrival to the reply: a batch of rows, each
 * one query that the engine answers on its own. */
typedef struct _Served Served;

typedef struct
{
  Served   *served;
  SmResult *result;
  GError   *error;
} ServedRow;

struct _Served
{
  SmNode   *node;
  guint8    routing_id[256];
  gsize     routing_id_size;
  guint64   request_id;
  guint64   echo_ns;
  gint64    received_ns;
  guint     n_rows;
  gint      rows_left;      /* atomic: the last row's answer posts it */
  ServedRow rows[];
};

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

/* A request out at a peer: the engine's queries it carries, one a row. */
typedef struct
{
  guint64      request_id;
  Peer        *peer;
  gint64       sent_ns;
  guint        n_jobs;
  SmEngineJob *jobs[];
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
  /* Its METRICS as metrics of our monitor (sm-node-figures.c). */
  gboolean             has_figures;
  guint                figures[N_PEER_FIGURES];
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
  /* The engine's queries posted since the thread last sent: what a
   * wake-up finds there goes out as few requests as it can. */
  GPtrArray       *outbox;
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
  return g_get_monotonic_time () * 1000;
}

/* sm-node-events.c */
void
sm_node_fold_flush (SmNode      *node,
            SmNodeEvent  event,
            gint64       now);
void
sm_node_emit (SmNode      *node,
      SmNodeEvent  event,
      const char  *peer,
      const char  *format,
      ...) G_GNUC_PRINTF (4, 5);
void
sm_node_post (SmNode  *node,
      Command *command);

/* sm-node-send.c */
gboolean
sm_node_send_message (void                *socket,
              const guint8        *routing_id,
              gsize                routing_id_size,
              const SmWireMessage *message,
              Peer                *peer);
void
sm_node_reply (SmNode              *node,
       const guint8        *routing_id,
       gsize                routing_id_size,
       const SmWireMessage *message);
void
sm_node_fill_hello (SmNode        *node,
            SmWireMessage *message);
void
sm_node_send_to_peer (SmNode   *node,
              Peer     *peer,
              SmWireType type,
              guint64   request_id);
void
sm_node_reply_error (SmNode       *node,
             const guint8 *routing_id,
             gsize         routing_id_size,
             guint64       request_id,
             guint64       echo_ns,
             SmWireStatus  status,
             const char   *text);

/* sm-node-peers.c */
gboolean
sm_node_offload_hook (SmEngineJob *job,
              gpointer     user_data);
void
sm_node_send_offloads (SmNode *node);
void
sm_node_take_figures (SmNode              *node,
                      Peer                *peer,
                      const SmWireMetrics *metrics);
void
sm_node_clear_figures (SmNode *node,
                       Peer   *peer);
void
sm_node_retry_locally (SmNode  *node,
               Pending *pending);
void
sm_node_retry_peer_queries (SmNode *node,
                    Peer   *peer);
void
sm_node_mark_gone (SmNode     *node,
           Peer       *peer,
           const char *why);
void
sm_node_send_ping (SmNode *node,
           Peer   *peer);
guint
sm_node_receive_frames (void      *socket,
                zmq_msg_t *frames,
                guint      max);
void
sm_node_close_frames (zmq_msg_t *frames,
              guint      n,
              guint      max);
void
sm_node_peer_readable (SmNode *node,
               Peer   *peer);

/* sm-node-serve.c */
void
sm_node_send_served (SmNode *node,
             Served *served);
gboolean
sm_node_key_is_trusted (SmNode     *node,
                const char *key);
void
sm_node_router_readable (SmNode *node);
void
sm_node_connection_refused (gboolean untrusted_key,
                    gpointer user_data);
const char *
sm_node_lookup_key (const guint8 *public_key,
            gpointer      user_data);

/* sm-node-loop.c */
void *
sm_node_open_socket (SmNode  *node,
             int      type,
             GError **error);
Peer *
sm_node_peer_new (SmNode      *node,
          const char  *name,
          const char  *endpoint,
          const char  *public_key,
          GError     **error);
void
sm_node_close_socket (void *socket);
void
sm_node_peer_free (Peer *peer);
gboolean
sm_node_has_peer_key (SmNode     *node,
              const char *public_key);
gboolean
sm_node_trust_file_changed (SmNode *node);
gpointer
sm_node_thread_main (gpointer data);

G_END_DECLS
