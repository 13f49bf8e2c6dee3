/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#define G_LOG_DOMAIN "sm-node"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <zmq.h>

#include "sm-error.h"
#include "sm-node-private.h"

/* ---- the API ---- */

static gboolean
bind_router (SmNode      *node,
             const char  *endpoint,
             GError     **error)
{
  int one = 1;
  char bound[256];
  size_t size = sizeof bound;

  node->router = sm_node_open_socket (node, ZMQ_ROUTER, error);
  if (node->router == NULL)
    return FALSE;
  zmq_setsockopt (node->router, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
  /* libzmq asks the ZAP handler about every CURVE client. */
  if (zmq_setsockopt (node->router, ZMQ_CURVE_SERVER, &one, sizeof one) < 0
      || zmq_setsockopt (node->router, ZMQ_CURVE_SECRETKEY, node->identity.secret_key, SM_IDENTITY_KEY_LENGTH + 1) < 0
      || zmq_setsockopt (node->router, ZMQ_ZAP_DOMAIN, "synmesh", 7) < 0)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_FAILED, _("Cannot set up CURVE: %s (libzmq without libsodium?)"),
                   zmq_strerror (zmq_errno ()));
      return FALSE;
    }
  if (zmq_bind (node->router, endpoint) < 0)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_IO, _("Cannot listen on %s: %s"),
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
                   _("This libzmq has no CURVE security (built without libsodium)"));
      return FALSE;
    }

  /* The ZAP handler must listen before any peer can connect. */
  node->gate = sm_gate_new (node->context, sm_node_lookup_key, sm_node_connection_refused, node, error);
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
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_FAILED, _("Cannot make an eventfd: %s"), g_strerror (errno));
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
  g_clear_pointer (&node->router, sm_node_close_socket);
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
  g_ptr_array_unref (node->outbox);
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
    sm_node_trust_file_changed (node);   /* the state config->trust was read in */
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
  node->peers = g_ptr_array_new_with_free_func ((GDestroyNotify) sm_node_peer_free);
  node->pending = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, g_free);
  node->outbox = g_ptr_array_new ();
  node->clients = g_hash_table_new_full (g_bytes_hash, g_bytes_equal, (GDestroyNotify) g_bytes_unref, g_free);
  g_mutex_init (&node->lock);
  g_cond_init (&node->probe_done);
  g_cond_init (&node->peer_added);

  if (!open_sockets (node, config, error))
    {
      node_destroy (node);
      return NULL;
    }

  node->thread = g_thread_new ("sm-node", sm_node_thread_main, node);
  sm_engine_set_offload (engine, sm_node_offload_hook, node);
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
  sm_node_post (node, command);
  g_thread_join (node->thread);

  /* Commands that came after the thread left: none offloads (the hook is
   * gone), none serves (the thread waited for every query it ran). */
  while ((command = g_async_queue_try_pop (node->commands)) != NULL)
    {
      if (command->kind == COMMAND_ADD_PEER)
        sm_node_peer_free (command->peer);
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
                   _("“%s” is not a public key (40 Z85 characters, as `synmesh keygen --show` prints)"), public_key);
      return FALSE;
    }
  g_mutex_lock (&node->lock);
  count = node->peers->len;
  g_mutex_unlock (&node->lock);
  if (count >= SM_NODE_PEERS_MAX)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_NO_MEMORY, _("A node keeps at most %d peers"),
                   SM_NODE_PEERS_MAX);
      return FALSE;
    }
  /* The socket is made here, not on the node's thread: libzmq sockets may
   * move between threads with a full memory barrier, which the command
   * queue's lock gives. */
  peer = sm_node_peer_new (node, name, endpoint, public_key, error);
  if (peer == NULL)
    return FALSE;
  command = g_new0 (Command, 1);
  command->kind = COMMAND_ADD_PEER;
  command->peer = peer;
  sm_node_post (node, command);

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
                   _("“%s” is not [NAME@]ENDPOINT=PUBLICKEY, e.g. lab@tcp://127.0.0.1:7871=<the 40-character key>"), text);
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
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT, _("No peer %u to probe"), index);
      return FALSE;
    }

  command = g_new0 (Command, 1);
  command->kind = COMMAND_PROBE;
  command->probe = &probe;
  sm_node_post (node, command);

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

