/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "sm-chart-axis.h"
#include "sm-comparison.h"
#include "sm-metric-ids.h"
#include "sm-session-comparison.h"
#include "sm-store-async.h"

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

#define N_CHARTS 2

/* Buckets read per session and metric, as a replay reads them. */
#define COMPARE_POINTS 1200

struct _SmSessionComparison
{
  AdwBin        parent_instance;

  /* Template widgets */
  GtkBox       *box;
  GtkLabel     *title;
  GtkGrid      *table;
  GtkLabel     *settings;

  /* Borrowed: the charts live in @box */
  SmChart      *charts[N_CHARTS];

  /* Owned */
  SmSession    *session;
  GCancellable *cancellable;    /* the comparison being read */
  double        offered[2];     /* A's and B's offered load, queries/s; NaN: unknown */
};

enum {
  PROP_0,
  PROP_SESSION,
  N_PROPS
};

G_DEFINE_FINAL_TYPE (SmSessionComparison, sm_session_comparison, ADW_TYPE_BIN)

static GParamSpec *properties[N_PROPS];

static void
table_cell (GtkGrid    *table,
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
  gtk_grid_attach (table, label, column, row, 1, 1);
}

/* "+3.1 % [+1.2, +5.0] (better)": the change, its 95 % interval when the
 * runs are long enough to have one, and the verdict — as `synmesh
 * sessions compare` writes it. */
static char *
format_change (const SmComparison *c)
{
  if (c->verdict == SM_VERDICT_UNKNOWN)
    return g_strdup ("—");
  if (isnan (c->change_low))
    return g_strdup_printf (_("%+.1f %% (%s; too few samples for an interval)"), c->change,
                            _(sm_verdict_get_name (c->verdict)));
  return g_strdup_printf ("%+.1f %% [%+.1f, %+.1f] (%s)", c->change, c->change_low, c->change_high,
                          _(sm_verdict_get_name (c->verdict)));
}

static void
table_row (SmSessionComparison *self,
           int                  row,
           const char          *name,
           const char          *unit,
           const SmComparison  *summary)
{
  g_autofree char *a_text = sm_chart_format_value (summary->mean_a, unit);
  g_autofree char *b_text = sm_chart_format_value (summary->mean_b, unit);
  g_autofree char *change = format_change (summary);

  table_cell (self->table, name, 0, row, FALSE);
  table_cell (self->table, a_text, 1, row, FALSE);
  table_cell (self->table, b_text, 2, row, FALSE);
  table_cell (self->table, change, 3, row, FALSE);
}

static void
fill_table (SmSessionComparison *self,
            GPtrArray           *points_a,
            GPtrArray           *points_b)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->table))) != NULL)
    gtk_grid_remove (self->table, child);
  table_cell (self->table, _("Mean over the shorter run"), 0, 0, TRUE);
  table_cell (self->table, "A", 1, 0, TRUE);
  table_cell (self->table, "B", 2, 0, TRUE);
  table_cell (self->table, _("B against A"), 3, 0, TRUE);
  for (guint m = 0; m < G_N_ELEMENTS (compared); m++)
    {
      SmComparison summary;

      /* The store's rule, the one `synmesh sessions compare` shows too. */
      sm_comparison_compute (compared[m].metric, g_ptr_array_index (points_a, m), g_ptr_array_index (points_b, m),
                             &summary);
      table_row (self, (int) m + 1, _(compared[m].name), compared[m].unit, &summary);
    }

  /* More answers because more was asked is no gain: with different
   * offered loads, throughput per query offered says what the engine did. */
  if (!isnan (self->offered[0]) && !isnan (self->offered[1]) && self->offered[0] != self->offered[1])
    {
      SmComparison summary;

      G_STATIC_ASSERT (G_N_ELEMENTS (compared) > 1);
      sm_comparison_compute_scaled (SM_METRIC_ID_THROUGHPUT, g_ptr_array_index (points_a, 1), 1 / self->offered[0],
                                    g_ptr_array_index (points_b, 1), 1 / self->offered[1], &summary);
      table_row (self, G_N_ELEMENTS (compared) + 1, _("Answered per query offered"), "", &summary);
    }
}

/* The settings that differ, which explain a difference before the engine
 * does. */
static void
describe_settings (SmSessionComparison *self,
                   const SmSessionInfo *a,
                   const SmSessionInfo *b)
{
  g_autoptr(GPtrArray) differences = sm_comparison_diff_configs (a->config, b->config);
  g_autoptr(GString) text = g_string_new (NULL);

  if (differences == NULL)
    g_string_append (text, _("The settings of one run cannot be read: whether they differ is unknown."));
  else if (differences->len == 0)
    g_string_append (text, _("Same settings and offered load."));
  else
    {
      g_string_append (text, _("Settings that differ:"));
      for (guint i = 0; i < differences->len; i++)
        g_string_append_printf (text, "\n  %s", (char *) g_ptr_array_index (differences, i));
    }
  gtk_label_set_text (self->settings, text->str);
}

static void
compared_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  SmSessionComparison *self;
  g_autoptr(GPtrArray) points_a = NULL;
  g_autoptr(GPtrArray) points_b = NULL;

  /* Cancelled: the widget is gone, or compares two others now. */
  if (!sm_store_compare_finish (NULL, result, &points_a, &points_b, NULL))
    return;
  self = SM_SESSION_COMPARISON (user_data);

  for (guint c = 0; c < N_CHARTS; c++)
    for (guint k = 0; k < 2; k++)
      {
        SmChartSeries *series = sm_chart_get_series (self->charts[c], k);
        GArray *points = g_ptr_array_index (k == 0 ? points_a : points_b, c);

        sm_chart_series_clear (series);
        for (guint i = 0; points != NULL && i < points->len; i++)
          sm_chart_series_append (series, g_array_index (points, SmStorePoint, i).t_ms / 1000.0,
                                  g_array_index (points, SmStorePoint, i).mean);
        sm_chart_set_window (self->charts[c], 0);
        sm_chart_samples_added (self->charts[c]);
      }
  fill_table (self, points_a, points_b);
}

static void
sm_session_comparison_dispose (GObject *object)
{
  SmSessionComparison *self = SM_SESSION_COMPARISON (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->session);
  gtk_widget_dispose_template (GTK_WIDGET (self), SM_TYPE_SESSION_COMPARISON);
  G_OBJECT_CLASS (sm_session_comparison_parent_class)->dispose (object);
}

static void
sm_session_comparison_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  SmSessionComparison *self = SM_SESSION_COMPARISON (object);

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
sm_session_comparison_set_property (GObject      *object,
                                    guint         prop_id,
                                    const GValue *value,
                                    GParamSpec   *pspec)
{
  SmSessionComparison *self = SM_SESSION_COMPARISON (object);

  switch (prop_id)
    {
    case PROP_SESSION:
      sm_session_comparison_set_session (self, g_value_get_object (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sm_session_comparison_class_init (SmSessionComparisonClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = sm_session_comparison_dispose;
  object_class->get_property = sm_session_comparison_get_property;
  object_class->set_property = sm_session_comparison_set_property;

  /**
   * SmSessionComparison:session:
   *
   * The session whose database the comparison reads, or %NULL.
   */
  properties[PROP_SESSION] =
    g_param_spec_object ("session", NULL, NULL,
                         SM_TYPE_SESSION,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class, RESOURCE_PREFIX "/ui/sm-session-comparison.ui");
  gtk_widget_class_bind_template_child (widget_class, SmSessionComparison, box);
  gtk_widget_class_bind_template_child (widget_class, SmSessionComparison, title);
  gtk_widget_class_bind_template_child (widget_class, SmSessionComparison, table);
  gtk_widget_class_bind_template_child (widget_class, SmSessionComparison, settings);
}

static void
sm_session_comparison_init (SmSessionComparison *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
  self->offered[0] = self->offered[1] = NAN;

  for (guint c = 0; c < N_CHARTS; c++)
    {
      /* Both runs from their starts, over the shorter one. */
      self->charts[c] = SM_CHART (sm_chart_new (_(compared[c].name), compared[c].unit));
      sm_chart_add_series (self->charts[c], sm_chart_series_new ("A", COMPARE_POINTS), FALSE);
      sm_chart_add_series (self->charts[c], sm_chart_series_new ("B", COMPARE_POINTS), FALSE);
      sm_chart_set_log_scale (self->charts[c], c == 0);
      gtk_widget_set_size_request (GTK_WIDGET (self->charts[c]), -1, 220);
      gtk_box_append (self->box, GTK_WIDGET (self->charts[c]));
    }
}

GtkWidget *
sm_session_comparison_new (void)
{
  return g_object_new (SM_TYPE_SESSION_COMPARISON, NULL);
}

SmSession *
sm_session_comparison_get_session (SmSessionComparison *self)
{
  g_return_val_if_fail (SM_IS_SESSION_COMPARISON (self), NULL);

  return self->session;
}

void
sm_session_comparison_set_session (SmSessionComparison *self,
                                   SmSession           *session)
{
  g_return_if_fail (SM_IS_SESSION_COMPARISON (self));
  g_return_if_fail (session == NULL || SM_IS_SESSION (session));

  if (g_set_object (&self->session, session))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SESSION]);
}

/* One run's changes, marked on both charts in its series' colour (A's,
 * B's), from its start as the charts are. */
typedef struct
{
  SmSessionComparison *self;
  int                  run;       /* 0: A, 1: B */
} EventsRead;

static void
events_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  static const char * const marked[] = { "knob", "load", "model", "workload", NULL };
  g_autofree EventsRead *read = user_data;
  g_autoptr(GPtrArray) events = sm_store_list_finish (NULL, result, NULL);

  /* Cancelled (the comparison may be gone), or unreadable: no markers. */
  if (events == NULL)
    return;
  for (guint i = 0; i < events->len; i++)
    {
      SmStoreEvent *event = g_ptr_array_index (events, i);

      if (g_strv_contains (marked, event->kind ?: ""))
        {
          g_autofree char *label = g_strdup_printf ("%s: %s", read->run == 0 ? "A" : "B", event->detail ?: "");

          for (guint c = 0; c < N_CHARTS; c++)
            sm_chart_add_series_marker (read->self->charts[c], event->t_ms / 1000.0, read->run, label);
        }
    }
}

void
sm_session_comparison_show (SmSessionComparison *self,
                            const SmSessionInfo *a,
                            const SmSessionInfo *b)
{
  const char *metrics[G_N_ELEMENTS (compared) + 1] = { NULL };
  g_autofree char *title = NULL;
  SmStore *store;

  g_return_if_fail (SM_IS_SESSION_COMPARISON (self));
  g_return_if_fail (a != NULL && b != NULL);

  store = self->session != NULL ? sm_session_get_store (self->session) : NULL;
  if (store == NULL)
    return;

  /* An earlier comparison still being read must not land here. */
  g_cancellable_cancel (self->cancellable);
  g_object_unref (self->cancellable);
  self->cancellable = g_cancellable_new ();

  title = g_strdup_printf (_("A: %s   B: %s"), a->name, b->name);
  gtk_label_set_text (self->title, title);
  describe_settings (self, a, b);
  self->offered[0] = sm_comparison_offered_rate (a->config);
  self->offered[1] = sm_comparison_offered_rate (b->config);
  for (guint m = 0; m < G_N_ELEMENTS (compared); m++)
    metrics[m] = compared[m].metric;
  sm_store_compare_async (store, a->id, b->id, metrics, COMPARE_POINTS, self->cancellable, compared_cb, self);
  for (guint c = 0; c < N_CHARTS; c++)
    sm_chart_clear_markers (self->charts[c]);
  for (int run = 0; run < 2; run++)
    {
      EventsRead *read = g_new (EventsRead, 1);

      read->self = self;
      read->run = run;
      sm_store_list_events_async (store, run == 0 ? a->id : b->id, self->cancellable, events_cb, read);
    }
}

SmChart *
sm_session_comparison_get_chart (SmSessionComparison *self,
                                 guint                index)
{
  g_return_val_if_fail (SM_IS_SESSION_COMPARISON (self), NULL);
  g_return_val_if_fail (index < N_CHARTS, NULL);

  return self->charts[index];
}
