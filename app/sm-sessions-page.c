/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <glib/gi18n.h>

#include "sm-chart-axis.h"
#include "sm-chart.h"
#include "sm-comparison.h"
#include "sm-dialogs.h"
#include "sm-metric-ids.h"
#include "sm-sessions-page.h"
#include "sm-store-async.h"

/* What a replay charts: metric, legend name; per chart. */
static const struct {
  const char *title;
  const char *unit;
  gboolean    log_scale;
  const char *metrics[2];
  const char *names[2];
} replay_charts[] = {
  { N_("End-to-end latency"), "µs", TRUE, { SM_METRIC_ID_LATENCY_P50, SM_METRIC_ID_LATENCY_P99 }, { "p50", "p99" } },
  { N_("Throughput"), "ops/s", FALSE, { SM_METRIC_ID_THROUGHPUT, NULL }, { N_("answered"), NULL } },
  { N_("Memory pool"), "MiB", FALSE, { SM_METRIC_ID_POOL_IN_USE, SM_METRIC_ID_POOL_LIMIT }, { N_("in use"), N_("limit") } },
};

#define REPLAY_POINTS 1200

/* What a comparison sets side by side: charted first two, all tabled. */
static const struct {
  const char *metric;
  const char *name;
  const char *unit;
} compared[] = {
  { SM_METRIC_ID_LATENCY_P99, N_("p99 latency"), "µs" },
  { SM_METRIC_ID_THROUGHPUT, N_("Throughput"), "ops/s" },
  { SM_METRIC_ID_LATENCY_P50, N_("p50 latency"), "µs" },
  { SM_METRIC_ID_POOL_IN_USE, N_("Pool in use"), "MiB" },
};

struct _SmSessionsPage
{
  AdwBin         parent_instance;

  GtkWidget     *stack;
  GtkListBox    *list;
  GtkWidget     *replay_title;
  SmChart       *charts[G_N_ELEMENTS (replay_charts)];
  GtkWidget     *toast_target;

  GtkWidget     *compare_button;
  GtkWidget     *compare_title;
  SmChart       *compare_charts[2];
  GtkWidget     *compare_table;

  SmSession     *session;
  GCancellable  *cancellable;
  GPtrArray     *infos;          /* SmSessionInfo of the rows */
  GHashTable    *deleting;       /* ids hidden, deleted when their toast goes */
  gint64         selected[2];    /* for comparing; 0 when empty */

  GtkWidget     *export_bar;     /* a revealer: label, progress, Cancel */
  GtkWidget     *export_label;
  GtkWidget     *export_progress;
  struct Export *export;         /* the one running, owned by its task */
  guint          export_tick;
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
  for (guint i = 0; i < self->infos->len; i++)
    {
      SmSessionInfo *info = g_ptr_array_index (self->infos, i);
      GtkWidget *row;
      g_autofree char *subtitle = NULL;

      if (g_hash_table_contains (self->deleting, &info->id))
        continue;
      subtitle = describe (info);
      row = adw_action_row_new ();
      {
        GtkWidget *check = gtk_check_button_new ();

        gtk_widget_set_tooltip_text (check, _("Select to Compare"));
        gtk_check_button_set_active (GTK_CHECK_BUTTON (check),
                                     self->selected[0] == info->id || self->selected[1] == info->id);
        g_object_set_data_full (G_OBJECT (check), "session-id", g_memdup2 (&info->id, sizeof info->id), g_free);
        g_signal_connect (check, "toggled", G_CALLBACK (selection_toggled_cb), self);
        adw_action_row_add_prefix (ADW_ACTION_ROW (row), check);
      }
      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), info->name);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), row_button ("x-office-spreadsheet-symbolic",
                                                                    _("Export as CSV…"), "sessions.export-csv", info->id));
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), row_button ("document-save-symbolic",
                                                                    _("Export as JSON…"), "sessions.export-json", info->id));
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
      if (g_str_equal (gtk_stack_get_visible_child_name (GTK_STACK (self->stack)), "empty"))
        gtk_stack_set_visible_child_name (GTK_STACK (self->stack), "list");
    }
  else
    gtk_stack_set_visible_child_name (GTK_STACK (self->stack), "empty");
}

static void
listed_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *infos = sm_store_list_finish (NULL, result, &error);
  SmSessionsPage *self;

  /* Cancelled means the page is gone: @user_data must not be touched. */
  if (infos == NULL)
    {
      /* The page is gone when cancelled; else it says so where the
       * list would be. */
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          self = user_data;
          adw_status_page_set_description (ADW_STATUS_PAGE (gtk_stack_get_child_by_name (GTK_STACK (self->stack), "empty")),
                                           error->message);
          gtk_stack_set_visible_child_name (GTK_STACK (self->stack), "empty");
        }
      return;
    }
  self = user_data;
  g_ptr_array_unref (self->infos);
  self->infos = infos;
  fill_list (self);
}

void
sm_sessions_page_refresh (SmSessionsPage *self)
{
  SmStore *store = get_store (self);

  if (store == NULL)
    return;
  sm_store_list_sessions_async (store, self->cancellable, listed_cb, self);
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

typedef struct
{
  SmSessionsPage *page;
  SmChartSeries  *series;
  SmChart        *chart;
} Replay;

static void
replay_read_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  Replay *replay = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) points = sm_store_read_metric_finish (NULL, result, &error);

  /* Cancelled: the page (and the series) are gone. */
  if (points != NULL)
    {
      for (guint i = 0; i < points->len; i++)
        {
          SmStorePoint *p = &g_array_index (points, SmStorePoint, i);

          sm_chart_series_append (replay->series, p->t_ms / 1000.0, p->mean);
        }
      sm_chart_set_window (replay->chart, 0);
      sm_chart_samples_added (replay->chart);
    }
  g_free (replay);
}

static void
open_session (SmSessionsPage *self,
              gint64          id)
{
  const SmSessionInfo *info = find_info (self, id);
  SmStore *store = get_store (self);
  gint64 length;

  if (info == NULL || store == NULL)
    return;
  /* Session time runs from 0 to its length (an unfinished one: until now). */
  length = (info->ended_ms > 0 ? info->ended_ms : g_get_real_time () / 1000) - info->started_ms;
  gtk_label_set_text (GTK_LABEL (self->replay_title), info->name);
  for (guint c = 0; c < G_N_ELEMENTS (replay_charts); c++)
    for (guint s = 0; s < sm_chart_get_n_series (self->charts[c]); s++)
      {
        Replay *replay = g_new0 (Replay, 1);

        replay->page = self;
        replay->chart = self->charts[c];
        replay->series = sm_chart_get_series (self->charts[c], s);
        sm_chart_series_clear (replay->series);
        sm_store_read_metric_async (store, id, replay_charts[c].metrics[s], 0, length, REPLAY_POINTS,
                                    self->cancellable, replay_read_cb, replay);
      }
  gtk_stack_set_visible_child_name (GTK_STACK (self->stack), "replay");
}

typedef struct
{
  SmStore *store;
  gint64   ids[2];
  GArray  *points[G_N_ELEMENTS (compared)][2];
} Comparison;

static void
comparison_free (gpointer data)
{
  Comparison *comparison = data;

  for (guint m = 0; m < G_N_ELEMENTS (compared); m++)
    for (guint k = 0; k < 2; k++)
      g_clear_pointer (&comparison->points[m][k], g_array_unref);
  g_free (comparison);
}

static void
compare_thread (GTask        *task,
                gpointer      source,
                gpointer      task_data,
                GCancellable *cancellable)
{
  Comparison *comparison = task_data;

  /* A metric a session lacks stays empty; the table says so. */
  for (guint m = 0; m < G_N_ELEMENTS (compared); m++)
    sm_store_compare (comparison->store, comparison->ids[0], comparison->ids[1], compared[m].metric, REPLAY_POINTS,
                      &comparison->points[m][0], &comparison->points[m][1], NULL);
  g_task_return_boolean (task, TRUE);
}

static void
table_cell (GtkWidget  *table,
            const char *text,
            int         column,
            int         row,
            gboolean    heading)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (label), column == 0 ? 0 : 1);
  if (heading)
    gtk_widget_add_css_class (label, "heading");
  else if (column > 0)
    gtk_widget_add_css_class (label, "numeric");
  gtk_grid_attach (GTK_GRID (table), label, column, row, 1, 1);
}

static void
compared_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  SmSessionsPage *self;
  Comparison *comparison = g_task_get_task_data (G_TASK (result));
  GtkWidget *child;

  if (!g_task_propagate_boolean (G_TASK (result), NULL))
    return;   /* cancelled: the page is gone */
  self = user_data;

  for (guint c = 0; c < 2; c++)
    for (guint k = 0; k < 2; k++)
      {
        SmChartSeries *series = sm_chart_get_series (self->compare_charts[c], k);
        GArray *points = comparison->points[c][k];

        sm_chart_series_clear (series);
        for (guint i = 0; points != NULL && i < points->len; i++)
          sm_chart_series_append (series, g_array_index (points, SmStorePoint, i).t_ms / 1000.0,
                                  g_array_index (points, SmStorePoint, i).mean);
        sm_chart_set_window (self->compare_charts[c], 0);
        sm_chart_samples_added (self->compare_charts[c]);
      }

  while ((child = gtk_widget_get_first_child (self->compare_table)) != NULL)
    gtk_grid_remove (GTK_GRID (self->compare_table), child);
  table_cell (self->compare_table, _("Mean over the shorter run"), 0, 0, TRUE);
  table_cell (self->compare_table, "A", 1, 0, TRUE);
  table_cell (self->compare_table, "B", 2, 0, TRUE);
  table_cell (self->compare_table, _("B against A"), 3, 0, TRUE);
  for (guint m = 0; m < G_N_ELEMENTS (compared); m++)
    {
      SmComparison summary;
      g_autofree char *a_text = NULL, *b_text = NULL, *change = NULL;

      /* The store's rule, the one `synmesh sessions compare` shows too. */
      sm_comparison_compute (compared[m].metric, comparison->points[m][0], comparison->points[m][1], &summary);
      a_text = sm_chart_format_value (summary.mean_a, compared[m].unit);
      b_text = sm_chart_format_value (summary.mean_b, compared[m].unit);
      if (summary.verdict != SM_VERDICT_UNKNOWN)
        change = g_strdup_printf ("%+.1f %% (%s)", summary.change, _(sm_verdict_get_name (summary.verdict)));
      else
        change = g_strdup ("—");
      table_cell (self->compare_table, _(compared[m].name), 0, (int) m + 1, FALSE);
      table_cell (self->compare_table, a_text, 1, (int) m + 1, FALSE);
      table_cell (self->compare_table, b_text, 2, (int) m + 1, FALSE);
      table_cell (self->compare_table, change, 3, (int) m + 1, FALSE);
    }
}

static void
compare_action_cb (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  SmSessionsPage *self = SM_SESSIONS_PAGE (widget);
  const SmSessionInfo *a = find_info (self, self->selected[0]), *b = find_info (self, self->selected[1]);
  g_autoptr(GTask) task = NULL;
  g_autofree char *title = NULL;
  Comparison *comparison;

  if (a == NULL || b == NULL || get_store (self) == NULL)
    return;
  title = g_strdup_printf (_("A: %s   B: %s"), a->name, b->name);
  gtk_label_set_text (GTK_LABEL (self->compare_title), title);
  comparison = g_new0 (Comparison, 1);
  comparison->store = get_store (self);
  comparison->ids[0] = a->id;
  comparison->ids[1] = b->id;
  task = g_task_new (self->session, self->cancellable, compared_cb, self);
  g_task_set_task_data (task, comparison, comparison_free);
  sm_session_run_in_thread (self->session, task, compare_thread);
  gtk_stack_set_visible_child_name (GTK_STACK (self->stack), "compare");
}

static void
open_action_cb (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  open_session (SM_SESSIONS_PAGE (widget), g_variant_get_int64 (parameter));
}

static void
back_action_cb (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  SmSessionsPage *self = SM_SESSIONS_PAGE (widget);

  gtk_stack_set_visible_child_name (GTK_STACK (self->stack), "list");
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

typedef struct
{
  SmStore *store;     /* the session's: it outlives the page's tasks */
  gint64   id;
} Doomed;

static void
delete_thread (GTask        *task,
               gpointer      source,
               gpointer      task_data,
               GCancellable *cancellable)
{
  Doomed *doomed = task_data;
  GError *error = NULL;

  if (sm_store_delete_session (doomed->store, doomed->id, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

/* A delete or rename on a thread ended: the list again, or why not. The
 * task carries the words for a failure ("Not deleted"). */
static void
store_changed_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(SmSessionsPage) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_autofree char *text = g_strdup_printf ("%s: %s", (const char *) g_object_get_data (G_OBJECT (result), "failure"),
                                               error->message);

      toast (self, adw_toast_new (text));
    }
  sm_sessions_page_refresh (self);
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

/* The toast went: unless undone, the session is deleted now. */
static void
dismissed_cb (AdwToast *toast_,
              Deletion *deletion)
{
  SmStore *store = get_store (deletion->page);

  if (!deletion->undone && store != NULL)
    {
      g_autoptr(GTask) task = g_task_new (deletion->page->session, NULL, store_changed_cb, g_object_ref (deletion->page));
      Doomed *doomed = g_new (Doomed, 1);

      doomed->store = store;
      doomed->id = deletion->id;
      g_object_set_data (G_OBJECT (task), "failure", (gpointer) _("Not deleted"));
      g_task_set_task_data (task, doomed, g_free);
      sm_session_run_in_thread (deletion->page->session, task, delete_thread);
    }
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

typedef struct
{
  SmStore *store;
  gint64   id;
  char    *name;
} Renaming;

static void
renaming_free (gpointer data)
{
  Renaming *renaming = data;

  g_free (renaming->name);
  g_free (renaming);
}

static void
rename_thread (GTask        *task,
               gpointer      source,
               gpointer      task_data,
               GCancellable *cancellable)
{
  Renaming *renaming = task_data;
  GError *error = NULL;

  if (sm_store_rename_session (renaming->store, renaming->id, renaming->name, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
rename_response_cb (SmAlert        *dialog,
                    const char     *response,
                    SmSessionsPage *self)
{
  GtkEditable *entry = g_object_get_data (G_OBJECT (dialog), "entry");
  gint64 id = *(gint64 *) g_object_get_data (G_OBJECT (dialog), "session-id");
  SmStore *store = get_store (self);

  if (g_str_equal (response, "rename") && store != NULL && self->session != NULL)
    {
      g_autoptr(GTask) task = g_task_new (self->session, NULL, store_changed_cb, g_object_ref (self));
      Renaming *renaming = g_new0 (Renaming, 1);

      g_object_set_data (G_OBJECT (task), "failure", (gpointer) _("Not renamed"));
      renaming->store = store;
      renaming->id = id;
      renaming->name = g_strdup (gtk_editable_get_text (entry));
      g_task_set_task_data (task, renaming, renaming_free);
      sm_session_run_in_thread (self->session, task, rename_thread);
    }
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

typedef struct Export
{
  SmStore      *store;
  gint64        id;
  char         *format;
  char         *path;
  GCancellable *cancellable;
  int           permille;     /* how far, written by the thread, read by the bar */
} Export;

static void
export_free (gpointer data)
{
  Export *export = data;

  g_clear_object (&export->cancellable);
  g_free (export->format);
  g_free (export->path);
  g_free (export);
}

static gboolean
export_progress (double   fraction,
                 gpointer user_data)
{
  Export *export = user_data;

  g_atomic_int_set (&export->permille, (int) (1000 * fraction));
  return !g_cancellable_is_cancelled (export->cancellable);
}

static void
export_thread (GTask        *task,
               gpointer      source,
               gpointer      task_data,
               GCancellable *cancellable)
{
  Export *export = task_data;
  GError *error = NULL;

  /* The file chooser has already asked before replacing a file. */
  if (sm_store_export (export->store, export->id, export->format, export->path, SM_STORE_EXPORT_OVERWRITE,
                       export_progress, export, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static gboolean
export_tick_cb (gpointer user_data)
{
  SmSessionsPage *self = user_data;

  gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (self->export_progress),
                                 g_atomic_int_get (&self->export->permille) / 1000.0);
  return G_SOURCE_CONTINUE;
}

static void
export_finished (SmSessionsPage *self)
{
  g_clear_handle_id (&self->export_tick, g_source_remove);
  self->export = NULL;
  gtk_revealer_set_reveal_child (GTK_REVEALER (self->export_bar), FALSE);
}

static void
exported_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(SmSessionsPage) self = user_data;
  Export *export = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  g_autofree char *title = NULL;

  export_finished (self);
  if (g_task_propagate_boolean (G_TASK (result), &error))
    title = g_strdup_printf (_("Exported to %s"), export->path);
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
  if (self->export != NULL)
    g_cancellable_cancel (self->export->cancellable);
}

gboolean
sm_sessions_page_export (SmSessionsPage *self,
                         gint64          id,
                         const char     *format,
                         const char     *path)
{
  const SmSessionInfo *info = find_info (self, id);
  SmStore *store = get_store (self);
  g_autoptr(GTask) task = NULL;
  g_autofree char *label = NULL;
  Export *export;

  g_return_val_if_fail (SM_IS_SESSIONS_PAGE (self), FALSE);

  /* One at a time: each holds a whole session in memory until written. */
  if (info == NULL || store == NULL || self->export != NULL)
    {
      if (self->export != NULL)
        toast (self, adw_toast_new (_("An export is already running")));
      return FALSE;
    }
  export = g_new0 (Export, 1);
  export->store = store;
  export->id = id;
  export->format = g_strdup (format);
  export->path = g_strdup (path);
  export->cancellable = g_cancellable_new ();
  self->export = export;

  label = g_strdup_printf (_("Exporting “%s”…"), info->name);
  gtk_label_set_text (GTK_LABEL (self->export_label), label);
  gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (self->export_progress), 0);
  gtk_revealer_set_reveal_child (GTK_REVEALER (self->export_bar), TRUE);
  self->export_tick = g_timeout_add (100, export_tick_cb, self);

  task = g_task_new (self->session, NULL, exported_cb, g_object_ref (self));
  g_task_set_task_data (task, export, export_free);
  sm_session_run_in_thread (self->session, task, export_thread);
  return TRUE;
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

      sm_sessions_page_export (self, id, format, path);
    }
  g_object_unref (chooser);
}

static void
export_session (SmSessionsPage *self,
                gint64          id,
                const char     *format)
{
  const SmSessionInfo *info = find_info (self, id);
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkFileChooserNative *chooser;
  g_autofree char *name = NULL;

  if (info == NULL)
    return;
  chooser = gtk_file_chooser_native_new (_("Export Session"), GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                         GTK_FILE_CHOOSER_ACTION_SAVE, _("_Export"), _("_Cancel"));
  name = g_strdup_printf ("%s.%s", info->name, format);
  g_strdelimit (name, "/:", '-');
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), name);
  g_object_set_data_full (G_OBJECT (chooser), "format", g_strdup (format), g_free);
  g_object_set_data (G_OBJECT (chooser), "session-id", GSIZE_TO_POINTER (id));
  g_signal_connect (chooser, "response", G_CALLBACK (chooser_response_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
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

/* Under the pages while an export runs: what, how far, and a way out. */
static GtkWidget *
make_export_bar (SmSessionsPage *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *cancel = gtk_button_new_with_mnemonic (_("_Cancel"));

  gtk_widget_add_css_class (box, "toolbar");
  self->export_label = gtk_label_new (NULL);
  gtk_label_set_ellipsize (GTK_LABEL (self->export_label), PANGO_ELLIPSIZE_MIDDLE);
  self->export_progress = gtk_progress_bar_new ();
  gtk_widget_set_hexpand (self->export_progress, TRUE);
  gtk_widget_set_valign (self->export_progress, GTK_ALIGN_CENTER);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->export_progress), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Export progress"), -1);
  g_signal_connect_swapped (cancel, "clicked", G_CALLBACK (export_cancel_cb), self);
  gtk_box_append (GTK_BOX (box), self->export_label);
  gtk_box_append (GTK_BOX (box), self->export_progress);
  gtk_box_append (GTK_BOX (box), cancel);

  self->export_bar = gtk_revealer_new ();
  gtk_revealer_set_transition_type (GTK_REVEALER (self->export_bar), GTK_REVEALER_TRANSITION_TYPE_SLIDE_UP);
  gtk_revealer_set_child (GTK_REVEALER (self->export_bar), box);
  return self->export_bar;
}

static void
sm_sessions_page_dispose (GObject *object)
{
  SmSessionsPage *self = SM_SESSIONS_PAGE (object);

  g_cancellable_cancel (self->cancellable);
  if (self->export != NULL)
    g_cancellable_cancel (self->export->cancellable);
  sm_sessions_page_set_session (self, NULL);
  G_OBJECT_CLASS (sm_sessions_page_parent_class)->dispose (object);
}

static void
sm_sessions_page_finalize (GObject *object)
{
  SmSessionsPage *self = SM_SESSIONS_PAGE (object);

  g_clear_object (&self->cancellable);
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
  widget_class->map = sm_sessions_page_map;

  /**
   * SmSessionsPage::exported:
   * @ok: whether the file was written
   *
   * An export started from the page has ended (its toast says how).
   */
  signals[EXPORTED] = g_signal_new ("exported", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                    NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_BOOLEAN);

  gtk_widget_class_install_action (widget_class, "sessions.open", "x", open_action_cb);
  gtk_widget_class_install_action (widget_class, "sessions.back", NULL, back_action_cb);
  gtk_widget_class_install_action (widget_class, "sessions.compare", NULL, compare_action_cb);
  gtk_widget_class_install_action (widget_class, "sessions.delete", "x", delete_action_cb);
  gtk_widget_class_install_action (widget_class, "sessions.rename", "x", rename_action_cb);
  gtk_widget_class_install_action (widget_class, "sessions.export-csv", "x", export_csv_action_cb);
  gtk_widget_class_install_action (widget_class, "sessions.export-json", "x", export_json_action_cb);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "sessions.back", NULL);
}

/* A sub-page (replay, comparison): a back button and a title above the
 * content, all in a scrolled window (returned), the content's box in @box. */
static GtkWidget *
make_subpage (GtkWidget **box,
              GtkWidget **title)
{
  GtkWidget *head = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *back = gtk_button_new_from_icon_name ("go-previous-symbolic");
  GtkWidget *scrolled = gtk_scrolled_window_new ();

  *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  gtk_widget_set_tooltip_text (back, _("Back to the Sessions (Escape)"));
  gtk_actionable_set_action_name (GTK_ACTIONABLE (back), "sessions.back");
  *title = gtk_label_new ("");
  gtk_widget_add_css_class (*title, "title-4");
  gtk_label_set_ellipsize (GTK_LABEL (*title), PANGO_ELLIPSIZE_MIDDLE);
  gtk_box_append (GTK_BOX (head), back);
  gtk_box_append (GTK_BOX (head), *title);
  gtk_box_append (GTK_BOX (*box), head);
  gtk_widget_set_margin_top (*box, 12);
  gtk_widget_set_margin_bottom (*box, 12);
  gtk_widget_set_margin_start (*box, 12);
  gtk_widget_set_margin_end (*box, 12);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scrolled), *box);
  return scrolled;
}

static GtkWidget *
make_replay (SmSessionsPage *self)
{
  GtkWidget *box;
  GtkWidget *scrolled = make_subpage (&box, &self->replay_title);

  for (guint c = 0; c < G_N_ELEMENTS (replay_charts); c++)
    {
      self->charts[c] = SM_CHART (sm_chart_new (_(replay_charts[c].title), replay_charts[c].unit));
      for (guint s = 0; s < G_N_ELEMENTS (replay_charts[c].metrics) && replay_charts[c].metrics[s] != NULL; s++)
        sm_chart_add_series (self->charts[c], sm_chart_series_new (_(replay_charts[c].names[s]), REPLAY_POINTS),
                             c == 2 && s == 1);
      sm_chart_set_log_scale (self->charts[c], replay_charts[c].log_scale);
      gtk_widget_set_size_request (GTK_WIDGET (self->charts[c]), -1, 220);
      gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->charts[c]));
    }
  return scrolled;
}

static GtkWidget *
make_compare (SmSessionsPage *self)
{
  GtkWidget *box;
  GtkWidget *scrolled = make_subpage (&box, &self->compare_title);

  self->compare_table = gtk_grid_new ();
  gtk_grid_set_column_spacing (GTK_GRID (self->compare_table), 24);
  gtk_grid_set_row_spacing (GTK_GRID (self->compare_table), 6);
  gtk_box_append (GTK_BOX (box), self->compare_table);

  for (guint c = 0; c < 2; c++)
    {
      /* Both runs from their starts, over the shorter one. */
      self->compare_charts[c] = SM_CHART (sm_chart_new (_(compared[c].name), compared[c].unit));
      sm_chart_add_series (self->compare_charts[c], sm_chart_series_new ("A", REPLAY_POINTS), FALSE);
      sm_chart_add_series (self->compare_charts[c], sm_chart_series_new ("B", REPLAY_POINTS), FALSE);
      sm_chart_set_log_scale (self->compare_charts[c], c == 0);
      gtk_widget_set_size_request (GTK_WIDGET (self->compare_charts[c]), -1, 220);
      gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->compare_charts[c]));
    }
  return scrolled;
}

static void
sm_sessions_page_init (SmSessionsPage *self)
{
  GtkWidget *empty = adw_status_page_new ();
  GtkWidget *scrolled = gtk_scrolled_window_new ();
  GtkWidget *clamp = adw_clamp_new ();
  GtkWidget *page = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);

  self->cancellable = g_cancellable_new ();
  self->infos = g_ptr_array_new ();
  self->deleting = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);

  adw_status_page_set_icon_name (ADW_STATUS_PAGE (empty), "document-open-recent-symbolic");
  adw_status_page_set_title (ADW_STATUS_PAGE (empty), _("No Recorded Sessions"));
  adw_status_page_set_description (ADW_STATUS_PAGE (empty),
                                   _("Every run of the load is recorded; past sessions can be replayed and "
                                     "exported from here."));

  self->list = GTK_LIST_BOX (gtk_list_box_new ());
  gtk_list_box_set_selection_mode (self->list, GTK_SELECTION_NONE);
  gtk_widget_add_css_class (GTK_WIDGET (self->list), "boxed-list");
  gtk_widget_set_valign (GTK_WIDGET (self->list), GTK_ALIGN_START);
  gtk_widget_set_margin_top (GTK_WIDGET (self->list), 24);
  gtk_widget_set_margin_bottom (GTK_WIDGET (self->list), 24);
  gtk_widget_set_margin_start (GTK_WIDGET (self->list), 12);
  gtk_widget_set_margin_end (GTK_WIDGET (self->list), 12);
  adw_clamp_set_maximum_size (ADW_CLAMP (clamp), 900);
  {
    GtkWidget *column = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);

    self->compare_button = gtk_button_new_with_mnemonic (_("_Compare the Two Selected"));
    gtk_actionable_set_action_name (GTK_ACTIONABLE (self->compare_button), "sessions.compare");
    gtk_widget_set_halign (self->compare_button, GTK_ALIGN_END);
    gtk_widget_set_margin_top (self->compare_button, 12);
    gtk_widget_set_margin_end (self->compare_button, 12);
    gtk_widget_set_sensitive (self->compare_button, FALSE);
    gtk_box_append (GTK_BOX (column), self->compare_button);
    gtk_box_append (GTK_BOX (column), GTK_WIDGET (self->list));
    adw_clamp_set_child (ADW_CLAMP (clamp), column);
  }
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scrolled), clamp);

  self->stack = gtk_stack_new ();
  gtk_stack_add_named (GTK_STACK (self->stack), empty, "empty");
  gtk_stack_add_named (GTK_STACK (self->stack), scrolled, "list");
  gtk_stack_add_named (GTK_STACK (self->stack), make_replay (self), "replay");
  gtk_stack_add_named (GTK_STACK (self->stack), make_compare (self), "compare");
  gtk_widget_set_vexpand (self->stack, TRUE);
  gtk_box_append (GTK_BOX (page), self->stack);
  gtk_box_append (GTK_BOX (page), make_export_bar (self));
  adw_bin_set_child (ADW_BIN (self), page);
}

GtkWidget *
sm_sessions_page_new (void)
{
  return g_object_new (SM_TYPE_SESSIONS_PAGE, NULL);
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

SmSession *
sm_sessions_page_get_session (SmSessionsPage *self)
{
  g_return_val_if_fail (SM_IS_SESSIONS_PAGE (self), NULL);

  return self->session;
}

guint
sm_sessions_page_get_n_sessions (SmSessionsPage *self)
{
  return self->infos->len;
}

SmChart *
sm_sessions_page_get_replay_chart (SmSessionsPage *self,
                                   guint           index)
{
  g_return_val_if_fail (index < G_N_ELEMENTS (replay_charts), NULL);
  return self->charts[index];
}

SmChart *
sm_sessions_page_get_compare_chart (SmSessionsPage *self,
                                    guint           index)
{
  g_return_val_if_fail (index < 2, NULL);
  return self->compare_charts[index];
}
