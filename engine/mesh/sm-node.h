/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "sm-engine.h"
#include "sm-identity.h"
#include "sm-trust.h"
#include "sm-wire.h"

G_BEGIN_DECLS

/* A mesh node: one ZeroMQ ROUTER that peers connect to, one DEALER per
 * known peer, CURVE on both, a ZAP handler that admits only trusted keys.
 * All socket work runs on the node's own thread; the functions below only
 * post to it or read figures it keeps, so they never wait on the network.
 *
 * The node serves INFER requests with its engine, and takes the queries
 * the engine offloads (sm_engine_set_offload_share()) to peers whose model
 * hash matches.  A peer silent for three heartbeats is gone:
 * its queries in flight run locally instead, none is lost; it is used
 * again once it answers a HELLO. */

#define SM_NODE_DEFAULT_PORT          7870
#define SM_NODE_DEFAULT_HEARTBEAT_MS  1000
#define SM_NODE_MISSED_HEARTBEATS     3
/* Requests a node runs for peers at once; more are answered OVERLOADED. */
#define SM_NODE_SERVE_MAX             1024
/* Queries this node has out at one peer at once; more run locally. */
#define SM_NODE_PEER_IN_FLIGHT_MAX    256
#define SM_NODE_PEERS_MAX             64

typedef struct _SmNode SmNode;

typedef struct
{
  const char *name;            /* shown to peers; NULL: the host name */
  const char *bind;            /* NULL: tcp://127.0.0.1:SM_NODE_DEFAULT_PORT */
  SmIdentity  identity;
  SmTrust    *trust;           /* borrowed; the node's thread reads it, so
                                * nobody may change it while the node runs */
  const char *trust_path;      /* the file @trust came from, or NULL: the node
                                * watches it and, when it changes, reads it
                                * again and stops serving clients whose key
                                * it no longer lists */
  guint       heartbeat_ms;    /* 0: SM_NODE_DEFAULT_HEARTBEAT_MS */
  guint       discovery_port;  /* UDP port for LAN discovery (sm-beacon.h); 0: off */
} SmNodeConfig;

typedef enum {
  SM_PEER_CONNECTING,          /* no HELLO from it yet */
  SM_PEER_READY,               /* same model: work goes there */
  SM_PEER_MISMATCH,            /* another model or protocol: no work */
  SM_PEER_GONE,                /* silent for SM_NODE_MISSED_HEARTBEATS */
} SmPeerState;

typedef struct
{
  char         name[SM_WIRE_NAME_MAX + 1];
  char         endpoint[256];
  char         public_key[SM_IDENTITY_KEY_LENGTH + 1];
  SmPeerState  state;
  gboolean     has_hello;
  SmWireHello  hello;          /* what it said about itself */
  gboolean     has_metrics;
  SmWireMetrics metrics;       /* its last once-a-second summary */
  guint64      rtt_count;
  guint64      rtt_last_ns;
  guint64      rtt_p50_ns;
  guint64      rtt_p99_ns;
  guint64      messages_in, messages_out;
  guint64      bytes_in, bytes_out;
  guint64      offloaded;      /* queries sent to it */
  guint64      answered;       /* of those, answered by it */
  guint64      retried;        /* of those, run locally instead */
  guint        in_flight;
} SmNodePeerInfo;

typedef struct
{
  guint64 rejected_handshakes;  /* connections refused: no CURVE, bad keys */
  guint64 untrusted_keys;       /* of those, CURVE keys not in the trust list */
  guint64 refused_frames;       /* frames answered with an ERROR */
  guint64 refused_by_status[SM_WIRE_STATUS_LAST + 1];
  guint64 served;               /* peers' queries answered */
  guint64 overloaded;           /* peers' queries refused: too many at once */
  guint   serving;              /* peers' queries running now */
  guint   serving_max;          /* the most that ever ran at once */
  guint64 offloaded;            /* this engine's queries sent to peers */
  guint64 offload_requests;     /* the INFER requests that carried them */
  guint64 offload_answered;     /* of those, answered by a peer */
  guint64 offload_retried;      /* of those, run locally after all */
  guint64 late_replies;         /* peers' answers to queries that had already
                                 * run locally: ignored, so none is answered twice */
  guint64 replies_dropped;      /* replies to clients gone or not reading */
  guint64 discovered;           /* trusted peers found by LAN discovery */
  guint   clients;              /* peers connected to this node now */
  guint64 unsolicited_pongs;    /* PONGs naming no PING we had out: ignored */
  guint64 untrusted_frames;     /* frames from keys trusted no more: ignored */
  guint64 trust_reloads;        /* times the trusted-peers file was read again */
  guint64 events_folded;        /* events not shown one by one, only counted */
} SmNodeStats;

typedef enum {
  SM_NODE_EVENT_PEER_READY,
  SM_NODE_EVENT_PEER_MISMATCH,
  SM_NODE_EVENT_PEER_GONE,
  SM_NODE_EVENT_REJECTED,       /* a connection or a frame was refused */
  SM_NODE_EVENT_DISCOVERED,     /* LAN discovery found a trusted node */
} SmNodeEvent;

/* Called on the node's thread; return quickly.  @peer and @message are
 * fit to print: anything a peer wrote in them has its control characters
 * escaped.  Events of one kind beyond a few per SM_NODE_EVENT_WINDOW_S
 * are folded into one line that says how many there were. */
#define SM_NODE_EVENT_BURST     8
#define SM_NODE_EVENT_WINDOW_S  5
typedef void (*SmNodeEventFunc) (SmNodeEvent  event,
                                 const char  *peer,
                                 const char  *message,
                                 gpointer     user_data);

/* Binds and starts the node's thread.  The engine must outlive the node. */
SmNode     *sm_node_new               (SmEngine            *engine,
                                       const SmNodeConfig  *config,
                                       GError             **error);
/* Says BYE to the peers, runs the queries they still had locally, and
 * answers the peers' queries already running. */
void        sm_node_free              (SmNode              *node);

/* Before any peer is added. */
void        sm_node_set_event_func    (SmNode              *node,
                                       SmNodeEventFunc      func,
                                       gpointer             user_data);

/* Connects to a peer at @endpoint whose public key is @public_key (Z85).
 * The key is trusted for incoming connections too while the node runs. */
gboolean    sm_node_add_peer          (SmNode              *node,
                                       const char          *name,
                                       const char          *endpoint,
                                       const char          *public_key,
                                       GError             **error);

/* Parses "[NAME@]ENDPOINT=KEY", as `synmesh node --peer` and the app's
 * settings write a peer; @name is NULL when the text names none. */
gboolean    sm_node_parse_peer        (const char          *text,
                                       char               **name,
                                       char               **endpoint,
                                       char               **public_key,
                                       GError             **error);

/* The endpoint bound, with the port the system chose for ":*". */
const char *sm_node_get_endpoint      (SmNode              *node);
const char *sm_node_get_name          (SmNode              *node);

/* A copy of each peer's figures, in the order they were added. */
GArray     *sm_node_dup_peers         (SmNode              *node);
void        sm_node_get_stats         (SmNode              *node,
                                       SmNodeStats         *stats);

/* Sends @count PINGs to peer @index one after another, each when the last
 * PONG came back, and stores the round trips (ns) in @rtts.  For the
 * benchmark: the same path the heartbeat takes. */
gboolean    sm_node_probe             (SmNode              *node,
                                       guint                index,
                                       guint                count,
                                       guint64             *rtts,
                                       GError             **error);

const char *sm_peer_state_get_name    (SmPeerState          state);

/* Whether a node bound to @endpoint can be reached from other machines
 * (any address but loopback, ipc:// and inproc://). */
gboolean    sm_node_endpoint_is_public (const char         *endpoint);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SmNode, sm_node_free)

G_END_DECLS
