/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "sm-dialogs.h"
#include "sm-session-comparison.h"
#include "sm-row-filter.h"
#include "sm-session-replay.h"
#include "sm-sessions-page.h"
#include "sm-store-async.h"

struct _SmSessionsPage
{
  AdwBin               parent_instance;

  /* Template widgets */
  GtkStack            *stack;
  AdwStatusPage       *empty;
  GtkListBox          *list;
  GtkWidget           *compare_button;
  SmSessionReplay     *replay;
  SmSessionComparison *comparison;
  GtkRevealer         *export_bar;
  GtkLabel            *export_label;
  GtkProgressBar      *export_progress;

  /* Owned */
  SmSession           *session;
  GCancellable        *cancellable;         /* the list being read */
  GPtrArray           *infos;               /* SmSessionInfo of the rows */
  GHashTable          *deleting;            /* ids hidden, deleted when their toast goes */
  gint64               selected[2];         /* for comparing; 0 when empty */
  GCancellable        *export_cancellable;  /* the export running, or NULL */
  char                *export_path;         /* and where it writes */
  gboolean             reporting;           /* a report of the replay is being saved */
};

G_DEFINE_FINAL_TYPE (SmSessionsPage, sm_sessions_page, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_SESSION,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  EXPORTED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static SmStore *
get_store (SmSessionsPage *self)
{
  return self->session != NULL ? sm_session_get_store (self->session) : NULL;
}

static char *
describe (const SmSessionInfo *info)
{
  g_autoptr(GDateTime) started = g_date_time_new_from_unix_local (info->started_ms / 1000);
  g_autofree char *date = g_date_time_format (started, "%Y-%m-%d %H:%M");
  g_autofree char *duration = info->ended_ms > 0
                              ? g_strdup_printf (_("%.0f s"), (info->ended_ms - info->started_ms) / 1000.0)
                              : g_strdup (_("unfinished"));

  return g_strdup_printf (_("%s · %s · %s · %" G_GINT64_FORMAT " samples"), date, duration,
                          info->model != NULL ? info->model : "—", info->samples);
}

static GtkWidget *
row_button (const char *icon,
            const char *tooltip,
            const char *action,
            gint64      id)
{
  GtkWidget *button = gtk_button_new_from_icon_name (icon);

  gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (button, "flat");
  gtk_widget_set_tooltip_text (button, tooltip);
  gtk_actionable_set_action_name (GTK_ACTIONABLE (button), action);
  gtk_actionable_set_action_target (GTK_ACTIONABLE (button), "x", id);
  return button;
}

/* One button for the three export formats of session @id. */
static GtkWidget *
export_menu_button (gint64 id)
{
  static const struct {
    const char *label;
    const char *action;
  } formats[] = {
    { N_("As _CSV…"), "sessions.export-csv" },
    { N_("As _JSON…"), "sessions.export-json" },
    { N_("As an _SQLite Database…"), "sessions.export-sqlite" },
  };
  g_autoptr(GMenu) menu = g_menu_new ();
  GtkWidget *button = gtk_menu_button_new ();

  for (guint i = 0; i < G_N_ELEMENTS (formats); i++)
    {
      g_autoptr(GMenuItem) item = g_menu_item_new (_(formats[i].label), NULL);

      g_menu_item_set_action_and_target_value (item, formats[i].action, g_variant_new_int64 (id));
      g_menu_append_item (menu, item);
    }
  gtk_menu_button_set_icon_name (GTK_MENU_BUTTON (button), "document-send-symbolic");
  gtk_menu_button_set_menu_model (GTK_MENU_BUTTON (button), G_MENU_MODEL (menu));
  gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (button, "flat");
  gtk_widget_set_tooltip_text (button, _("Export…"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Export"), -1);
  return button;
}

static void fill_list (SmSessionsPage *self);

static void
update_compare_button (SmSessionsPage *self)
{
  gtk_widget_set_sensitive (self->compare_button, self->selected[0] != 0 && self->selected[1] != 0);
}

/* Two sessions at most are selected: a third replaces the older choice. */
static void
selection_toggled_cb (GtkCheckButton *check,
                      SmSessionsPage *self)
{
  gint64 id = *(gint64 *) g_object_get_data (G_OBJECT (check), "session-id");

  if (gtk_check_button_get_active (check))
    {
      if (self->selected[0] != 0 && self->selected[1] != 0)
        {
          self->selected[0] = self->selected[1];
          self->selected[1] = id;
          fill_list (self);
          return;
        }
      self->selected[self->selected[0] == 0 ? 0 : 1] = id;
    }
  else
    {
      if (self->selected[0] == id)
        self->selected[0] = self->selected[1];
      self->selected[1] = 0;
      if (self->selected[0] == id)
        self->selected[0] = 0;
    }
  update_compare_button (self);
}

static void
fill_list (SmSessionsPage *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->list))) != NULL)
    gtk_list_box_remove (self->list, child);
  /* Newest first. */
  for (guint i = self->infos->len; i-- > 0; )
    {
      SmSessionInfo *info = g_ptr_array_index (self->infos, i);
      GtkWidget *row;
      GtkWidget *check;
      g_autofree char *subtitle = NULL;

      if (g_hash_table_contains (self->deleting, &info->id))
        continue;
      subtitle = describe (info);
      row = adw_action_row_new ();
      check = gtk_check_button_new ();
      gtk_widget_set_tooltip_text (check, _("Select to Compare"));
      gtk_check_button_set_active (GTK_CHECK_BUTTON (check),
                                   self->selected[0] == info->id || self->selected[1] == info->id);
      g_object_set_data_full (G_OBJECT (check), "session-id", g_memdup2 (&info->id, sizeof info->id), g_free);
      g_signal_connect (check, "toggled", G_CALLBACK (selection_toggled_cb), self);
      adw_action_row_add_prefix (ADW_ACTION_ROW (row), check);
      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), info->name);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), export_menu_button (info->id));
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), row_button ("document-edit-symbolic",
                                                                    _("Rename…"), "sessions.rename", info->id));
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), row_button ("user-trash-symbolic",
                                                                    _("Delete"), "sessions.delete", info->id));
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), row_button ("go-next-symbolic",
                                                                    _("Replay the Charts"), "sessions.open", info->id));
      gtk_list_box_append (self->list, row);
    }
  update_compare_button (self);
  if (gtk_widget_get_first_child (GTK_WIDGET (self->list)) != NULL)
    {
      if (g_str_equal (gtk_stack_get_visible_child_name (self->stack), "empty"))
        gtk_stack_set_visible_child_name (self->stack, "list");
    }
  else
    gtk_stack_set_visible_child_name (self->stack, "empty");
}

static void
listed_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *infos = sm_store_list_finish (NULL, result, &error);
  SmSessionsPage *self;

  /* Cancelled means the page is gone: @user_data must not be touched.
   * Any other failure is said where the list would be. */
  if (infos == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          self = user_data;
          adw_status_page_set_description (self->empty, error->message);
          gtk_stack_set_visible_child_name (self->stack, "empty");
        }
      return;
    }
  self = user_data;
  g_ptr_array_unref (self->infos);
  self->infos = infos;
  fill_list (self);
}

static const SmSessionInfo *
find_info (SmSessionsPage *self,
           gint64          id)
{
  for (guint i = 0; i < self->infos->len; i++)
    if (((SmSessionInfo *) g_ptr_array_index (self->infos, i))->id == id)
      return g_ptr_array_index (self->infos, i);
  return NULL;
}

static void
toast (SmSessionsPage *self,
       AdwToast       *toast_)
{
  GtkWidget *overlay = gtk_widget_get_ancestor (GTK_WIDGET (self), ADW_TYPE_TOAST_OVERLAY);

  if (overlay != NULL)
    adw_toast_overlay_add_toast (ADW_TOAST_OVERLAY (overlay), toast_);
  else
    g_object_unref (g_object_ref_sink (toast_));
}

static void
open_action_cb (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  SmSessionsPage *self = SM_SESSIONS_PAGE (widget);
  const SmSessionInfo *info = find_info (self, g_variant_get_int64 (parameter));

  if (info == NULL || get_store (self) == NULL)
    return;
  sm_session_replay_show (self->replay, info);
  gtk_stack_set_visible_child_name (self->stack, "replay");
}

static void
compare_action_cb (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  SmSessionsPage *self = SM_SESSIONS_PAGE (widget);
  const SmSessionInfo *a = find_info (self, self->selected[0]), *b = find_info (self, self->selected[1]);

  if (a == NULL || b == NULL || get_store (self) == NULL)
    return;
  sm_session_comparison_show (self->comparison, a, b);
  gtk_stack_set_visible_child_name (self->stack, "compare");
}

static void
back_action_cb (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  gtk_stack_set_visible_child_name (SM_SESSIONS_PAGE (widget)->stack, "list");
}

/* A delete or rename ended: the list again, or why not ("Not deleted"). */
static void
store_changed (SmSessionsPage *self,
               gboolean        ok,
               const GError   *error,
               const char     *failure)
{
  if (!ok)
    {
      g_autofree char *text = g_strdup_printf ("%s: %s", failure, error->message);

      toast (self, adw_toast_new (text));
    }
  sm_sessions_page_refresh (self);
}

static void
deleted_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(SmSessionsPage) self = user_data;
  g_autoptr(GError) error = NULL;
  gboolean ok = sm_store_delete_session_finish (NULL, result, &error);

  store_changed (self, ok, error, _("Not deleted"));
}

static void
renamed_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(SmSessionsPage) self = user_data;
  g_autoptr(GError) error = NULL;
  gboolean ok = sm_store_rename_session_finish (NULL, result, &error);

  store_changed (self, ok, error, _("Not renamed"));
}

typedef struct
{
  SmSessionsPage *page;
  gint64          id;
  gboolean        undone;
} Deletion;

static void
undo_cb (AdwToast *toast_,
         Deletion *deletion)
{
  deletion->undone = TRUE;
  g_hash_table_remove (deletion->page->deleting, &deletion->id);
  fill_list (deletion->page);
}

/* The toast went: unless undone, the session is deleted now, whether or
 * not the page is still there to hear how it went. */
static void
dismissed_cb (AdwToast *toast_,
              Deletion *deletion)
{
  SmStore *store = get_store (deletion->page);

  if (!deletion->undone && store != NULL)
    sm_store_delete_session_async (store, deletion->id, NULL, deleted_cb, g_object_ref (deletion->page));
  g_hash_table_remove (deletion->page->deleting, &deletion->id);
  g_object_unref (deletion->page);
  g_free (deletion);
}

static void
delete_action_cb (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  SmSessionsPage *self = SM_SESSIONS_PAGE (widget);
  const SmSessionInfo *info = find_info (self, g_variant_get_int64 (parameter));
  Deletion *deletion;
  g_autofree char *title = NULL;
  AdwToast *toast_;

  if (info == NULL)
    return;
  deletion = g_new0 (Deletion, 1);
  deletion->page = g_object_ref (self);
  deletion->id = info->id;
  g_hash_table_add (self->deleting, g_memdup2 (&info->id, sizeof info->id));
  title = g_strdup_printf (_("“%s” deleted"), info->name);
  toast_ = adw_toast_new (title);
  adw_toast_set_button_label (toast_, _("_Undo"));
  g_signal_connect (toast_, "button-clicked", G_CALLBACK (undo_cb), deletion);
  g_signal_connect (toast_, "dismissed", G_CALLBACK (dismissed_cb), deletion);
  fill_list (self);
  toast (self, toast_);
}

static void
rename_response_cb (SmAlert        *dialog,
                    const char     *response,
                    SmSessionsPage *self)
{
  GtkEditable *entry = g_object_get_data (G_OBJECT (dialog), "entry");
  gint64 id = *(gint64 *) g_object_get_data (G_OBJECT (dialog), "session-id");
  SmStore *store = get_store (self);

  if (g_str_equal (response, "rename") && store != NULL)
    sm_store_rename_session_async (store, id, gtk_editable_get_text (entry), NULL, renamed_cb, g_object_ref (self));
}

static void
rename_action_cb (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  SmSessionsPage *self = SM_SESSIONS_PAGE (widget);
  const SmSessionInfo *info = find_info (self, g_variant_get_int64 (parameter));
  GtkWidget *entry;
  SmAlert *dialog;

  if (info == NULL)
    return;
  dialog = sm_alert_new (_("Rename Session"), NULL);
  entry = gtk_entry_new ();
  gtk_editable_set_text (GTK_EDITABLE (entry), info->name);
  gtk_entry_set_activates_default (GTK_ENTRY (entry), TRUE);
  sm_alert_set_extra_child (dialog, entry);
  sm_alert_add_responses (dialog, "cancel", _("_Cancel"), "rename", _("_Rename"), NULL);
  sm_alert_set_response_appearance (dialog, "rename", ADW_RESPONSE_SUGGESTED);
  sm_alert_set_default_response (dialog, "rename");
  sm_alert_set_close_response (dialog, "cancel");
  g_object_set_data (G_OBJECT (dialog), "entry", entry);
  g_object_set_data_full (G_OBJECT (dialog), "session-id", g_memdup2 (&info->id, sizeof info->id), g_free);
  g_signal_connect_object (dialog, "response", G_CALLBACK (rename_response_cb), self, 0);
  sm_dialog_present (dialog, widget);
}

/* In the main loop, while the export runs (the store coalesces reports). */
static gboolean
export_progress_cb (double   fraction,
                    gpointer user_data)
{
  SmSessionsPage *self = user_data;

  gtk_progress_bar_set_fraction (self->export_progress, fraction);
  return TRUE;
}

static void
exported_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(SmSessionsPage) self = user_data;
  g_autofree char *path = g_steal_pointer (&self->export_path);
  g_autoptr(GError) error = NULL;
  g_autofree char *title = NULL;

  g_clear_object (&self->export_cancellable);
  gtk_revealer_set_reveal_child (self->export_bar, FALSE);
  if (sm_store_export_finish (NULL, result, &error))
    title = g_strdup_printf (_("Exported to %s"), path);
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    title = g_strdup (_("Export cancelled"));
  else
    title = g_strdup_printf (_("Export failed: %s"), error->message);
  toast (self, adw_toast_new (title));
  g_signal_emit (self, signals[EXPORTED], 0, error == NULL);
}

static void
export_cancel_cb (SmSessionsPage *self)
{
  if (self->export_cancellable != NULL)
    g_cancellable_cancel (self->export_cancellable);
}

static void
chooser_response_cb (GtkNativeDialog *chooser,
                     int              response,
                     gpointer         user_data)
{
  SmSessionsPage *self = SM_SESSIONS_PAGE (user_data);
  g_autofree char *format = g_object_steal_data (G_OBJECT (chooser), "format");
  gint64 id = GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (chooser), "session-id"));

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      g_autofree char *path = g_file_get_path (file);

      if (g_str_equal (format, "pdf"))
        sm_sessions_page_report (self, path);
      else
        sm_sessions_page_export (self, id, format, path);
    }
  g_object_unref (chooser);
}

/* Asks where to write session @id (or the replayed one's report: "pdf")
 * named @name, then writes it there (chooser_response_cb). */
static void
choose_file (SmSessionsPage *self,
             gint64          id,
             const char     *name,
             const char     *format)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  gboolean report = g_str_equal (format, "pdf");
  GtkFileChooserNative *chooser;
  g_autofree char *file_name = NULL;

  chooser = gtk_file_chooser_native_new (report ? _("Save Report") : _("Export Session"),
                                         GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                         GTK_FILE_CHOOSER_ACTION_SAVE, report ? _("_Save") : _("_Export"),
                                         _("_Cancel"));
  file_name = g_strdup_printf ("%s.%s", name, g_str_equal (format, "sqlite") ? "db" : format);
  g_strdelimit (file_name, "/:", '-');
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), file_name);
  g_object_set_data_full (G_OBJECT (chooser), "format", g_strdup (format), g_free);
  g_object_set_data (G_OBJECT (chooser), "session-id", GSIZE_TO_POINTER (id));
  g_signal_connect (chooser, "response", G_CALLBACK (chooser_response_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
export_session (SmSessionsPage *self,
                gint64          id,
                const char     *format)
{
  const SmSessionInfo *info = find_info (self, id);

  if (info != NULL)
    choose_file (self, id, info->name, format);
}

static void
reported_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(SmSessionsPage) self = user_data;
  g_autofree char *path = g_steal_pointer (&self->export_path);
  g_autoptr(GError) error = NULL;
  g_autofree char *title = NULL;

  if (sm_session_replay_save_report_finish (SM_SESSION_REPLAY (source), result, &error))
    title = g_strdup_printf (_("Report saved to %s"), path);
  else
    title = g_strdup_printf (_("The report could not be saved: %s"), error->message);
  self->reporting = FALSE;
  toast (self, adw_toast_new (title));
  g_signal_emit (self, signals[EXPORTED], 0, error == NULL);
}

gboolean
sm_sessions_page_report (SmSessionsPage *self,
                         const char     *path)
{
  g_return_val_if_fail (SM_IS_SESSIONS_PAGE (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  if (self->reporting || self->export_cancellable != NULL || sm_session_replay_get_shown_name (self->replay) == NULL)
    return FALSE;
  self->reporting = TRUE;
  g_free (self->export_path);
  self->export_path = g_strdup (path);
  sm_session_replay_save_report_async (self->replay, path, NULL, reported_cb, g_object_ref (self));
  return TRUE;
}

static void
report_action_cb (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  SmSessionsPage *self = SM_SESSIONS_PAGE (widget);
  const char *name = sm_session_replay_get_shown_name (self->replay);

  if (name != NULL)
    choose_file (self, 0, name, "pdf");
}

static void
export_csv_action_cb (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *parameter)
{
  export_session (SM_SESSIONS_PAGE (widget), g_variant_get_int64 (parameter), "csv");
}

static void
export_json_action_cb (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *parameter)
{
  export_session (SM_SESSIONS_PAGE (widget), g_variant_get_int64 (parameter), "json");
}

static void
export_sqlite_action_cb (GtkWidget  *widget,
                         const char *action_name,
                         GVariant   *parameter)
{
  export_session (SM_SESSIONS_PAGE (widget), g_variant_get_int64 (parameter), "sqlite");
}

/* A run that ended (and is in the database) is a new row; pruned ones
 * change or go. */
static void
run_recorded_cb (SmSessionsPage *self)
{
  sm_sessions_page_refresh (self);
}

static void
sm_sessions_page_map (GtkWidget *widget)
{
  GTK_WIDGET_CLASS (sm_sessions_page_parent_class)->map (widget);
  sm_sessions_page_refresh (SM_SESSIONS_PAGE (widget));
}

static void
sm_sessions_page_dispose (GObject *object)
{
  SmSessionsPage *self = SM_SESSIONS_PAGE (object);

  g_cancellable_cancel (self->cancellable);
  if (self->export_cancellable != NULL)
    g_cancellable_cancel (self->export_cancellable);
  sm_sessions_page_set_session (self, NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), SM_TYPE_SESSIONS_PAGE);
  G_OBJECT_CLASS (sm_sessions_page_parent_class)->dispose (object);
}

static void
sm_sessions_page_finalize (GObject *object)
{
  SmSessionsPage *self = SM_SESSIONS_PAGE (object);

  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->export_path, g_free);
  g_ptr_array_unref (self->infos);
  g_hash_table_unref (self->deleting);
  G_OBJECT_CLASS (sm_sessions_page_parent_class)->finalize (object);
}

static void
sm_sessions_page_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  SmSessionsPage *self = SM_SESSIONS_PAGE (object);

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
sm_sessions_page_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  SmSessionsPage *self = SM_SESSIONS_PAGE (object);

  switch (prop_id)
    {
    case PROP_SESSION:
      sm_sessions_page_set_session (self, g_value_get_object (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sm_sessions_page_class_init (SmSessionsPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = sm_sessions_page_dispose;
  object_class->finalize = sm_sessions_page_finalize;
  object_class->get_property = sm_sessions_page_get_property;
  object_class->set_property = sm_sessions_page_set_property;
  widget_class->map = sm_sessions_page_map;

  /**
   * SmSessionsPage:session:
   *
   * The session whose database the page lists, or %NULL.
   */
  properties[PROP_SESSION] =
    g_param_spec_object ("session", NULL, NULL,
                         SM_TYPE_SESSION,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * SmSessionsPage::exported:
   * @ok: whether the file was written
   *
   * An export started from the page has ended (its toast says how).
   */
  signals[EXPORTED] = g_signal_new ("exported", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                    NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_BOOLEAN);

  g_type_ensure (SM_TYPE_SESSION_REPLAY);
  g_type_ensure (SM_TYPE_SESSION_COMPARISON);
  gtk_widget_class_set_template_from_resource (widget_class, RESOURCE_PREFIX "/ui/sm-sessions-page.ui");
  gtk_widget_class_bind_template_child (widget_class, SmSessionsPage, stack);
  gtk_widget_class_bind_template_child (widget_class, SmSessionsPage, empty);
  gtk_widget_class_bind_template_child (widget_class, SmSessionsPage, list);
  gtk_widget_class_bind_template_child (widget_class, SmSessionsPage, compare_button);
  gtk_widget_class_bind_template_child (widget_class, SmSessionsPage, replay);
  gtk_widget_class_bind_template_child (widget_class, SmSessionsPage, comparison);
  gtk_widget_class_bind_template_child (widget_class, SmSessionsPage, export_bar);
  gtk_widget_class_bind_template_child (widget_class, SmSessionsPage, export_label);
  gtk_widget_class_bind_template_child (widget_class, SmSessionsPage, export_progress);
  gtk_widget_class_bind_template_callback (widget_class, export_cancel_cb);

  gtk_widget_class_install_action (widget_class, "sessions.open", "x", open_action_cb);
  gtk_widget_class_install_action (widget_class, "sessions.report", NULL, report_action_cb);
  gtk_widget_class_install_action (widget_class, "sessions.back", NULL, back_action_cb);
  gtk_widget_class_install_action (widget_class, "sessions.compare", NULL, compare_action_cb);
  gtk_widget_class_install_action (widget_class, "sessions.delete", "x", delete_action_cb);
  gtk_widget_class_install_action (widget_class, "sessions.rename", "x", rename_action_cb);
  gtk_widget_class_install_action (widget_class, "sessions.export-csv", "x", export_csv_action_cb);
  gtk_widget_class_install_action (widget_class, "sessions.export-sqlite", "x", export_sqlite_action_cb);
  gtk_widget_class_install_action (widget_class, "sessions.export-json", "x", export_json_action_cb);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "sessions.back", NULL);
}

static void
sm_sessions_page_init (SmSessionsPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  {
    GtkWidget *around = gtk_widget_get_parent (GTK_WIDGET (self->list));
    GtkWidget *search = sm_row_filter_new (self->list, around, _("Search sessions"),
                                           _("No session matches the search"));

    gtk_box_prepend (GTK_BOX (around), search);
  }

  self->cancellable = g_cancellable_new ();
  self->infos = g_ptr_array_new ();
  self->deleting = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
}

GtkWidget *
sm_sessions_page_new (void)
{
  return g_object_new (SM_TYPE_SESSIONS_PAGE, NULL);
}

SmSession *
sm_sessions_page_get_session (SmSessionsPage *self)
{
  g_return_val_if_fail (SM_IS_SESSIONS_PAGE (self), NULL);

  return self->session;
}

void
sm_sessions_page_set_session (SmSessionsPage *self,
                              SmSession      *session)
{
  g_return_if_fail (SM_IS_SESSIONS_PAGE (self));
  g_return_if_fail (session == NULL || SM_IS_SESSION (session));

  if (self->session == session)
    return;
  if (sm_session_watch (&self->session, session, self))
    {
      g_signal_connect_swapped (session, "run-recorded", G_CALLBACK (run_recorded_cb), self);
      g_signal_connect_swapped (session, "store-pruned", G_CALLBACK (run_recorded_cb), self);
      sm_sessions_page_refresh (self);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SESSION]);
}

void
sm_sessions_page_refresh (SmSessionsPage *self)
{
  SmStore *store;

  g_return_if_fail (SM_IS_SESSIONS_PAGE (self));

  store = get_store (self);
  if (store != NULL)
    sm_store_list_sessions_async (store, self->cancellable, listed_cb, self);
}

guint
sm_sessions_page_get_n_sessions (SmSessionsPage *self)
{
  g_return_val_if_fail (SM_IS_SESSIONS_PAGE (self), 0);

  return self->infos->len;
}

gboolean
sm_sessions_page_export (SmSessionsPage *self,
                         gint64          id,
                         const char     *format,
                         const char     *path)
{
  const SmSessionInfo *info;
  SmStore *store;
  g_autofree char *label = NULL;

  g_return_val_if_fail (SM_IS_SESSIONS_PAGE (self), FALSE);

  info = find_info (self, id);
  store = get_store (self);
  /* One at a time: each holds a whole session in memory until written. */
  if (self->export_cancellable != NULL)
    {
      toast (self, adw_toast_new (_("An export is already running")));
      return FALSE;
    }
  if (info == NULL || store == NULL)
    return FALSE;

  self->export_cancellable = g_cancellable_new ();
  self->export_path = g_strdup (path);
  label = g_strdup_printf (_("Exporting “%s”…"), info->name);
  gtk_label_set_text (self->export_label, label);
  gtk_progress_bar_set_fraction (self->export_progress, 0);
  gtk_revealer_set_reveal_child (self->export_bar, TRUE);
  /* The file chooser has already asked before replacing a file.  The page
   * lives until the answer (the callback's reference), so the progress
   * reports may use it. */
  sm_store_export_async (store, id, format, path, SM_STORE_EXPORT_OVERWRITE, export_progress_cb, self,
                         self->export_cancellable, exported_cb, g_object_ref (self));
  return TRUE;
}
