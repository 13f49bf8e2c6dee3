/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "sm-chart.h"
#include "sm-dialogs.h"
#include "sm-mesh-page.h"
#include "sm-spin-scroll.h"

/* Round trips kept per peer for its sparkline: a minute at one a second. */
#define SPARK_POINTS 60

/* The peers' own figures (their METRICS), an hour of them at one a
 * second, in charts like the dashboard's: a series per peer, up to a
 * chart's limit. */
#define FIGURE_POINTS 3600
#define FIGURE_WINDOW_S 300

static const struct {
  const char *title;
  const char *unit;
  gboolean    log_scale;
} figures[SM_MESH_PAGE_N_FIGURES] = {
  { N_("Throughput at each peer"), "ops/s", FALSE },
  { N_("p99 latency at each peer"), "µs", TRUE },
};

typedef struct
{
  char          name[SM_WIRE_NAME_MAX + 1];
  AdwActionRow *row;
  GtkWidget    *icon;
  GtkWidget    *spark;
  double        rtts[SPARK_POINTS];   /* µs, oldest first */
  guint         n_rtts;
  guint64       last_count;           /* the peer's RTT samples seen */
  guint64       last_uptime_ms;       /* its newest figures charted */
} PeerRow;

struct _SmMeshPage
{
  AdwBin            parent_instance;

  /* Template widgets */
  AdwActionRow     *status_row;
  AdwActionRow     *endpoint_row;
  AdwActionRow     *key_row;
  AdwActionRow     *fingerprint_row;
  AdwActionRow     *refused_row;
  GtkSwitch        *discovery_switch;
  GtkAdjustment    *offload_adjustment;
  GtkListBox       *peers_list;
  AdwPreferencesGroup *figures_group;

  /* Borrowed: in figures_group, rebuilt as the peers change */
  GtkWidget        *figures_box;
  SmChart          *figures[SM_MESH_PAGE_N_FIGURES];
  gint64            started_us;       /* the charts' time 0 */

  /* Owned */
  SmMeshController *controller;
  GPtrArray        *rows;             /* PeerRow, in the node's order */
  guint             refresh_id;
};

G_DEFINE_FINAL_TYPE (SmMeshPage, sm_mesh_page, ADW_TYPE_BIN)

static void
spark_draw (GtkDrawingArea *area,
            cairo_t        *cr,
            int             width,
            int             height,
            gpointer        user_data)
{
  PeerRow *peer = user_data;
  GdkRGBA color;
  double max = 0;

  if (peer->n_rtts < 2)
    return;
  for (guint i = 0; i < peer->n_rtts; i++)
    max = MAX (max, peer->rtts[i]);
  if (max <= 0)
    return;

  gtk_style_context_get_color (gtk_widget_get_style_context (GTK_WIDGET (area)), &color);
  gdk_cairo_set_source_rgba (cr, &color);
  cairo_set_line_width (cr, 1.5);
  for (guint i = 0; i < peer->n_rtts; i++)
    {
      /* The newest at the right edge, as charts scroll. */
      double x = (double) (SPARK_POINTS - peer->n_rtts + i) / (SPARK_POINTS - 1) * (width - 2) + 1;
      double y = height - 1 - peer->rtts[i] / max * (height - 2);

      if (i == 0)
        cairo_move_to (cr, x, y);
      else
        cairo_line_to (cr, x, y);
    }
  cairo_stroke (cr);
}

static void
peer_row_free (PeerRow *peer)
{
  g_free (peer);
}

static const char *
state_icon (SmPeerState state)
{
  switch (state)
    {
    case SM_PEER_READY: return "emblem-ok-symbolic";
    case SM_PEER_MISMATCH: return "dialog-warning-symbolic";
    case SM_PEER_GONE: return "network-offline-symbolic";
    case SM_PEER_CONNECTING:
    default: return "content-loading-symbolic";
    }
}

static const char *
state_label (SmPeerState state)
{
  switch (state)
    {
    case SM_PEER_READY: return _("Ready");
    case SM_PEER_MISMATCH: return _("Another model: no queries go there");
    case SM_PEER_GONE: return _("Gone");
    case SM_PEER_CONNECTING:
    default: return _("Connecting");
    }
}

static PeerRow *
add_peer_row (SmMeshPage           *self,
              const SmNodePeerInfo *info)
{
  PeerRow *peer = g_new0 (PeerRow, 1);
  GtkWidget *remove;

  g_strlcpy (peer->name, info->name, sizeof peer->name);
  peer->row = ADW_ACTION_ROW (adw_action_row_new ());
  /* Names, endpoints and keys are text, not markup. */
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (peer->row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (peer->row), info->name);
  peer->icon = gtk_image_new ();
  adw_action_row_add_prefix (peer->row, peer->icon);

  peer->spark = gtk_drawing_area_new ();
  gtk_widget_set_size_request (peer->spark, 96, 28);
  gtk_widget_set_valign (peer->spark, GTK_ALIGN_CENTER);
  gtk_drawing_area_set_draw_func (GTK_DRAWING_AREA (peer->spark), spark_draw, peer, NULL);
  adw_action_row_add_suffix (peer->row, peer->spark);

  remove = gtk_button_new_from_icon_name ("user-trash-symbolic");
  gtk_widget_set_valign (remove, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (remove, "flat");
  gtk_widget_set_tooltip_text (remove, _("Stop Trusting This Peer"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (remove), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Stop Trusting This Peer"), -1);
  gtk_actionable_set_action_name (GTK_ACTIONABLE (remove), "mesh.remove-peer");
  gtk_actionable_set_action_target (GTK_ACTIONABLE (remove), "s", info->name);
  adw_action_row_add_suffix (peer->row, remove);

  gtk_list_box_append (self->peers_list, GTK_WIDGET (peer->row));
  g_ptr_array_add (self->rows, peer);
  return peer;
}

static void
update_peer_row (PeerRow              *peer,
                 const SmNodePeerInfo *info)
{
  g_autofree char *subtitle = NULL;
  g_autofree char *rtt = NULL;

  if (info->rtt_count > peer->last_count)
    {
      if (peer->n_rtts == SPARK_POINTS)
        memmove (peer->rtts, peer->rtts + 1, (SPARK_POINTS - 1) * sizeof peer->rtts[0]);
      else
        peer->n_rtts++;
      peer->rtts[peer->n_rtts - 1] = info->rtt_last_ns / 1e3;
      peer->last_count = info->rtt_count;
      gtk_widget_queue_draw (peer->spark);
    }

  rtt = info->rtt_count > 0
        ? g_strdup_printf (_("round trip p50 %.0f µs, p99 %.0f µs"), info->rtt_p50_ns / 1e3, info->rtt_p99_ns / 1e3)
        : g_strdup (_("no round trip yet"));
  subtitle = g_strdup_printf (_("%s · %s · %s · %" G_GUINT64_FORMAT " sent, %" G_GUINT64_FORMAT " answered"),
                              state_label (info->state), info->endpoint, rtt, info->offloaded, info->answered);
  adw_action_row_set_subtitle (peer->row, subtitle);
  gtk_image_set_from_icon_name (GTK_IMAGE (peer->icon), state_icon (info->state));
  gtk_widget_set_tooltip_text (peer->icon, state_label (info->state));
  gtk_accessible_update_property (GTK_ACCESSIBLE (peer->spark), GTK_ACCESSIBLE_PROPERTY_LABEL, rtt, -1);
}

/* Charts with a series per peer in @peers (the first SM_CHART_MAX_SERIES). */
static void
rebuild_figures (SmMeshPage *self,
                 GArray     *peers)
{
  if (self->figures_box != NULL)
    adw_preferences_group_remove (self->figures_group, self->figures_box);
  self->figures_box = NULL;
  memset (self->figures, 0, sizeof self->figures);
  gtk_widget_set_visible (GTK_WIDGET (self->figures_group), peers != NULL && peers->len > 0);
  if (peers == NULL || peers->len == 0)
    return;

  self->figures_box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  for (guint f = 0; f < SM_MESH_PAGE_N_FIGURES; f++)
    {
      self->figures[f] = SM_CHART (sm_chart_new (_(figures[f].title), figures[f].unit));
      for (guint i = 0; i < MIN (peers->len, SM_CHART_MAX_SERIES); i++)
        sm_chart_add_series (self->figures[f],
                             sm_chart_series_new (g_array_index (peers, SmNodePeerInfo, i).name, FIGURE_POINTS), FALSE);
      sm_chart_set_log_scale (self->figures[f], figures[f].log_scale);
      sm_chart_set_window (self->figures[f], FIGURE_WINDOW_S);
      gtk_widget_set_size_request (GTK_WIDGET (self->figures[f]), -1, 200);
      gtk_box_append (GTK_BOX (self->figures_box), GTK_WIDGET (self->figures[f]));
    }
  adw_preferences_group_add (self->figures_group, self->figures_box);
}

/* A peer's newest summary, once, into its series. */
static void
chart_figures (SmMeshPage           *self,
               guint                 index,
               PeerRow              *peer,
               const SmNodePeerInfo *info)
{
  double t = (g_get_monotonic_time () - self->started_us) / 1e6;

  if (index >= SM_CHART_MAX_SERIES || self->figures[0] == NULL || !info->has_metrics
      || info->metrics.uptime_ms == peer->last_uptime_ms)
    return;
  peer->last_uptime_ms = info->metrics.uptime_ms;
  sm_chart_series_append (sm_chart_get_series (self->figures[0], index), t, info->metrics.ops_per_s);
  sm_chart_series_append (sm_chart_get_series (self->figures[1], index), t, info->metrics.p99_ns / 1e3);
}

/* The rows, and the charts with a series per row. */
static void
clear_peer_rows (SmMeshPage *self)
{
  for (guint i = 0; i < self->rows->len; i++)
    gtk_list_box_remove (self->peers_list, GTK_WIDGET (((PeerRow *) g_ptr_array_index (self->rows, i))->row));
  g_ptr_array_set_size (self->rows, 0);
  rebuild_figures (self, NULL);
}

static void
refresh (SmMeshPage *self)
{
  SmNode *node = self->controller != NULL ? sm_mesh_controller_get_node (self->controller) : NULL;
  g_autoptr(GArray) peers = NULL;
  g_autofree char *refused = NULL;
  SmNodeStats stats;
  gboolean same;

  if (self->controller == NULL)
    return;
  adw_action_row_set_subtitle (self->key_row, sm_mesh_controller_get_public_key (self->controller) ?: "—");
  adw_action_row_set_subtitle (self->fingerprint_row, sm_mesh_controller_get_fingerprint (self->controller) ?: "—");
  if (node == NULL)
    {
      g_autofree char *status = g_strdup_printf (_("Not running: %s"), sm_mesh_controller_get_error (self->controller));

      adw_action_row_set_subtitle (self->status_row, status);
      adw_action_row_set_subtitle (self->endpoint_row, "—");
      adw_action_row_set_subtitle (self->refused_row, "—");
      clear_peer_rows (self);
      return;
    }

  sm_node_get_stats (node, &stats);
  adw_action_row_set_subtitle (self->status_row, _("Listening"));
  adw_action_row_set_subtitle (self->endpoint_row, sm_node_get_endpoint (node));
  /* Replies lost at a client's high-water mark belong here too: answers
   * this node owed and could not deliver. */
  refused = g_strdup_printf (_("%" G_GUINT64_FORMAT " connections (%" G_GUINT64_FORMAT " with untrusted keys), %"
                               G_GUINT64_FORMAT " malformed messages, %" G_GUINT64_FORMAT " replies dropped"),
                             stats.rejected_handshakes, stats.untrusted_keys, stats.refused_frames,
                             stats.replies_dropped);
  adw_action_row_set_subtitle (self->refused_row, refused);

  peers = sm_node_dup_peers (node);
  same = peers->len == self->rows->len;
  for (guint i = 0; same && i < peers->len; i++)
    same = g_str_equal (g_array_index (peers, SmNodePeerInfo, i).name,
                        ((PeerRow *) g_ptr_array_index (self->rows, i))->name);
  if (!same)
    {
      clear_peer_rows (self);
      for (guint i = 0; i < peers->len; i++)
        add_peer_row (self, &g_array_index (peers, SmNodePeerInfo, i));
      rebuild_figures (self, peers);
    }
  for (guint i = 0; i < peers->len; i++)
    {
      update_peer_row (g_ptr_array_index (self->rows, i), &g_array_index (peers, SmNodePeerInfo, i));
      chart_figures (self, i, g_ptr_array_index (self->rows, i), &g_array_index (peers, SmNodePeerInfo, i));
    }
  for (guint f = 0; f < SM_MESH_PAGE_N_FIGURES && self->figures[f] != NULL; f++)
    sm_chart_samples_added (self->figures[f]);
}

static gboolean
refresh_cb (gpointer user_data)
{
  refresh (user_data);
  return G_SOURCE_CONTINUE;
}

/* Polled once a second while shown: reading the node's figures takes a
 * lock for a copy, nothing waits on the network. */
static void
sm_mesh_page_map (GtkWidget *widget)
{
  SmMeshPage *self = SM_MESH_PAGE (widget);

  GTK_WIDGET_CLASS (sm_mesh_page_parent_class)->map (widget);
  refresh (self);
  if (self->refresh_id == 0)
    self->refresh_id = g_timeout_add_seconds (1, refresh_cb, self);
}

static void
sm_mesh_page_unmap (GtkWidget *widget)
{
  SmMeshPage *self = SM_MESH_PAGE (widget);

  g_clear_handle_id (&self->refresh_id, g_source_remove);
  GTK_WIDGET_CLASS (sm_mesh_page_parent_class)->unmap (widget);
}

static void
offload_changed_cb (SmMeshPage *self)
{
  SmEngine *engine;
  guint queue_above;

  if (self->controller == NULL)
    return;
  engine = sm_mesh_controller_get_engine (self->controller);
  sm_engine_get_offload_share (engine, &queue_above);
  sm_engine_set_offload_share (engine, (guint) gtk_adjustment_get_value (self->offload_adjustment), queue_above);
}

static void
copy_key_action_cb (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  SmMeshPage *self = SM_MESH_PAGE (widget);
  const char *key = self->controller != NULL ? sm_mesh_controller_get_public_key (self->controller) : NULL;

  if (key != NULL)
    gdk_clipboard_set_text (gtk_widget_get_clipboard (widget), key);
}

static void
remove_peer_action_cb (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *parameter)
{
  SmMeshPage *self = SM_MESH_PAGE (widget);

  if (self->controller != NULL)
    sm_mesh_controller_remove_peer (self->controller, g_variant_get_string (parameter, NULL));
}

typedef struct
{
  SmMeshPage *page;
  GtkEditable *name;
  GtkEditable *endpoint;
  GtkEditable *key;
} AddPeer;

static void show_add_peer_dialog (SmMeshPage *self,
                                  const char *name,
                                  const char *endpoint,
                                  const char *key,
                                  const char *problem);

static void
add_peer_response_cb (SmAlert    *dialog,
                      const char *response,
                      gpointer    user_data)
{
  AddPeer *add = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *name = g_strstrip (g_strdup (gtk_editable_get_text (add->name)));
  g_autofree char *endpoint = g_strstrip (g_strdup (gtk_editable_get_text (add->endpoint)));
  g_autofree char *key = g_strstrip (g_strdup (gtk_editable_get_text (add->key)));

  if (g_str_equal (response, "add") && add->page->controller != NULL
      && !sm_mesh_controller_add_peer (add->page->controller, name, endpoint, key, &error))
    /* Nothing typed is lost: the dialog comes back with the problem. */
    show_add_peer_dialog (add->page, name, endpoint, key, error->message);
}

static GtkEditable *
add_entry (GtkListBox *list,
           const char *title,
           const char *text)
{
  GtkWidget *row = adw_entry_row_new ();

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_preferences_row_set_use_underline (ADW_PREFERENCES_ROW (row), TRUE);
  gtk_editable_set_text (GTK_EDITABLE (row), text);
  gtk_list_box_append (list, row);
  return GTK_EDITABLE (row);
}

static void
show_add_peer_dialog (SmMeshPage *self,
                      const char *name,
                      const char *endpoint,
                      const char *key,
                      const char *problem)
{
  SmAlert *dialog;
  GtkListBox *list = GTK_LIST_BOX (gtk_list_box_new ());
  AddPeer *add = g_new0 (AddPeer, 1);

  dialog = sm_alert_new (_("Add a Peer"),
                         problem != NULL ? problem
                         : _("The peer is trusted and connected to at once. "
                             "Its public key is what `synmesh keygen --show` prints there."));
  gtk_list_box_set_selection_mode (list, GTK_SELECTION_NONE);
  gtk_widget_add_css_class (GTK_WIDGET (list), "boxed-list");
  add->page = self;
  add->name = add_entry (list, _("_Name"), name);
  add->endpoint = add_entry (list, _("_Endpoint"), endpoint);
  add->key = add_entry (list, _("_Public Key"), key);
  sm_alert_set_extra_child (dialog, GTK_WIDGET (list));
  sm_alert_add_responses (dialog, "cancel", _("_Cancel"), "add", _("_Add"), NULL);
  sm_alert_set_response_appearance (dialog, "add", ADW_RESPONSE_SUGGESTED);
  sm_alert_set_default_response (dialog, "add");
  sm_alert_set_close_response (dialog, "cancel");
  g_signal_connect_data (dialog, "response", G_CALLBACK (add_peer_response_cb), add,
                         (GClosureNotify) (void (*) (void)) g_free, 0);
  sm_dialog_present (dialog, GTK_WIDGET (self));
}

static void
add_peer_action_cb (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  show_add_peer_dialog (SM_MESH_PAGE (widget), "", "tcp://127.0.0.1:7871", "", NULL);
}

static void
sm_mesh_page_dispose (GObject *object)
{
  SmMeshPage *self = SM_MESH_PAGE (object);

  g_clear_handle_id (&self->refresh_id, g_source_remove);
  g_clear_object (&self->controller);
  gtk_widget_dispose_template (GTK_WIDGET (self), SM_TYPE_MESH_PAGE);

  G_OBJECT_CLASS (sm_mesh_page_parent_class)->dispose (object);
}

static void
sm_mesh_page_finalize (GObject *object)
{
  SmMeshPage *self = SM_MESH_PAGE (object);

  g_ptr_array_unref (self->rows);

  G_OBJECT_CLASS (sm_mesh_page_parent_class)->finalize (object);
}

static void
sm_mesh_page_class_init (SmMeshPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = sm_mesh_page_dispose;
  object_class->finalize = sm_mesh_page_finalize;
  widget_class->map = sm_mesh_page_map;
  widget_class->unmap = sm_mesh_page_unmap;

  gtk_widget_class_set_template_from_resource (widget_class, RESOURCE_PREFIX "/ui/sm-mesh-page.ui");
  gtk_widget_class_bind_template_child (widget_class, SmMeshPage, status_row);
  gtk_widget_class_bind_template_child (widget_class, SmMeshPage, endpoint_row);
  gtk_widget_class_bind_template_child (widget_class, SmMeshPage, key_row);
  gtk_widget_class_bind_template_child (widget_class, SmMeshPage, fingerprint_row);
  gtk_widget_class_bind_template_child (widget_class, SmMeshPage, refused_row);
  gtk_widget_class_bind_template_child (widget_class, SmMeshPage, discovery_switch);
  gtk_widget_class_bind_template_child (widget_class, SmMeshPage, offload_adjustment);
  gtk_widget_class_bind_template_child (widget_class, SmMeshPage, peers_list);
  gtk_widget_class_bind_template_child (widget_class, SmMeshPage, figures_group);

  gtk_widget_class_install_action (widget_class, "mesh.copy-key", NULL, copy_key_action_cb);
  gtk_widget_class_install_action (widget_class, "mesh.add-peer", NULL, add_peer_action_cb);
  gtk_widget_class_install_action (widget_class, "mesh.remove-peer", "s", remove_peer_action_cb);
}

static void
sm_mesh_page_init (SmMeshPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  sm_spin_scroll_guard (GTK_WIDGET (self));
  self->rows = g_ptr_array_new_with_free_func ((GDestroyNotify) peer_row_free);
  self->started_us = g_get_monotonic_time ();
  g_signal_connect_object (self->offload_adjustment, "value-changed", G_CALLBACK (offload_changed_cb), self,
                           G_CONNECT_SWAPPED);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "mesh.add-peer", FALSE);
  gtk_widget_set_sensitive (GTK_WIDGET (self->discovery_switch), FALSE);
}

GtkWidget *
sm_mesh_page_new (void)
{
  return g_object_new (SM_TYPE_MESH_PAGE, NULL);
}

static void
controller_changed_cb (SmMeshPage *self)
{
  /* The node was restarted: its peers are new objects. */
  clear_peer_rows (self);
  refresh (self);
}

void
sm_mesh_page_set_controller (SmMeshPage       *self,
                             SmMeshController *controller)
{
  g_return_if_fail (SM_IS_MESH_PAGE (self));

  if (self->controller != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->controller, self);
      g_settings_unbind (self->discovery_switch, "active");
    }
  g_set_object (&self->controller, controller);
  if (controller != NULL)
    {
      guint queue_above;

      g_settings_bind (sm_mesh_controller_get_settings (controller), "mesh-discovery",
                       self->discovery_switch, "active", G_SETTINGS_BIND_DEFAULT);

      g_signal_connect_object (controller, "changed", G_CALLBACK (controller_changed_cb), self, G_CONNECT_SWAPPED);
      gtk_adjustment_set_value (self->offload_adjustment,
                                sm_engine_get_offload_share (sm_mesh_controller_get_engine (controller), &queue_above));
    }
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "mesh.add-peer", controller != NULL);
  gtk_widget_set_sensitive (GTK_WIDGET (self->discovery_switch), controller != NULL);
  clear_peer_rows (self);
  refresh (self);
}

SmMeshController *
sm_mesh_page_get_controller (SmMeshPage *self)
{
  g_return_val_if_fail (SM_IS_MESH_PAGE (self), NULL);

  return self->controller;
}

SmChart *
sm_mesh_page_get_figure (SmMeshPage *self,
                         guint       index)
{
  g_return_val_if_fail (SM_IS_MESH_PAGE (self), NULL);
  g_return_val_if_fail (index < SM_MESH_PAGE_N_FIGURES, NULL);

  return self->figures[index];
}
