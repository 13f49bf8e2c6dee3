/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#define G_LOG_DOMAIN "sm-node"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <zmq.h>

#include "sm-error.h"
#include "sm-node-private.h"

/* ---- the node's thread ---- */

void *
sm_node_open_socket (SmNode  *node,
                     int      type,
                     GError **error)
{
  void *socket = zmq_socket (node->context, type);
  int linger = 0;
  gint64 max_size = (gint64) SM_WIRE_TRANSPORT_MAX;

  if (socket == NULL)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_FAILED, _("Cannot make a ZeroMQ socket: %s"),
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
  void *socket = sm_node_open_socket (node, ZMQ_DEALER, error);
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
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT, _("Cannot connect to %s at %s: %s"),
                   peer->info.name, peer->info.endpoint, zmq_strerror (zmq_errno ()));
      zmq_close (socket);
      return NULL;
    }
  return socket;
}

Peer *
sm_node_peer_new (SmNode      *node,
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
void
sm_node_close_socket (void *socket)
{
  int linger = 100;

  zmq_setsockopt (socket, ZMQ_LINGER, &linger, sizeof linger);
  zmq_close (socket);
}

void
sm_node_peer_free (Peer *peer)
{
  sm_node_close_socket (peer->socket);
  sm_histogram_free (peer->rtt);
  g_free (peer);
}

gboolean
sm_node_has_peer_key (SmNode     *node,
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
      || sm_node_has_peer_key (node, key)
      || (name = sm_trust_lookup (node->trust, key)) == NULL
      || node->peers->len >= SM_NODE_PEERS_MAX)
    return;

  peer = sm_node_peer_new (node, name, endpoint, key, &error);
  if (peer == NULL)
    {
      sm_node_emit (node, SM_NODE_EVENT_REJECTED, name, "Discovered at %s, but: %s", endpoint, error->message);
      return;
    }
  g_mutex_lock (&node->lock);
  g_ptr_array_add (node->peers, peer);
  node->stats.discovered++;
  g_mutex_unlock (&node->lock);
  sm_node_send_to_peer (node, peer, SM_WIRE_HELLO, 0);
  sm_node_emit (node, SM_NODE_EVENT_DISCOVERED, name, "Found %s at %s", name, endpoint);
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
        sm_node_send_message (node->router, id, size, &message, NULL);
      }
}

gboolean
sm_node_trust_file_changed (SmNode *node)
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

  if (node->trust_path == NULL || !sm_node_trust_file_changed (node))
    return;
  trust = sm_trust_load (node->trust_path, &error);
  if (trust == NULL)
    {
      sm_node_emit (node, SM_NODE_EVENT_REJECTED, NULL, "Kept the trust list as it was: %s", error->message);
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
    if (!sm_node_key_is_trusted (node, client->key))
      {
        g_hash_table_iter_remove (&iter);
        dropped++;
      }
  sm_node_emit (node, SM_NODE_EVENT_REJECTED, NULL, "Read %s again: %u keys trusted, %u connected clients no longer served",
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
    sm_node_emit (node, SM_NODE_EVENT_REJECTED, NULL, "Refused %" G_GUINT64_FORMAT " connections (%" G_GUINT64_FORMAT
          " with keys not trusted, the others without CURVE)", handshakes - node->handshakes_reported,
          untrusted - node->untrusted_reported);
  node->handshakes_reported = handshakes;
  node->untrusted_reported = untrusted;
  for (guint i = 0; i < N_EVENTS; i++)
    sm_node_fold_flush (node, i, now);

  for (guint i = 0; i < node->peers->len; i++)
    {
      Peer *peer = g_ptr_array_index (node->peers, i);

      if (now - peer->last_heard_ns > silence && peer->info.state != SM_PEER_GONE)
        sm_node_mark_gone (node, peer, peer->info.state == SM_PEER_CONNECTING && !peer->info.has_hello
                               ? "cannot be reached" : "missed three heartbeats");
      if (peer->info.state == SM_PEER_GONE && now - peer->connected_ns > silence)
        reconnect_peer (node, peer, now);
      if (!peer->info.has_hello)
        sm_node_send_to_peer (node, peer, SM_WIRE_HELLO, 0);
      sm_node_send_ping (node, peer);
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
    sm_node_retry_locally (node, g_ptr_array_index (late, i));

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
      g_ptr_array_add (node->outbox, command->job);
      break;
    case COMMAND_SERVED:
      sm_node_send_served (node, command->served);
      break;
    case COMMAND_ADD_PEER:
      g_mutex_lock (&node->lock);
      g_ptr_array_add (node->peers, command->peer);
      g_cond_broadcast (&node->peer_added);
      g_mutex_unlock (&node->lock);
      sm_node_send_to_peer (node, command->peer, SM_WIRE_HELLO, 0);
      break;
    case COMMAND_PROBE:
      {
        Peer *peer = g_ptr_array_index (node->peers, command->probe->index);

        node->probe = command->probe;
        node->probe->sent_ns = now_ns ();
        sm_node_send_to_peer (node, peer, SM_WIRE_PING, PROBE_BIT);
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

      sm_node_reply (node, id, size, &bye);
    }
}

static gboolean
has_message (void *socket)
{
  int events = 0;
  size_t size = sizeof events;

  return zmq_getsockopt (socket, ZMQ_EVENTS, &events, &size) == 0 && (events & ZMQ_POLLIN);
}

gpointer
sm_node_thread_main (gpointer data)
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
      sm_node_send_offloads (node);

      if (node->stopping && node->stats.serving == 0)
        break;

      if (now >= node->next_heartbeat_ns)
        {
          heartbeat (node, now);
          node->next_heartbeat_ns = now + node->heartbeat_ns;
        }
      if (node->probe != NULL && now - node->probe->sent_ns > node->heartbeat_ns * SM_NODE_MISSED_HEARTBEATS)
        finish_probe (node, g_error_new (SM_ENGINE_ERROR, SM_ENGINE_ERROR_FAILED, _("The peer stopped answering PINGs")));
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
          sm_node_router_readable (node);
          items[1].revents = has_message (node->router) ? ZMQ_POLLIN : 0;
        }
      /* Peers before announcements: a discovered peer changes the list. */
      for (guint i = 0; i < n_items - FIXED_ITEMS; i++)
        for (int budget = 256; budget > 0 && (items[FIXED_ITEMS + i].revents & ZMQ_POLLIN); budget--)
          {
            Peer *peer = g_ptr_array_index (node->peers, i);

            sm_node_peer_readable (node, peer);
            items[FIXED_ITEMS + i].revents = has_message (peer->socket) ? ZMQ_POLLIN : 0;
          }
      if (node->beacon != NULL && (items[2].revents & ZMQ_POLLIN))
        beacon_readable (node);
    }

  /* Leaving: the peers learn at once, both those we connected to and
   * those connected to us, and what they had of ours runs here. */
  for (guint i = 0; i < node->peers->len; i++)
    {
      sm_node_send_to_peer (node, g_ptr_array_index (node->peers, i), SM_WIRE_BYE, 0);
      sm_node_clear_figures (node, g_ptr_array_index (node->peers, i));
    }
  say_bye_to_clients (node);
  sm_node_retry_peer_queries (node, NULL);
  if (node->probe != NULL)
    finish_probe (node, g_error_new (SM_ENGINE_ERROR, SM_ENGINE_ERROR_FAILED, _("The node stopped")));

  return NULL;
}

