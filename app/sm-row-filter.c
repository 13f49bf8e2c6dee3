/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "sm-row-filter.h"

gboolean
sm_row_filter_matches (const char *query,
                       const char *title,
                       const char *subtitle)
{
  g_autofree char *text = NULL, *folded = NULL, *folded_query = NULL;
  g_auto(GStrv) words = NULL;

  if (query == NULL || query[0] == '\0')
    return TRUE;
  text = g_strconcat (title ?: "", "\n", subtitle ?: "", NULL);
  folded = g_utf8_casefold (text, -1);
  folded_query = g_utf8_casefold (query, -1);
  words = g_strsplit_set (folded_query, " \t", -1);
  for (guint i = 0; words[i] != NULL; i++)
    if (words[i][0] != '\0' && strstr (folded, words[i]) == NULL)
      return FALSE;
  return TRUE;
}

static gboolean
row_visible (GtkListBoxRow *row,
             gpointer       user_data)
{
  GtkEditable *entry = user_data;

  if (!ADW_IS_ACTION_ROW (row))
    return TRUE;
  return sm_row_filter_matches (gtk_editable_get_text (entry),
                                adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)),
                                adw_action_row_get_subtitle (ADW_ACTION_ROW (row)));
}

/* GTK 4.8's list shows its placeholder only when it has no rows at all,
 * not when the filter hid them all: the line under the entry says it. */
static void
search_changed_cb (GtkSearchEntry *entry,
                   GtkListBox     *list)
{
  GtkWidget *nothing = g_object_get_data (G_OBJECT (entry), "sm-row-filter-nothing");
  gboolean any = FALSE;

  gtk_list_box_invalidate_filter (list);
  for (GtkWidget *row = gtk_widget_get_first_child (GTK_WIDGET (list)); row != NULL && !any;
       row = gtk_widget_get_next_sibling (row))
    any = ADW_IS_ACTION_ROW (row) && gtk_widget_get_child_visible (row);
  gtk_widget_set_visible (nothing, !any && gtk_editable_get_text (GTK_EDITABLE (entry))[0] != '\0');
}

GtkWidget *
sm_row_filter_new (GtkListBox *list,
                   GtkWidget  *capture,
                   const char *placeholder,
                   const char *nothing)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *entry = gtk_search_entry_new ();
  GtkWidget *empty = gtk_label_new (nothing);

  g_object_set (entry, "placeholder-text", placeholder, NULL);
  gtk_accessible_update_property (GTK_ACCESSIBLE (entry), GTK_ACCESSIBLE_PROPERTY_LABEL, placeholder, -1);
  gtk_search_entry_set_key_capture_widget (GTK_SEARCH_ENTRY (entry), capture);
  gtk_widget_set_margin_top (entry, 12);
  gtk_widget_set_margin_start (entry, 12);
  gtk_widget_set_margin_end (entry, 12);
  /* The list keeps the entry its filter reads for as long as it lives. */
  gtk_list_box_set_filter_func (list, row_visible, g_object_ref (entry), g_object_unref);
  gtk_widget_add_css_class (empty, "dim-label");
  gtk_widget_set_margin_top (empty, 18);
  gtk_label_set_wrap (GTK_LABEL (empty), TRUE);
  gtk_widget_set_visible (empty, FALSE);
  g_object_set_data (G_OBJECT (entry), "sm-row-filter-nothing", empty);
  g_signal_connect_object (entry, "search-changed", G_CALLBACK (search_changed_cb), list, 0);
  gtk_box_append (GTK_BOX (box), entry);
  gtk_box_append (GTK_BOX (box), empty);
  return box;
}
