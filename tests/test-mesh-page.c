/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include <adwaita.h>

#include "gtk-test-util.h"
#include "mesh-test-util.h"
#include "sm-mesh-page.h"

/* Runs the main loop until peer row @title's subtitle holds @text (the
 * page refreshes once a second); NULL: until there is no such row. */
static void
wait_for_row (GtkWidget  *page,
              const char *title,
              const char *text)
{
  gint64 until = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  for (;;)
    {
      GtkWidget *row = find_row (page, title);
      const char *subtitle = row != NULL ? adw_action_row_get_subtitle (ADW_ACTION_ROW (row)) : NULL;

      if (text == NULL ? row == NULL : (subtitle != NULL && strstr (subtitle, text) != NULL))
        return;
      if (g_get_monotonic_time () > until)
        g_error ("row %s shows “%s”, without “%s”", title, subtitle, text);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (5000);
    }
}

/* Opens Add Peer, types into its three rows and presses Add. */
static void
fill_add_peer_dialog (GtkWidget  *page,
                      const char *name,
                      const char *endpoint,
                      const char *key)
{
  SmAlert *dialog;

  g_assert_true (gtk_widget_activate_action (page, "mesh.add-peer", NULL));
  dialog = find_dialog ("trusted and connected to at once");
  gtk_editable_set_text (GTK_EDITABLE (find_row (GTK_WIDGET (dialog), "_Name")), name);
  gtk_editable_set_text (GTK_EDITABLE (find_row (GTK_WIDGET (dialog), "_Endpoint")), endpoint);
  gtk_editable_set_text (GTK_EDITABLE (find_row (GTK_WIDGET (dialog), "_Public Key")), key);
  press_dialog_button (dialog, "_Add");
  g_main_context_iteration (NULL, FALSE);
}

/* The app's node on its page: its key and endpoint shown, a peer added
 * from the page's controller becomes ready, the offload knob sends it
 * queries, and untrusting removes it. */
static void
test_mesh_page_peer_lifecycle (void)
{
  g_autoptr(GSettings) settings = g_settings_new (APP_ID);
  g_autoptr(GError) error = NULL;
  g_autoptr(SmEngine) engine = sm_engine_new (64 * 1024 * 1024, 2, &error);
  g_autoptr(SmMeshController) controller = NULL;
  g_auto(GStrv) peers = NULL;
  GtkWidget *window = gtk_window_new ();
  GtkWidget *page = sm_mesh_page_new ();
  TestNode b = { 0 };
  SmAlert *dialog;
  SmNode *node;

  g_settings_set_string (settings, "mesh-bind", "tcp://127.0.0.1:*");
  g_settings_set_strv (settings, "mesh-peers", NULL);
  controller = sm_mesh_controller_new (engine, settings);
  node = sm_mesh_controller_get_node (controller);
  g_assert_null (sm_mesh_controller_get_error (controller));
  g_assert_nonnull (node);

  sm_mesh_page_set_controller (SM_MESH_PAGE (page), controller);
  gtk_window_set_child (GTK_WINDOW (window), page);
  gtk_window_present (GTK_WINDOW (window));
  g_main_context_iteration (NULL, FALSE);

  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (find_row (page, "Public Key"))), ==,
                   sm_mesh_controller_get_public_key (controller));
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (find_row (page, "Fingerprint"))), ==,
                   sm_mesh_controller_get_fingerprint (controller));
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (find_row (page, "Endpoint"))), ==, sm_node_get_endpoint (node));
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (find_row (page, "Status"))), ==, "Listening");
  /* Replies lost at a client's high-water mark are shown with the refusals. */
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (find_row (page, "Refused and Lost"))),
                            "0 replies dropped"));

  /* A peer that trusts the app, added through the page's dialog: first
   * with a typo in the key, which brings the dialog back with the reason
   * and what was typed, then right. */
  test_node_start (&b, "node-b", NULL);
  g_assert_true (sm_node_add_peer (b.node, "app", sm_node_get_endpoint (node),
                                   sm_mesh_controller_get_public_key (controller), &error));
  fill_add_peer_dialog (page, "b", sm_node_get_endpoint (b.node), "not-a-key");
  dialog = find_dialog ("40 characters");
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (find_row (GTK_WIDGET (dialog), "_Name"))), ==, "b");
  close_dialog (dialog);
  fill_add_peer_dialog (page, "b", sm_node_get_endpoint (b.node), b.identity.public_key);
  wait_for_row (page, "b", "Ready");

  /* Bad input is refused with the reason, and nothing is saved. */
  g_assert_false (sm_mesh_controller_add_peer (controller, "c", "tcp://127.0.0.1:1", "short", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (sm_mesh_controller_add_peer (controller, "b", sm_node_get_endpoint (b.node), b.identity.public_key,
                                               &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_clear_error (&error);
  peers = g_settings_get_strv (settings, "mesh-peers");
  g_assert_cmpuint (g_strv_length (peers), ==, 1);

  /* The page's knob sends queries to the peer. */
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (find_type (find_row (page, "_Queries Sent to Peers"),
                                                         GTK_TYPE_SPIN_BUTTON)), 100);
  g_assert_cmpuint (sm_engine_get_offload_share (engine, NULL), ==, 100);
  /* A query the peer sits on past the node's timeout (a loaded machine,
   * a sanitizer) is rightly rerun here: the knob works when one of a few
   * comes back from the peer, and the row counts what did. */
  {
    guint remote = 0;
    g_autofree char *answered = NULL;

    for (guint i = 0; i < 20 && remote == 0; i++)
      {
        g_autoptr(SmResult) result = sm_engine_infer (engine, "write a haskell function that zips two lists", &error);

        g_assert_no_error (error);
        remote += result->remote;
      }
    g_assert_cmpuint (remote, ==, 1);
    answered = g_strdup_printf (", %u answered", remote);
    wait_for_row (page, "b", answered);
  }

  /* The peer's own figures (its METRICS, once a second) are charted, a
   * series named after it (issue 20). */
  {
    gint64 until = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

    while ((sm_mesh_page_get_figure (SM_MESH_PAGE (page), 0) == NULL
            || sm_chart_series_get_length (sm_chart_get_series (sm_mesh_page_get_figure (SM_MESH_PAGE (page), 0), 0)) < 2)
           && g_get_monotonic_time () < until)
      {
        g_main_context_iteration (NULL, FALSE);
        g_usleep (5000);
      }
    for (guint f = 0; f < SM_MESH_PAGE_N_FIGURES; f++)
      {
        SmChartSeries *series = sm_chart_get_series (sm_mesh_page_get_figure (SM_MESH_PAGE (page), f), 0);

        g_assert_cmpstr (sm_chart_series_get_name (series), ==, "b");
        g_assert_cmpuint (sm_chart_series_get_length (series), >=, 2);
      }
  }

  /* Untrusting removes it from the settings and the page. */
  g_assert_true (gtk_widget_activate_action (page, "mesh.remove-peer", "s", "b"));
  wait_for_row (page, "b", NULL);
  g_assert_null (sm_mesh_page_get_figure (SM_MESH_PAGE (page), 0));
  g_clear_pointer (&peers, g_strfreev);
  peers = g_settings_get_strv (settings, "mesh-peers");
  g_assert_cmpuint (g_strv_length (peers), ==, 0);

  /* The discovery switch is the setting; the node restarts with it. */
  gtk_switch_set_active (GTK_SWITCH (find_type (find_row (page, "_LAN Discovery"), GTK_TYPE_SWITCH)), TRUE);
  g_assert_true (g_settings_get_boolean (settings, "mesh-discovery"));
  {
    const char *why = sm_mesh_controller_get_error (controller);

    /* A machine without a broadcast interface says so; any other failure
     * is one, and is named. */
    if (why != NULL)
      g_test_message ("the node with discovery: %s", why);
    g_assert_true (sm_mesh_controller_get_node (controller) != NULL || (why != NULL && strstr (why, "broadcast") != NULL));
  }
  g_settings_reset (settings, "mesh-discovery");

  gtk_window_destroy (GTK_WINDOW (window));
  drain_main_loop (500);
  g_clear_object (&controller);
  test_node_stop (&b);
}

int
main (int   argc,
      char *argv[])
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/app/mesh-page/peer-lifecycle", test_mesh_page_peer_lifecycle);

  return g_test_run ();
}
