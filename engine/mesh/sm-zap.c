/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <zmq.h>

#include "sm-zap.h"

#define FRAMES_MAX 7   /* version, id, domain, address, identity, mechanism, key */

static void
send_reply (void       *socket,
            zmq_msg_t  *request_id,
            const char *status,
            const char *text,
            const char *user_id)
{
  zmq_send (socket, "1.0", 3, ZMQ_SNDMORE);
  zmq_send (socket, zmq_msg_data (request_id), zmq_msg_size (request_id), ZMQ_SNDMORE);
  zmq_send (socket, status, strlen (status), ZMQ_SNDMORE);
  zmq_send (socket, text, strlen (text), ZMQ_SNDMORE);
  zmq_send (socket, user_id, strlen (user_id), ZMQ_SNDMORE);
  zmq_send (socket, "", 0, 0);
}

SmZapVerdict
sm_zap_handle (void            *socket,
               SmZapLookupFunc  lookup,
               gpointer         user_data)
{
  zmq_msg_t frames[FRAMES_MAX];
  guint n = 0;
  int more = 1;
  size_t more_size = sizeof more;
  SmZapVerdict verdict = SM_ZAP_IGNORED;
  const char *name = NULL;

  /* Read the whole request, whatever its length: a REP socket must answer
   * before it can read the next one. */
  while (more)
    {
      zmq_msg_t extra;
      zmq_msg_t *frame = n < FRAMES_MAX ? &frames[n] : &extra;

      zmq_msg_init (frame);
      if (zmq_msg_recv (frame, socket, 0) < 0)
        {
          zmq_msg_close (frame);
          break;
        }
      zmq_getsockopt (socket, ZMQ_RCVMORE, &more, &more_size);
      if (frame == &extra)
        zmq_msg_close (frame);
      else
        n++;
    }

  if (n >= 6 && zmq_msg_size (&frames[0]) == 3 && memcmp (zmq_msg_data (&frames[0]), "1.0", 3) == 0)
    {
      gboolean curve = zmq_msg_size (&frames[5]) == 5 && memcmp (zmq_msg_data (&frames[5]), "CURVE", 5) == 0;

      if (curve && n == 7 && zmq_msg_size (&frames[6]) == 32)
        name = lookup (zmq_msg_data (&frames[6]), user_data);
      if (name != NULL)
        send_reply (socket, &frames[1], "200", "OK", name);
      else
        send_reply (socket, &frames[1], "400", curve ? "Key not trusted" : "CURVE required", "");
      verdict = name != NULL ? SM_ZAP_ALLOWED : SM_ZAP_DENIED;
    }
  else if (n > 0)
    {
      /* Not ZAP 1.0: answer anyway so that the REP socket stays usable. */
      zmq_msg_t empty;

      zmq_msg_init (&empty);
      send_reply (socket, n >= 2 ? &frames[1] : &empty, "500", "Bad ZAP request", "");
      zmq_msg_close (&empty);
    }

  for (guint i = 0; i < n; i++)
    zmq_msg_close (&frames[i]);

  return verdict;
}
