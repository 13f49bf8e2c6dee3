/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "sm-beacon.h"
#include "sm-identity.h"
#include "sm-mesh-controller.h"
#include "sm-paths.h"
#include "sm-trust.h"

struct _SmMeshController
{
  GObject     parent_instance;

  SmEngine   *engine;       /* not owned */
  GSettings  *settings;
  SmIdentity  identity;
  gboolean    has_identity;
  char       *fingerprint;
  char       *trust_path;
  SmTrust    *trust;
  SmNode     *node;
  char       *error;
};

enum {
  CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (SmMeshController, sm_mesh_controller, G_TYPE_OBJECT)

/* The key, made on first use as `synmesh keygen` would, and the trust
 * file's path; FALSE with the reason when the data folder fails us. */
static gboolean
load_identity (SmMeshController  *self,
               GError           **error)
{
  g_autofree char *data_dir = sm_paths_ensure_data_dir (error);
  g_autofree char *key_path = NULL;
  gboolean created;

  if (data_dir == NULL)
    return FALSE;
  key_path = sm_identity_default_path (data_dir);
  self->trust_path = g_build_filename (data_dir, SM_TRUST_FILE_NAME, NULL);
  if (!sm_identity_load_or_create (key_path, &self->identity, &created, error))
    return FALSE;
  self->has_identity = TRUE;
  self->fingerprint = sm_identity_fingerprint (self->identity.public_key);
  return TRUE;
}

static void
stop_node (SmMeshController *self)
{
  g_clear_pointer (&self->node, sm_node_free);
  g_clear_pointer (&self->trust, sm_trust_free);
}

/* (Re)starts the node from the settings; a failure is kept for the page. */
static void
start_node (SmMeshController *self)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *bind = g_settings_get_string (self->settings, "mesh-bind");
  g_auto(GStrv) peers = g_settings_get_strv (self->settings, "mesh-peers");
  SmNodeConfig config = { .bind = bind };

  if (g_settings_get_boolean (self->settings, "mesh-discovery"))
    config.discovery_port = SM_BEACON_DEFAULT_PORT;

  stop_node (self);
  g_clear_pointer (&self->error, g_free);

  if (!self->has_identity && !load_identity (self, &error))
    goto failed;
  self->trust = sm_trust_load (self->trust_path, &error);
  if (self->trust == NULL)
    goto failed;

  config.identity = self->identity;
  config.trust = self->trust;
  /* Edits to the file (by hand, or by `synmesh`) apply while it runs. */
  config.trust_path = self->trust_path;
  self->node = sm_node_new (self->engine, &config, &error);
  if (self->node == NULL)
    goto failed;

  for (guint i = 0; peers[i] != NULL; i++)
    {
      g_autofree char *name = NULL, *endpoint = NULL, *key = NULL;
      g_autoptr(GError) peer_error = NULL;

      /* A bad entry (edited by hand) is skipped, not fatal. */
      if (!sm_node_parse_peer (peers[i], &name, &endpoint, &key, &peer_error)
          || !sm_node_add_peer (self->node, name != NULL ? name : endpoint, endpoint, key, &peer_error))
        g_message ("Mesh peer skipped: %s", peer_error->message);
    }
  g_signal_emit (self, signals[CHANGED], 0);
  return;

failed:
  stop_node (self);
  self->error = g_strdup (error->message);
  g_signal_emit (self, signals[CHANGED], 0);
}

static void
settings_changed_cb (SmMeshController *self)
{
  start_node (self);
}

static void
sm_mesh_controller_dispose (GObject *object)
{
  SmMeshController *self = SM_MESH_CONTROLLER (object);

  stop_node (self);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (sm_mesh_controller_parent_class)->dispose (object);
}

static void
sm_mesh_controller_finalize (GObject *object)
{
  SmMeshController *self = SM_MESH_CONTROLLER (object);

  g_free (self->fingerprint);
  g_free (self->trust_path);
  g_free (self->error);

  G_OBJECT_CLASS (sm_mesh_controller_parent_class)->finalize (object);
}

static void
sm_mesh_controller_class_init (SmMeshControllerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = sm_mesh_controller_dispose;
  object_class->finalize = sm_mesh_controller_finalize;

  /**
   * SmMeshController::changed:
   *
   * The node was (re)started or failed to: its peers, endpoint or error
   * may differ.
   */
  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                   0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
sm_mesh_controller_init (SmMeshController *self)
{
}

SmMeshController *
sm_mesh_controller_new (SmEngine  *engine,
                        GSettings *settings)
{
  SmMeshController *self = g_object_new (SM_TYPE_MESH_CONTROLLER, NULL);

  self->engine = engine;
  self->settings = g_object_ref (settings);
  g_signal_connect_object (settings, "changed::mesh-bind", G_CALLBACK (settings_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (settings, "changed::mesh-peers", G_CALLBACK (settings_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (settings, "changed::mesh-discovery", G_CALLBACK (settings_changed_cb), self, G_CONNECT_SWAPPED);
  start_node (self);
  return self;
}

SmNode *
sm_mesh_controller_get_node (SmMeshController *self)
{
  return self->node;
}

const char *
sm_mesh_controller_get_error (SmMeshController *self)
{
  return self->error;
}

GSettings *
sm_mesh_controller_get_settings (SmMeshController *self)
{
  return self->settings;
}

SmEngine *
sm_mesh_controller_get_engine (SmMeshController *self)
{
  return self->engine;
}

const char *
sm_mesh_controller_get_public_key (SmMeshController *self)
{
  return self->has_identity ? self->identity.public_key : NULL;
}

const char *
sm_mesh_controller_get_fingerprint (SmMeshController *self)
{
  return self->fingerprint;
}

/* The settings' entry for @name, or -1. */
static int
find_peer (char       **peers,
           const char  *name)
{
  for (guint i = 0; peers[i] != NULL; i++)
    {
      g_autofree char *entry_name = NULL, *endpoint = NULL, *key = NULL;

      if (sm_node_parse_peer (peers[i], &entry_name, &endpoint, &key, NULL)
          && g_strcmp0 (entry_name, name) == 0)
        return (int) i;
    }
  return -1;
}

gboolean
sm_mesh_controller_add_peer (SmMeshController  *self,
                             const char        *name,
                             const char        *endpoint,
                             const char        *public_key,
                             GError           **error)
{
  g_auto(GStrv) peers = g_settings_get_strv (self->settings, "mesh-peers");
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autofree char *entry = g_strdup_printf ("%s@%s=%s", name, endpoint, public_key);
  g_autofree char *parsed_name = NULL, *parsed_endpoint = NULL, *parsed_key = NULL;
  g_auto(GStrv) updated = NULL;

  if (name[0] == '\0' || strpbrk (name, "@ \t") != NULL || !g_utf8_validate (name, -1, NULL)
      || g_utf8_strlen (name, -1) > SM_WIRE_NAME_MAX)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("A peer's name is one word of at most %d characters, without “@”"), SM_WIRE_NAME_MAX);
      return FALSE;
    }
  if (!g_str_has_prefix (endpoint, "tcp://"))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("The endpoint is tcp://HOST:PORT, e.g. tcp://127.0.0.1:7871"));
      return FALSE;
    }
  if (!sm_node_parse_peer (entry, &parsed_name, &parsed_endpoint, &parsed_key, NULL))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("The public key is the 40 characters `synmesh keygen --show` prints"));
      return FALSE;
    }
  if (find_peer (peers, name) >= 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS, _("There is a peer named “%s” already"), name);
      return FALSE;
    }

  g_strv_builder_addv (builder, (const char **) peers);
  g_strv_builder_add (builder, entry);
  updated = g_strv_builder_end (builder);
  /* The change restarts the node (settings_changed_cb). */
  g_settings_set_strv (self->settings, "mesh-peers", (const char * const *) updated);
  return TRUE;
}

void
sm_mesh_controller_remove_peer (SmMeshController *self,
                                const char       *name)
{
  g_auto(GStrv) peers = g_settings_get_strv (self->settings, "mesh-peers");
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) updated = NULL;
  int index = find_peer (peers, name);

  /* The trusted-peers file may name it too: trust ends there as well.  The
   * node is stopped first, as it reads that list while it runs. */
  stop_node (self);
  if (self->trust_path != NULL)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(SmTrust) trust = sm_trust_load (self->trust_path, &error);

      if (trust != NULL && sm_trust_remove (trust, name) && !sm_trust_save (trust, self->trust_path, &error))
        g_warning ("Cannot update %s: %s", self->trust_path, error->message);
    }

  for (guint i = 0; peers[i] != NULL; i++)
    if ((int) i != index)
      g_strv_builder_add (builder, peers[i]);
  updated = g_strv_builder_end (builder);
  if (index >= 0)
    g_settings_set_strv (self->settings, "mesh-peers", (const char * const *) updated);
  else
    start_node (self);
}
