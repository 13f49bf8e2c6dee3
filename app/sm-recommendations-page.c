/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "sm-recommendations-page.h"
#include "sm-row-filter.h"

typedef struct
{
  guint         id;
  AdwActionRow *row;
  GtkWidget    *apply;
  GtkWidget    *dismiss;
  GtkWidget    *revert;
  GtkWidget    *status;
  char          fired[16];     /* "HH:MM:SS", when it first showed */
} Row;

struct _SmRecommendationsPage
{
  AdwBin      parent_instance;

  GtkWidget  *stack;
  GtkListBox *list;
  GHashTable *rows;          /* id → Row */
  SmSession  *session;
  gulong      recommendation_id;
};


enum {
  PROP_0,
  PROP_SESSION,
  N_PROPS
};

G_DEFINE_FINAL_TYPE (SmRecommendationsPage, sm_recommendations_page, ADW_TYPE_BIN)

static GParamSpec *properties[N_PROPS];

static const char *
severity_icon (SmSeverity severity)
{
  switch (severity)
    {
    case SM_SEVERITY_CRITICAL: return "dialog-error-symbolic";
    case SM_SEVERITY_WARNING: return "dialog-warning-symbolic";
    case SM_SEVERITY_INFO:
    default: return "dialog-information-symbolic";
    }
}

/* When @rec fired, as a wall-clock time: its monitor time, set against
 * the session's newest snapshot. */
static char *
format_fired (SmRecommendationsPage  *self,
              const SmRecommendation *rec)
{
  gint64 ago_ms = self->session != NULL ? (gint64) (sm_session_get_time (self->session) * 1000) - rec->fired_ms : 0;
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autoptr(GDateTime) fired = g_date_time_add (now, -MAX (0, ago_ms) * G_TIME_SPAN_MILLISECOND);

  return g_date_time_format (fired, "%H:%M:%S");
}

static void
show_state (SmRecommendationsPage  *self,
            Row                    *row,
            const SmRecommendation *rec)
{
  gboolean open = rec->status == SM_RECOMMENDATION_OPEN;
  g_autofree char *subtitle = NULL, *repeats = NULL;
  const char *status;

  /* Once: the snapshot clock and the wall clock advance in different steps. */
  if (row->fired[0] == '\0')
    {
      g_autofree char *fired = format_fired (self, rec);

      g_strlcpy (row->fired, fired, sizeof row->fired);
    }

  switch (rec->status)
    {
    case SM_RECOMMENDATION_APPLIED:
      status = rec->outcome != NULL ? (rec->worse ? _("Applied — worse") : _("Applied")) : _("Applied — measuring…");
      break;
    case SM_RECOMMENDATION_DISMISSED:
      status = _("Dismissed");
      break;
    case SM_RECOMMENDATION_REVERTED:
      status = _("Reverted");
      break;
    case SM_RECOMMENDATION_OPEN:
    default:
      status = "";
      break;
    }

  repeats = rec->repeats > 0 ? g_strdup_printf (ngettext (" (fired again %u time)", " (fired again %u times)",
                                                          rec->repeats), rec->repeats)
                             : g_strdup ("");
  /* Timestamps say which of several came first (issue 17). */
  subtitle = g_strdup_printf (_("At %s: %s%s\nChange: %s. Expected: %s%s%s"), row->fired, rec->evidence, repeats,
                              rec->action, rec->expected, rec->outcome != NULL ? _("\nMeasured: ") : "",
                              rec->outcome != NULL ? rec->outcome : "");
  adw_action_row_set_subtitle (row->row, subtitle);
  gtk_widget_set_sensitive (row->apply, TRUE);
  gtk_widget_set_sensitive (row->dismiss, TRUE);
  gtk_widget_set_sensitive (row->revert, TRUE);
  gtk_widget_set_visible (row->apply, open);
  gtk_widget_set_visible (row->dismiss, open);
  gtk_widget_set_visible (row->revert, rec->status == SM_RECOMMENDATION_APPLIED && rec->worse);
  gtk_widget_set_visible (row->status, !open);
  gtk_label_set_text (GTK_LABEL (row->status), status);
}

static GtkWidget *
row_button (const char *label,
            const char *action,
            guint       id,
            const char *css_class)
{
  GtkWidget *button = gtk_button_new_with_mnemonic (label);

  gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
  gtk_actionable_set_action_name (GTK_ACTIONABLE (button), action);
  gtk_actionable_set_action_target (GTK_ACTIONABLE (button), "u", id);
  if (css_class != NULL)
    gtk_widget_add_css_class (button, css_class);
  return button;
}

static Row *
add_row (SmRecommendationsPage  *self,
         const SmRecommendation *rec)
{
  Row *row = g_new0 (Row, 1);
  GtkWidget *icon = gtk_image_new_from_icon_name (severity_icon (rec->severity));
  g_autofree char *severity = g_strdup_printf ("%s", sm_severity_get_name (rec->severity));

  row->id = rec->id;
  row->row = ADW_ACTION_ROW (adw_action_row_new ());
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row->row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row->row), rec->title);
  adw_action_row_set_subtitle_lines (row->row, 0);
  gtk_widget_set_tooltip_text (icon, severity);
  adw_action_row_add_prefix (row->row, icon);

  row->apply = row_button (_("_Apply"), "recommendations.apply", rec->id, NULL);
  row->dismiss = row_button (_("_Dismiss"), "recommendations.dismiss", rec->id, NULL);
  row->revert = row_button (_("_Revert"), "recommendations.revert", rec->id, "destructive-action");
  row->status = gtk_label_new ("");
  gtk_widget_add_css_class (row->status, "dim-label");
  adw_action_row_add_suffix (row->row, row->status);
  adw_action_row_add_suffix (row->row, row->apply);
  adw_action_row_add_suffix (row->row, row->dismiss);
  adw_action_row_add_suffix (row->row, row->revert);

  /* Newest first. */
  gtk_list_box_prepend (self->list, GTK_WIDGET (row->row));
  g_hash_table_insert (self->rows, GUINT_TO_POINTER (rec->id), row);
  gtk_stack_set_visible_child_name (GTK_STACK (self->stack), "list");
  return row;
}

/* One suggested action in the view (GNOME's HIG): Apply on the newest
 * open recommendation; the others' are plain. */
static void
mark_suggested (SmRecommendationsPage *self)
{
  GHashTableIter iter;
  Row *row, *newest = NULL;

  g_hash_table_iter_init (&iter, self->rows);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &row))
    if (gtk_widget_get_visible (row->apply) && (newest == NULL || row->id > newest->id))
      newest = row;
  g_hash_table_iter_init (&iter, self->rows);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &row))
    {
      if (row == newest)
        gtk_widget_add_css_class (row->apply, "suggested-action");
      else
        gtk_widget_remove_css_class (row->apply, "suggested-action");
    }
}

static void
recommendation_cb (SmSession              *session,
                   const SmRecommendation *rec,
                   gboolean                outcome,
                   SmRecommendationsPage  *self)
{
  Row *row = g_hash_table_lookup (self->rows, GUINT_TO_POINTER (rec->id));

  if (row == NULL)
    row = add_row (self, rec);
  show_state (self, row, rec);
  mark_suggested (self);
}

/* The advisor's own state after a decision (on its thread) shows once the
 * list is read again. */
static void
refresh_rows (SmRecommendationsPage *self)
{
  g_autoptr(GPtrArray) list = NULL;

  if (self->session == NULL)
    return;
  list = sm_advisor_list (sm_session_get_advisor (self->session));
  for (guint i = 0; i < list->len; i++)
    {
      SmRecommendation *rec = g_ptr_array_index (list, i);
      Row *row = g_hash_table_lookup (self->rows, GUINT_TO_POINTER (rec->id));

      if (row != NULL)
        show_state (self, row, rec);
    }
  mark_suggested (self);
}

static void
knob_changed_cb (SmRecommendationsPage *self)
{
  refresh_rows (self);
}

static void
decide (GtkWidget        *widget,
        GVariant         *parameter,
        SmSessionVerdict  verdict)
{
  SmRecommendationsPage *self = SM_RECOMMENDATIONS_PAGE (widget);
  Row *row = g_hash_table_lookup (self->rows, GUINT_TO_POINTER (g_variant_get_uint32 (parameter)));

  if (self->session == NULL || row == NULL)
    return;
  /* No second click while the first is being carried out. */
  gtk_widget_set_sensitive (row->apply, FALSE);
  gtk_widget_set_sensitive (row->dismiss, FALSE);
  gtk_widget_set_sensitive (row->revert, FALSE);
  sm_session_decide (self->session, row->id, verdict);
  if (verdict == SM_SESSION_DISMISS)
    refresh_rows (self);
}

static void
apply_action_cb (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  decide (widget, parameter, SM_SESSION_APPLY);
}

static void
dismiss_action_cb (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  decide (widget, parameter, SM_SESSION_DISMISS);
}

static void
revert_action_cb (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  decide (widget, parameter, SM_SESSION_REVERT);
}

static void
sm_recommendations_page_dispose (GObject *object)
{
  SmRecommendationsPage *self = SM_RECOMMENDATIONS_PAGE (object);

  sm_recommendations_page_set_session (self, NULL);
  G_OBJECT_CLASS (sm_recommendations_page_parent_class)->dispose (object);
}

static void
sm_recommendations_page_finalize (GObject *object)
{
  SmRecommendationsPage *self = SM_RECOMMENDATIONS_PAGE (object);

  g_hash_table_unref (self->rows);
  G_OBJECT_CLASS (sm_recommendations_page_parent_class)->finalize (object);
}

static void
sm_recommendations_page_get_property (GObject    *object,
                                      guint       prop_id,
                                      GValue     *value,
                                      GParamSpec *pspec)
{
  SmRecommendationsPage *self = SM_RECOMMENDATIONS_PAGE (object);

  switch (prop_id)
    {
    case PROP_SESSION:
      g_value_set_object (value, self->session);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sm_recommendations_page_set_property (GObject      *object,
                                      guint         prop_id,
                                      const GValue *value,
                                      GParamSpec   *pspec)
{
  SmRecommendationsPage *self = SM_RECOMMENDATIONS_PAGE (object);

  switch (prop_id)
    {
    case PROP_SESSION:
      sm_recommendations_page_set_session (self, g_value_get_object (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sm_recommendations_page_class_init (SmRecommendationsPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = sm_recommendations_page_dispose;
  object_class->finalize = sm_recommendations_page_finalize;
  object_class->get_property = sm_recommendations_page_get_property;
  object_class->set_property = sm_recommendations_page_set_property;

  /**
   * SmRecommendationsPage:session:
   *
   * The session whose advisor the page shows, or %NULL.
   */
  properties[PROP_SESSION] =
    g_param_spec_object ("session", NULL, NULL,
                         SM_TYPE_SESSION,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_install_action (widget_class, "recommendations.apply", "u", apply_action_cb);
  gtk_widget_class_install_action (widget_class, "recommendations.dismiss", "u", dismiss_action_cb);
  gtk_widget_class_install_action (widget_class, "recommendations.revert", "u", revert_action_cb);
}

static void
sm_recommendations_page_init (SmRecommendationsPage *self)
{
  GtkWidget *empty = adw_status_page_new ();
  GtkWidget *scrolled = gtk_scrolled_window_new ();
  GtkWidget *clamp = adw_clamp_new ();
  GtkWidget *column = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);

  self->rows = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  adw_status_page_set_icon_name (ADW_STATUS_PAGE (empty), "dialog-information-symbolic");
  adw_status_page_set_title (ADW_STATUS_PAGE (empty), _("No Recommendations"));
  adw_status_page_set_description (ADW_STATUS_PAGE (empty),
                                   _("Tuning suggestions, with the numbers behind them, appear here as the advisor "
                                     "finds them in the live measurements."));

  self->list = GTK_LIST_BOX (gtk_list_box_new ());
  gtk_list_box_set_selection_mode (self->list, GTK_SELECTION_NONE);
  gtk_widget_add_css_class (GTK_WIDGET (self->list), "boxed-list");
  gtk_widget_set_margin_top (GTK_WIDGET (self->list), 24);
  gtk_widget_set_margin_bottom (GTK_WIDGET (self->list), 24);
  gtk_widget_set_margin_start (GTK_WIDGET (self->list), 12);
  gtk_widget_set_margin_end (GTK_WIDGET (self->list), 12);
  gtk_widget_set_valign (GTK_WIDGET (self->list), GTK_ALIGN_START);
  adw_clamp_set_maximum_size (ADW_CLAMP (clamp), 900);
  /* Newest first (each is prepended), and a search over their texts. */
  gtk_box_append (GTK_BOX (column), sm_row_filter_new (self->list, column, _("Search recommendations"),
                                                       _("No recommendation matches the search")));
  gtk_box_append (GTK_BOX (column), GTK_WIDGET (self->list));
  adw_clamp_set_child (ADW_CLAMP (clamp), column);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scrolled), clamp);

  self->stack = gtk_stack_new ();
  gtk_stack_add_named (GTK_STACK (self->stack), empty, "empty");
  gtk_stack_add_named (GTK_STACK (self->stack), scrolled, "list");
  adw_bin_set_child (ADW_BIN (self), self->stack);
}

GtkWidget *
sm_recommendations_page_new (void)
{
  return g_object_new (SM_TYPE_RECOMMENDATIONS_PAGE, NULL);
}

void
sm_recommendations_page_set_session (SmRecommendationsPage *self,
                                     SmSession             *session)
{
  g_return_if_fail (SM_IS_RECOMMENDATIONS_PAGE (self));
  g_return_if_fail (session == NULL || SM_IS_SESSION (session));

  if (self->session == session)
    return;
  if (sm_session_watch (&self->session, session, self))
    {
      g_signal_connect (session, "recommendation", G_CALLBACK (recommendation_cb), self);
      g_signal_connect_swapped (session, "knob-changed", G_CALLBACK (knob_changed_cb), self);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SESSION]);
}

SmSession *
sm_recommendations_page_get_session (SmRecommendationsPage *self)
{
  g_return_val_if_fail (SM_IS_RECOMMENDATIONS_PAGE (self), NULL);

  return self->session;
}

guint
sm_recommendations_page_get_n_rows (SmRecommendationsPage *self)
{
  return g_hash_table_size (self->rows);
}
