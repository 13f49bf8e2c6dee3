/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>
#include <czmq.h>

#include "sm-beacon.h"
#include "sm-error.h"

/* "SMSH1 " KEY " " ENDPOINT; zbeacon carries at most 255 bytes. */
#define PREFIX      "SMSH1 "
#define PREFIX_SIZE (sizeof PREFIX - 1)
#define PAYLOAD_MAX 255

struct _SmBeacon
{
  zactor_t *actor;
};

SmBeacon *
sm_beacon_new (guint        port,
               const char  *endpoint,
               const char  *public_key,
               GError     **error)
{
  SmBeacon *beacon;
  g_autofree char *payload = g_strdup_printf (PREFIX "%s %s", public_key, endpoint);
  char *host;

  if (strlen (payload) > PAYLOAD_MAX)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT,
                   _("The endpoint %s is too long to announce"), endpoint);
      return NULL;
    }

  /* CZMQ would otherwise take SIGINT and SIGTERM from the program. */
  zsys_handler_set (NULL);
  beacon = g_new0 (SmBeacon, 1);
  beacon->actor = zactor_new (zbeacon, NULL);
  zsock_send (beacon->actor, "si", "CONFIGURE", (int) port);
  host = zstr_recv (beacon->actor);
  if (host == NULL || *host == '\0')
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_NOT_SUPPORTED,
                   _("LAN discovery needs a network interface that can broadcast; this machine has none"));
      zstr_free (&host);
      sm_beacon_free (beacon);
      return NULL;
    }
  zstr_free (&host);
  zsock_send (beacon->actor, "sbi", "PUBLISH", payload, strlen (payload), 1000);
  zsock_send (beacon->actor, "sb", "SUBSCRIBE", PREFIX, PREFIX_SIZE);
  return beacon;
}

void
sm_beacon_free (SmBeacon *beacon)
{
  if (beacon == NULL)
    return;
  zactor_destroy (&beacon->actor);
  g_free (beacon);
}

void *
sm_beacon_get_socket (SmBeacon *beacon)
{
  return zsock_resolve (beacon->actor);
}

gboolean
sm_beacon_receive (SmBeacon  *beacon,
                   char     **endpoint,
                   char       public_key[SM_IDENTITY_KEY_LENGTH + 1])
{
  char *sender = zstr_recv (beacon->actor);
  zframe_t *frame = sender != NULL ? zframe_recv (beacon->actor) : NULL;
  g_autofree char *payload = NULL;
  const char *announced;
  gboolean ok = FALSE;

  if (frame != NULL)
    payload = g_strndup ((const char *) zframe_data (frame), zframe_size (frame));

  /* Anyone on the LAN can send this: check the shape before using it. */
  if (payload != NULL && strlen (payload) > PREFIX_SIZE + SM_IDENTITY_KEY_LENGTH + 1
      && payload[PREFIX_SIZE + SM_IDENTITY_KEY_LENGTH] == ' ' && g_utf8_validate (payload, -1, NULL))
    {
      memcpy (public_key, payload + PREFIX_SIZE, SM_IDENTITY_KEY_LENGTH);
      public_key[SM_IDENTITY_KEY_LENGTH] = '\0';
      announced = payload + PREFIX_SIZE + SM_IDENTITY_KEY_LENGTH + 1;
      if (sm_identity_key_is_valid (public_key) && g_str_has_prefix (announced, "tcp://"))
        {
          const char *port = strrchr (announced, ':');

          if (g_str_has_prefix (announced, "tcp://*:") || g_str_has_prefix (announced, "tcp://0.0.0.0:"))
            *endpoint = g_strdup_printf ("tcp://%s%s", sender, port);
          else
            *endpoint = g_strdup (announced);
          ok = TRUE;
        }
    }

  zframe_destroy (&frame);
  zstr_free (&sender);
  return ok;
}
