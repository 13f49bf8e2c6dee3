/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <zmq.h>

#include "sm-error.h"
#include "sm-gate.h"

struct _SmGate
{
  void              *context;
  void              *zap;        /* REP at SM_ZAP_ENDPOINT */
  void              *monitor;    /* PAIR: the router's handshake events */
  int                stop;       /* eventfd */
  GThread           *thread;
  SmZapLookupFunc    lookup;
  SmGateRefusedFunc  refused;
  gpointer           user_data;
};

/* The gate's sockets never hold anything worth waiting for at close. */
static void *
open_socket (void *context,
             int   type)
{
  void *socket = zmq_socket (context, type);
  int linger = 0;

  if (socket != NULL)
    zmq_setsockopt (socket, ZMQ_LINGER, &linger, sizeof linger);
  return socket;
}

static void
read_monitor (SmGate *gate)
{
  zmq_msg_t event, address;
  int more = 0;
  size_t more_size = sizeof more;

  zmq_msg_init (&event);
  if (zmq_msg_recv (&event, gate->monitor, ZMQ_DONTWAIT) < 0)
    {
      zmq_msg_close (&event);
      return;
    }
  /* The event frame: u16 event, u32 value; then the endpoint's frame. */
  zmq_getsockopt (gate->monitor, ZMQ_RCVMORE, &more, &more_size);
  if (more)
    {
      zmq_msg_init (&address);
      zmq_msg_recv (&address, gate->monitor, 0);
      zmq_msg_close (&address);
    }
  if (zmq_msg_size (&event) >= 2)
    {
      const guint8 *data = zmq_msg_data (&event);
      guint16 kind = (guint16) (data[0] | data[1] << 8);

      if (kind & (ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                  | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH))
        gate->refused (kind == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, gate->user_data);
    }
  zmq_msg_close (&event);
}

static gpointer
gate_main (gpointer data)
{
  SmGate *gate = data;
  zmq_pollitem_t items[3] = {
    { .fd = gate->stop, .events = ZMQ_POLLIN },
    { .socket = gate->zap, .events = ZMQ_POLLIN },
    { .socket = gate->monitor, .events = ZMQ_POLLIN },
  };

  for (;;)
    {
      if (zmq_poll (items, G_N_ELEMENTS (items), -1) < 0)
        {
          if (zmq_errno () == EINTR)
            continue;
          g_critical ("The mesh node's gate cannot poll: %s", zmq_strerror (zmq_errno ()));
          break;
        }
      if (items[0].revents & ZMQ_POLLIN)
        break;
      if (items[1].revents & ZMQ_POLLIN)
        sm_zap_handle (gate->zap, gate->lookup, gate->user_data);
      if (items[2].revents & ZMQ_POLLIN)
        read_monitor (gate);
    }
  return NULL;
}

SmGate *
sm_gate_new (void               *context,
             SmZapLookupFunc     lookup,
             SmGateRefusedFunc   refused,
             gpointer            user_data,
             GError            **error)
{
  SmGate *gate = g_new0 (SmGate, 1);

  gate->context = context;
  gate->lookup = lookup;
  gate->refused = refused;
  gate->user_data = user_data;
  gate->stop = -1;
  gate->zap = open_socket (context, ZMQ_REP);
  if (gate->zap == NULL || zmq_bind (gate->zap, SM_ZAP_ENDPOINT) < 0)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_FAILED, _("Cannot start the ZAP handler: %s"),
                   zmq_strerror (zmq_errno ()));
      sm_gate_free (gate);
      return NULL;
    }
  return gate;
}

gboolean
sm_gate_start (SmGate  *gate,
               void    *router,
               GError **error)
{
  g_autofree char *endpoint = g_strdup_printf ("inproc://sm-gate-%p", (void *) gate);

  if (zmq_socket_monitor (router, endpoint, ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL
                          | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) < 0
      || (gate->monitor = open_socket (gate->context, ZMQ_PAIR)) == NULL
      || zmq_connect (gate->monitor, endpoint) < 0)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_FAILED, _("Cannot watch the node's connections: %s"),
                   zmq_strerror (zmq_errno ()));
      return FALSE;
    }
  gate->stop = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (gate->stop < 0)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_FAILED, _("Cannot make an eventfd: %s"), g_strerror (errno));
      return FALSE;
    }
  /* The sockets move to the gate's thread: the thread's creation is the
   * full memory barrier libzmq asks for. */
  gate->thread = g_thread_new ("sm-node-gate", gate_main, gate);
  return TRUE;
}

void
sm_gate_free (SmGate *gate)
{
  guint64 one = 1;

  if (gate == NULL)
    return;
  if (gate->thread != NULL)
    {
      if (write (gate->stop, &one, sizeof one) < 0)
        g_critical ("Cannot stop the mesh node's gate: %s", g_strerror (errno));
      g_thread_join (gate->thread);
    }
  if (gate->stop >= 0)
    close (gate->stop);
  g_clear_pointer (&gate->monitor, zmq_close);
  g_clear_pointer (&gate->zap, zmq_close);
  g_free (gate);
}
