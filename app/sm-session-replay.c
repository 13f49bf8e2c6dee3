/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include <string.h>

#include "sm-metric-ids.h"
#include "sm-metric-series.h"
#include "sm-report.h"
#include "sm-session-replay.h"
#include "sm-store-async.h"

/* What a replay charts, as the dashboard did live: metric, legend name;
 * per chart, with the series drawn dashed (a limit), or -1; and whether it
 * is shown only for a session that used it (the GPU's, as live). */
static const struct {
  const char *title;
  const char *unit;
  gboolean    log_scale;
  const char *metrics[3];
  const char *names[3];
  int         dashed;
  gboolean    if_used;
} replay_charts[] = {
  { N_("End-to-end latency"), "µs", TRUE, { SM_METRIC_ID_LATENCY_P50, SM_METRIC_ID_LATENCY_P90, SM_METRIC_ID_LATENCY_P99 },
    { "p50", "p90", "p99" }, -1 },
  { N_("Throughput"), "ops/s", FALSE, { SM_METRIC_ID_THROUGHPUT }, { N_("answered") }, -1 },
  { N_("Memory pool"), "MiB", FALSE, { SM_METRIC_ID_POOL_IN_USE, SM_METRIC_ID_POOL_RESERVED, SM_METRIC_ID_POOL_LIMIT },
    { N_("in use"), N_("reserved"), N_("limit") }, 2 },
  { N_("Fragmentation"), "%", FALSE, { SM_METRIC_ID_POOL_FRAGMENTATION }, { N_("fragmentation") }, -1 },
  { N_("Queue and batches"), "", FALSE, { SM_METRIC_ID_QUEUE_DEPTH, SM_METRIC_ID_MEAN_BATCH },
    { N_("queue depth"), N_("mean batch") }, -1 },
  { N_("GPU busy"), "%", FALSE, { SM_METRIC_ID_GPU_BUSY }, { N_("busy") }, -1, TRUE },
  { N_("GPU batches"), "batches/s", FALSE, { SM_METRIC_ID_GPU_BATCHES }, { N_("batches") }, -1, TRUE },
  { N_("GPU stage latency"), "µs", TRUE, { SM_METRIC_ID_STAGE_GPU_P50, SM_METRIC_ID_STAGE_GPU_P99 },
    { "p50", "p99" }, -1, TRUE },
};

/* The mesh peers' own figures, recorded as "peer.<fingerprint>.<figure>":
 * a chart per figure, a series per peer. */
static const struct {
  const char *title;
  const char *unit;
  gboolean    log_scale;
  const char *figure;
} peer_charts[] = {
  { N_("Peers' throughput"), "ops/s", FALSE, SM_METRIC_PEER_THROUGHPUT },
  { N_("Peers' p99 latency"), "µs", TRUE, SM_METRIC_PEER_P99 },
};

/* Buckets read per series: a point every pixel or two of a wide chart,
 * however long the session. */
#define REPLAY_POINTS 1200

struct _SmSessionReplay
{
  AdwBin        parent_instance;

  /* Template widgets */
  GtkBox       *box;
  GtkLabel     *title;

  /* Borrowed: the charts live in @box, the peers' in @peers_box */
  SmChart      *charts[G_N_ELEMENTS (replay_charts)];
  GtkBox       *peers_box;
  gint64        shown_id;       /* the session shown, -1 before one */
  gint64        length_ms;
  char         *shown_name;
  char         *shown_settings; /* for its report */

  /* Owned */
  SmSession    *session;
  GCancellable *cancellable;    /* the reads of the session shown */
};

enum {
  PROP_0,
  PROP_SESSION,
  N_PROPS
};

G_DEFINE_FINAL_TYPE (SmSessionReplay, sm_session_replay, ADW_TYPE_BIN)

static GParamSpec *properties[N_PROPS];

/* One series being read: where its points go. */
typedef struct
{
  SmChart       *chart;
  SmChartSeries *series;
} Read;

static void
read_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autofree Read *read = user_data;
  g_autoptr(GArray) points = sm_store_read_metric_finish (NULL, result, NULL);

  /* Nothing when cancelled: the replay (and the series) may be gone, or
   * show another session now.  A metric the session lacks stays empty. */
  if (points == NULL)
    return;
  for (guint i = 0; i < points->len; i++)
    {
      SmStorePoint *p = &g_array_index (points, SmStorePoint, i);

      sm_chart_series_append (read->series, p->t_ms / 1000.0, p->mean);
      /* A chart shown only if used: it was. */
      if (p->max > 0)
        gtk_widget_set_visible (GTK_WIDGET (read->chart), TRUE);
    }
  sm_chart_set_window (read->chart, 0);
  sm_chart_samples_added (read->chart);
}

/* The changes made during the session, marked where they were made, as
 * they were live. */
static void
events_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  static const char * const marked[] = { "knob", "load", "model", "workload", NULL };
  g_autoptr(GPtrArray) events = sm_store_list_finish (NULL, result, NULL);
  SmSessionReplay *self = user_data;

  /* Cancelled (@self may be gone), or unreadable: no markers. */
  if (events == NULL)
    return;
  for (guint i = 0; i < events->len; i++)
    {
      SmStoreEvent *event = g_ptr_array_index (events, i);

      if (g_strv_contains (marked, event->kind ?: ""))
        for (guint c = 0; c < G_N_ELEMENTS (replay_charts); c++)
          sm_chart_add_marker (self->charts[c], event->t_ms / 1000.0, event->detail);
    }
}

/* What a report says of the run: when and where it ran, on what, and
 * every setting it recorded. */
static char *
describe_run (const SmSessionInfo *info,
              gint64               length_ms)
{
  g_autoptr(GDateTime) started = g_date_time_new_from_unix_local (info->started_ms / 1000);
  g_autofree char *when = started != NULL ? g_date_time_format (started, "%Y-%m-%d %H:%M:%S") : g_strdup ("?");

  return g_strdup_printf (_("Recorded %s for %.0f s on %s (%s). Model %s. Settings: %s"), when, length_ms / 1000.0,
                          info->host ?: _("an unnamed host"), info->cpu ?: _("an unknown CPU"),
                          info->model ?: _("unknown"), info->config ?: _("none recorded"));
}

/* The peers whose figures the session recorded: their charts, read. */
static void
peer_metrics_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GPtrArray) metrics = sm_store_list_finish (NULL, result, NULL);
  SmSessionReplay *self = user_data;
  SmStore *store;

  /* Cancelled (@self may be gone), or unreadable: no peers' charts. */
  if (metrics == NULL || self->session == NULL || (store = sm_session_get_store (self->session)) == NULL)
    return;
  for (guint c = 0; c < G_N_ELEMENTS (peer_charts); c++)
    {
      g_autofree char *suffix = g_strconcat (".", peer_charts[c].figure, NULL);
      g_autofree char *name_suffix = NULL;
      SmChart *chart = NULL;

      for (guint i = 0; i < metrics->len; i++)
        {
          SmStoreMetric *metric = g_ptr_array_index (metrics, i);
          g_autofree char *legend = NULL;
          Read *read;

          if (!g_str_has_suffix (metric->key, suffix))
            continue;
          if (chart == NULL)
            {
              chart = SM_CHART (sm_chart_new (_(peer_charts[c].title), peer_charts[c].unit));
              sm_chart_set_log_scale (chart, peer_charts[c].log_scale);
              gtk_widget_set_size_request (GTK_WIDGET (chart), -1, 220);
              gtk_box_append (self->peers_box, GTK_WIDGET (chart));
            }
          if (sm_chart_get_n_series (chart) == SM_CHART_MAX_SERIES)
            break;
          /* "a (59:5d:a8:b4) throughput": the legend is the peer. */
          legend = g_strdup (metric->name);
          if (strrchr (legend, ')') != NULL)
            strrchr (legend, ')')[1] = '\0';
          read = g_new0 (Read, 1);
          read->chart = chart;
          read->series = sm_chart_series_new (legend, REPLAY_POINTS);
          sm_chart_add_series (chart, read->series, FALSE);
          sm_store_read_metric_async (store, self->shown_id, metric->key, 0, self->length_ms,
                                      REPLAY_POINTS, self->cancellable, read_cb, read);
        }
    }
}

static void
sm_session_replay_dispose (GObject *object)
{
  SmSessionReplay *self = SM_SESSION_REPLAY (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->session);
  g_clear_pointer (&self->shown_name, g_free);
  g_clear_pointer (&self->shown_settings, g_free);
  gtk_widget_dispose_template (GTK_WIDGET (self), SM_TYPE_SESSION_REPLAY);
  G_OBJECT_CLASS (sm_session_replay_parent_class)->dispose (object);
}

static void
sm_session_replay_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  SmSessionReplay *self = SM_SESSION_REPLAY (object);

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
sm_session_replay_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  SmSessionReplay *self = SM_SESSION_REPLAY (object);

  switch (prop_id)
    {
    case PROP_SESSION:
      sm_session_replay_set_session (self, g_value_get_object (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sm_session_replay_class_init (SmSessionReplayClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = sm_session_replay_dispose;
  object_class->get_property = sm_session_replay_get_property;
  object_class->set_property = sm_session_replay_set_property;

  /**
   * SmSessionReplay:session:
   *
   * The session whose database the replay reads, or %NULL.
   */
  properties[PROP_SESSION] =
    g_param_spec_object ("session", NULL, NULL,
                         SM_TYPE_SESSION,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class, RESOURCE_PREFIX "/ui/sm-session-replay.ui");
  gtk_widget_class_bind_template_child (widget_class, SmSessionReplay, box);
  gtk_widget_class_bind_template_child (widget_class, SmSessionReplay, title);
}

static void
sm_session_replay_init (SmSessionReplay *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
  self->shown_id = -1;

  /* The charts depend on the table above: built here, not in the template. */
  for (guint c = 0; c < G_N_ELEMENTS (replay_charts); c++)
    {
      self->charts[c] = SM_CHART (sm_chart_new (_(replay_charts[c].title), replay_charts[c].unit));
      for (guint s = 0; s < G_N_ELEMENTS (replay_charts[c].metrics) && replay_charts[c].metrics[s] != NULL; s++)
        sm_chart_add_series (self->charts[c],
                             sm_metric_series_new (replay_charts[c].metrics[s], _(replay_charts[c].names[s]),
                                                   REPLAY_POINTS),
                             replay_charts[c].dashed == (int) s);
      sm_chart_set_log_scale (self->charts[c], replay_charts[c].log_scale);
      gtk_widget_set_size_request (GTK_WIDGET (self->charts[c]), -1, 220);
      gtk_widget_set_visible (GTK_WIDGET (self->charts[c]), !replay_charts[c].if_used);
      gtk_box_append (self->box, GTK_WIDGET (self->charts[c]));
    }
  self->peers_box = GTK_BOX (gtk_box_new (GTK_ORIENTATION_VERTICAL, 12));
  gtk_box_append (self->box, GTK_WIDGET (self->peers_box));
}

GtkWidget *
sm_session_replay_new (void)
{
  return g_object_new (SM_TYPE_SESSION_REPLAY, NULL);
}

SmSession *
sm_session_replay_get_session (SmSessionReplay *self)
{
  g_return_val_if_fail (SM_IS_SESSION_REPLAY (self), NULL);

  return self->session;
}

void
sm_session_replay_set_session (SmSessionReplay *self,
                               SmSession       *session)
{
  g_return_if_fail (SM_IS_SESSION_REPLAY (self));
  g_return_if_fail (session == NULL || SM_IS_SESSION (session));

  if (g_set_object (&self->session, session))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SESSION]);
}

void
sm_session_replay_show (SmSessionReplay     *self,
                        const SmSessionInfo *info)
{
  SmStore *store;
  gint64 length;

  g_return_if_fail (SM_IS_SESSION_REPLAY (self));
  g_return_if_fail (info != NULL);

  store = self->session != NULL ? sm_session_get_store (self->session) : NULL;
  if (store == NULL)
    return;

  /* What the previous session still reads must not land in these charts. */
  g_cancellable_cancel (self->cancellable);
  g_object_unref (self->cancellable);
  self->cancellable = g_cancellable_new ();

  /* Session time runs from 0 to its length (an unfinished one: until now). */
  length = (info->ended_ms > 0 ? info->ended_ms : g_get_real_time () / 1000) - info->started_ms;
  gtk_label_set_text (self->title, info->name);
  for (guint c = 0; c < G_N_ELEMENTS (replay_charts); c++)
    {
      sm_chart_clear_markers (self->charts[c]);
      gtk_widget_set_visible (GTK_WIDGET (self->charts[c]), !replay_charts[c].if_used);
    }
  sm_store_list_events_async (store, info->id, self->cancellable, events_cb, self);
  for (GtkWidget *chart; (chart = gtk_widget_get_first_child (GTK_WIDGET (self->peers_box))) != NULL; )
    gtk_box_remove (self->peers_box, chart);
  self->shown_id = info->id;
  self->length_ms = length;
  g_free (self->shown_name);
  self->shown_name = g_strdup (info->name);
  g_free (self->shown_settings);
  self->shown_settings = describe_run (info, length);
  sm_store_list_metrics_async (store, info->id, SM_METRIC_PEER_PREFIX, self->cancellable, peer_metrics_cb, self);
  for (guint c = 0; c < G_N_ELEMENTS (replay_charts); c++)
    for (guint s = 0; s < sm_chart_get_n_series (self->charts[c]); s++)
      {
        Read *read = g_new0 (Read, 1);

        read->chart = self->charts[c];
        read->series = sm_chart_get_series (self->charts[c], s);
        sm_chart_series_clear (read->series);
        sm_store_read_metric_async (store, info->id, replay_charts[c].metrics[s], 0, length, REPLAY_POINTS,
                                    self->cancellable, read_cb, read);
      }
}

SmChart *
sm_session_replay_get_chart (SmSessionReplay *self,
                             guint            index)
{
  g_return_val_if_fail (SM_IS_SESSION_REPLAY (self), NULL);
  g_return_val_if_fail (index < G_N_ELEMENTS (replay_charts), NULL);

  return self->charts[index];
}

guint
sm_session_replay_get_n_peer_charts (SmSessionReplay *self)
{
  guint n = 0;

  g_return_val_if_fail (SM_IS_SESSION_REPLAY (self), 0);

  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->peers_box)); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    n++;
  return n;
}

SmChart *
sm_session_replay_get_peer_chart (SmSessionReplay *self,
                                  guint            index)
{
  GtkWidget *child;

  g_return_val_if_fail (SM_IS_SESSION_REPLAY (self), NULL);

  child = gtk_widget_get_first_child (GTK_WIDGET (self->peers_box));
  for (guint i = 0; child != NULL && i < index; i++)
    child = gtk_widget_get_next_sibling (child);
  return child != NULL ? SM_CHART (child) : NULL;
}

/* ---- the report of the session shown ---- */

static void
report_recommendations_cb (GObject      *source,
                           GAsyncResult *result,
                           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  SmSessionReplay *self = g_task_get_source_object (task);
  const char *path = g_task_get_task_data (task);
  g_autoptr(GPtrArray) recommendations = NULL;
  g_autoptr(GPtrArray) views = g_ptr_array_new ();
  g_autofree char *title = NULL;
  GError *error = NULL;

  recommendations = sm_store_list_finish (NULL, result, &error);
  if (recommendations == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  for (guint c = 0; c < G_N_ELEMENTS (replay_charts); c++)
    if (gtk_widget_get_visible (GTK_WIDGET (self->charts[c])))
      g_ptr_array_add (views, (gpointer) sm_chart_get_view (self->charts[c]));
  for (guint c = 0; c < sm_session_replay_get_n_peer_charts (self); c++)
    g_ptr_array_add (views, (gpointer) sm_chart_get_view (sm_session_replay_get_peer_chart (self, c)));
  title = g_strdup_printf (_("Synaptic Mesh session: %s"), self->shown_name);
  if (!sm_report_write_pdf (path, title, self->shown_settings, (const SmChartView **) views->pdata, views->len,
                            recommendations, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

void
sm_session_replay_save_report_async (SmSessionReplay     *self,
                                     const char          *path,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  SmStore *store;

  g_return_if_fail (SM_IS_SESSION_REPLAY (self));
  g_return_if_fail (path != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, sm_session_replay_save_report_async);
  g_task_set_task_data (task, g_strdup (path), g_free);
  store = self->session != NULL ? sm_session_get_store (self->session) : NULL;
  if (self->shown_id < 0 || store == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, _("No session is shown"));
      return;
    }
  /* Its own recommendations, with their measured outcomes. */
  sm_store_list_recommendations_async (store, self->shown_id, cancellable, report_recommendations_cb,
                                       g_steal_pointer (&task));
}

gboolean
sm_session_replay_save_report_finish (SmSessionReplay  *self,
                                      GAsyncResult     *result,
                                      GError          **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

const char *
sm_session_replay_get_shown_name (SmSessionReplay *self)
{
  g_return_val_if_fail (SM_IS_SESSION_REPLAY (self), NULL);

  return self->shown_name;
}
