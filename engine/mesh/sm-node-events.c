/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#define G_LOG_DOMAIN "sm-node"

#include <errno.h>
#include <unistd.h>
#include <zmq.h>

#include "sm-node-private.h"

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

/* Says how many events of @event were folded in the window that ended. */
void
sm_node_fold_flush (SmNode      *node,
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
void
sm_node_emit (SmNode      *node,
              SmNodeEvent  event,
              const char  *peer,
              const char  *format,
              ...)
{
  g_autofree char *text = NULL, *message = NULL, *peer_text = NULL;
  va_list args;

  if (node->event_func == NULL)
    return;
  sm_node_fold_flush (node, event, now_ns ());
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

void
sm_node_post (SmNode  *node,
              Command *command)
{
  guint64 one = 1;

  g_async_queue_push (node->commands, command);
  /* A full counter (never, in practice) still wakes the thread. */
  if (write (node->wakeup, &one, sizeof one) < 0 && errno != EAGAIN)
    g_warning ("Cannot wake the mesh node: %s", g_strerror (errno));
}

