/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "sm-spin-scroll.h"
#include "sm-tuning-panel.h"

/* The numeric knobs: each a spin row of the template, whose title also
 * names the change on the charts. */
static const struct {
  SmKnob      knob;
  const char *row;        /* the template's ids */
  const char *adjustment;
  double      lower, upper, step;
  double      scale;      /* knob units per shown unit (MiB → bytes) */
} spins[] = {
  { SM_KNOB_THREADS, "threads_row", "threads_adjustment", 1, SM_ENGINE_MAX_THREADS, 1, 1 },
  { SM_KNOB_MAX_BATCH, "max_batch_row", "max_batch_adjustment", 1, SM_ENGINE_MAX_BATCH, 1, 1 },
  { SM_KNOB_MAX_WAIT_US, "max_wait_row", "max_wait_adjustment", 0, 100000, 50, 1 },
  { SM_KNOB_CACHE_SIZE, "cache_row", "cache_adjustment", 0, 1000000, 256, 1 },
  { SM_KNOB_POOL_LIMIT, "pool_limit_row", "pool_limit_adjustment", 8, 65536, 8, 1048576 },
};

struct _SmTuningPanel
{
  AdwBin                parent_instance;

  /* Template widgets */
  AdwComboRow          *backend_row;
  AdwComboRow          *gpu_row;
  AdwComboRow          *precision_row;
  AdwComboRow          *mode_row;
  AdwComboRow          *preset_row;
  AdwPreferencesGroup  *workload_group;
  AdwPreferencesRow    *spin_rows[G_N_ELEMENTS (spins)];
  GtkAdjustment        *adjustments[G_N_ELEMENTS (spins)];
  GtkSwitch            *consensus;

  /* Borrowed: the domain rows' adjustments, owned by their spin buttons */
  GtkAdjustment        *mix[SM_N_DOMAINS];

  /* Owned */
  SmSession            *session;
  gboolean              updating;      /* showing the engine's values: no changes */
  guint                 settle_id;     /* applies the spin rows in `unsettled` */
  guint                 unsettled;     /* bit i: spins[i] changed, not applied yet */
};

/* A burst of clicks on one spin button (32 → 28 in half a second) is one
 * change: applied, recorded and marked once, when the value has rested
 * this long. */
#define SETTLE_MS 400

enum {
  PROP_0,
  PROP_SESSION,
  N_PROPS
};

G_DEFINE_FINAL_TYPE (SmTuningPanel, sm_tuning_panel, ADW_TYPE_BIN)

static GParamSpec *properties[N_PROPS];

/* Under the weights' row, what the precision chosen costs this model
 * against f32 (measured when it loaded): a number, not a promise. */
static void
show_precision_cost (SmTuningPanel *self)
{
  SmPrecision precision = sm_engine_get_precision (sm_session_get_engine (self->session));
  g_autofree char *text = NULL;
  SmPrecisionError cost;

  if (precision == SM_PRECISION_F32)
    text = g_strdup (_("Full precision: 4 bytes a weight"));
  else if (sm_engine_get_precision_error (sm_session_get_engine (self->session), precision, &cost))
    text = g_strdup_printf (_("Outputs within %.2g %% of f32's largest (measured on a calibration batch)"),
                            100 * cost.max_rel);
  else
    text = g_strdup (_("Error not measured"));
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self->precision_row), text);
}

/* Shows the engine's current values (after a change from anywhere). */
static void
sync_from_engine (SmTuningPanel *self)
{
  SmAdvisor *advisor;

  if (self->session == NULL)
    return;
  advisor = sm_session_get_advisor (self->session);
  self->updating = TRUE;
  adw_combo_row_set_selected (self->backend_row, (guint) sm_advisor_get_knob (advisor, SM_KNOB_BACKEND));
  adw_combo_row_set_selected (self->gpu_row, (guint) sm_advisor_get_knob (advisor, SM_KNOB_GPU_MODE));
  {
    g_autofree char *status = sm_engine_dup_gpu_status (sm_session_get_engine (self->session));

    adw_action_row_set_subtitle (ADW_ACTION_ROW (self->gpu_row), status);
  }
  adw_combo_row_set_selected (self->precision_row, (guint) sm_advisor_get_knob (advisor, SM_KNOB_PRECISION));
  show_precision_cost (self);
  /* A value the user is still settling on stays as it is. */
  for (guint i = 0; i < G_N_ELEMENTS (spins); i++)
    if (!(self->unsettled & (1u << i)))
      gtk_adjustment_set_value (self->adjustments[i], sm_advisor_get_knob (advisor, spins[i].knob) / spins[i].scale);
  gtk_switch_set_active (self->consensus, sm_engine_get_consensus (sm_session_get_engine (self->session)));
  self->updating = FALSE;
}

static void
backend_selected_cb (SmTuningPanel *self)
{
  guint selected = adw_combo_row_get_selected (self->backend_row);
  g_autofree char *what = NULL;

  if (self->updating || self->session == NULL || selected >= SM_N_BACKENDS)
    return;
  what = g_strdup_printf (_("Kernels: %s → %s"),
                          sm_backend_get_name ((SmBackend) sm_advisor_get_knob (sm_session_get_advisor (self->session),
                                                                                SM_KNOB_BACKEND)),
                          sm_backend_get_name ((SmBackend) selected));
  sm_session_set_knob (self->session, SM_KNOB_BACKEND, selected, what);
}

/* On and auto upload the model first (and auto times it): the change
 * arrives, or fails with its reason, through "knob-changed". */
static void
gpu_selected_cb (SmTuningPanel *self)
{
  static const char * const modes[] = { N_("off"), N_("on"), N_("auto") };
  guint selected = adw_combo_row_get_selected (self->gpu_row);
  g_autofree char *what = NULL;

  if (self->updating || self->session == NULL || selected >= G_N_ELEMENTS (modes))
    return;
  what = g_strdup_printf (_("GPU: %s"), _(modes[selected]));
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self->gpu_row),
                               selected == SM_GPU_OFF ? "" : _("Uploading the model…"));
  sm_session_set_knob (self->session, SM_KNOB_GPU_MODE, selected, what);
}

static void
precision_selected_cb (SmTuningPanel *self)
{
  guint selected = adw_combo_row_get_selected (self->precision_row);
  g_autofree char *what = NULL;

  if (self->updating || self->session == NULL || selected >= SM_PRECISION_N_KINDS)
    return;
  what = g_strdup_printf (_("Weights: %s → %s"),
                          sm_precision_get_name (sm_engine_get_precision (sm_session_get_engine (self->session))),
                          sm_precision_get_name ((SmPrecision) selected));
  sm_session_set_knob (self->session, SM_KNOB_PRECISION, selected, what);
}

/* "Worker _Threads" → "Worker Threads": the title without its mnemonic. */
static char *
strip_mnemonic (const char *title)
{
  GString *plain = g_string_new (NULL);

  for (const char *c = title; *c != '\0'; c++)
    if (*c != '_' || c[1] == '_')
      g_string_append_c (plain, *c == '_' ? *++c : *c);
  return g_string_free (plain, FALSE);
}

static gboolean
settle_cb (gpointer data)
{
  SmTuningPanel *self = data;

  self->settle_id = 0;
  for (guint i = 0; i < G_N_ELEMENTS (spins); i++)
    if (self->unsettled & (1u << i))
      {
        g_autofree char *title = strip_mnemonic (adw_preferences_row_get_title (self->spin_rows[i]));
        /* From what to what: the engine still has the old value. */
        double before = sm_advisor_get_knob (sm_session_get_advisor (self->session), spins[i].knob) / spins[i].scale;
        g_autofree char *what = g_strdup_printf ("%s: %g → %g", title, before,
                                                 gtk_adjustment_get_value (self->adjustments[i]));

        sm_session_set_knob (self->session, spins[i].knob,
                             gtk_adjustment_get_value (self->adjustments[i]) * spins[i].scale, what);
      }
  self->unsettled = 0;
  return G_SOURCE_REMOVE;
}

static void
spin_changed_cb (GtkAdjustment *adjustment,
                 SmTuningPanel *self)
{
  if (self->updating || self->session == NULL)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (spins); i++)
    if (self->adjustments[i] == adjustment)
      self->unsettled |= 1u << i;
  g_clear_handle_id (&self->settle_id, g_source_remove);
  self->settle_id = g_timeout_add (SETTLE_MS, settle_cb, self);
}

static void
consensus_cb (SmTuningPanel *self)
{
  if (self->updating || self->session == NULL)
    return;
  /* A flag read per query: setting it waits for nothing. */
  sm_engine_set_consensus (sm_session_get_engine (self->session), gtk_switch_get_active (self->consensus));
}

/* What the chosen arrivals mean, under their row (one text for the mode
 * shown, not one for a mode that is not). */
static void
describe_mode (SmTuningPanel *self)
{
  static const char * const descriptions[] = {
    N_("Queries arrive at random, at the toolbar's rate on average, as requests from many users do"),
    N_("Queries arrive evenly spaced, at the toolbar's rate"),
    N_("The toolbar's rate is the number of queries kept outstanding: each answer sends the next"),
  };
  guint mode = adw_combo_row_get_selected (self->mode_row);

  G_STATIC_ASSERT (SM_WORKLOAD_POISSON == 0 && SM_WORKLOAD_CONSTANT == 1 && SM_WORKLOAD_CLOSED == 2);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self->mode_row),
                               mode < G_N_ELEMENTS (descriptions) ? _(descriptions[mode]) : "");
}

static void
workload_changed_cb (SmTuningPanel *self)
{
  double mix[SM_N_DOMAINS];

  describe_mode (self);
  if (self->updating || self->session == NULL)
    return;
  for (guint d = 0; d < SM_N_DOMAINS; d++)
    mix[d] = gtk_adjustment_get_value (self->mix[d]);
  sm_session_set_workload (self->session, (SmWorkloadMode) adw_combo_row_get_selected (self->mode_row), mix);
}

static void
preset_selected_cb (SmTuningPanel *self)
{
  guint selected = adw_combo_row_get_selected (self->preset_row);

  if (self->updating || self->session == NULL || selected >= SM_N_PRESETS)
    return;
  sm_session_load_model (self->session, (SmPreset) selected, NULL);
}

static void
model_chosen_cb (GtkNativeDialog *chooser,
                 int              response,
                 SmTuningPanel   *self)
{
  if (response == GTK_RESPONSE_ACCEPT && self->session != NULL)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      g_autofree char *path = g_file_get_path (file);

      sm_session_load_model (self->session, SM_PRESET_STANDARD, path);
    }
  g_object_unref (chooser);
}

static void
open_model_cb (SmTuningPanel *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkFileChooserNative *chooser = gtk_file_chooser_native_new (_("Open a Model"),
                                                               GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                                               GTK_FILE_CHOOSER_ACTION_OPEN, _("_Open"), _("_Cancel"));
  GtkFileFilter *filter = gtk_file_filter_new ();

  gtk_file_filter_set_name (filter, _("Safetensors models"));
  gtk_file_filter_add_pattern (filter, "*.safetensors");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
  g_object_unref (filter);
  g_signal_connect (chooser, "response", G_CALLBACK (model_chosen_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static GtkWidget *
spin_row (const char    *title,
          const char    *subtitle,
          GtkAdjustment *adjustment)
{
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *spin = gtk_spin_button_new (adjustment, 1, 0);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_preferences_row_set_use_underline (ADW_PREFERENCES_ROW (row), TRUE);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  gtk_widget_set_valign (spin, GTK_ALIGN_CENTER);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), spin);
  adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), spin);
  return row;
}

static void
sm_tuning_panel_dispose (GObject *object)
{
  sm_tuning_panel_set_session (SM_TUNING_PANEL (object), NULL);
  gtk_widget_dispose_template (GTK_WIDGET (object), SM_TYPE_TUNING_PANEL);
  G_OBJECT_CLASS (sm_tuning_panel_parent_class)->dispose (object);
}

static void
sm_tuning_panel_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  SmTuningPanel *self = SM_TUNING_PANEL (object);

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
sm_tuning_panel_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  SmTuningPanel *self = SM_TUNING_PANEL (object);

  switch (prop_id)
    {
    case PROP_SESSION:
      sm_tuning_panel_set_session (self, g_value_get_object (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sm_tuning_panel_class_init (SmTuningPanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = sm_tuning_panel_dispose;
  object_class->get_property = sm_tuning_panel_get_property;
  object_class->set_property = sm_tuning_panel_set_property;

  /**
   * SmTuningPanel:session:
   *
   * The session whose engine the knobs change, or %NULL (the panel idles).
   */
  properties[PROP_SESSION] =
    g_param_spec_object ("session", NULL, NULL,
                         SM_TYPE_SESSION,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class, RESOURCE_PREFIX "/ui/sm-tuning-panel.ui");
  gtk_widget_class_bind_template_child (widget_class, SmTuningPanel, backend_row);
  gtk_widget_class_bind_template_child (widget_class, SmTuningPanel, gpu_row);
  gtk_widget_class_bind_template_child (widget_class, SmTuningPanel, precision_row);
  gtk_widget_class_bind_template_child (widget_class, SmTuningPanel, mode_row);
  gtk_widget_class_bind_template_child (widget_class, SmTuningPanel, preset_row);
  gtk_widget_class_bind_template_child (widget_class, SmTuningPanel, workload_group);
  gtk_widget_class_bind_template_child (widget_class, SmTuningPanel, consensus);
  for (guint i = 0; i < G_N_ELEMENTS (spins); i++)
    {
      gtk_widget_class_bind_template_child_full (widget_class, spins[i].row, FALSE,
                                                 G_STRUCT_OFFSET (SmTuningPanel, spin_rows[i]));
      gtk_widget_class_bind_template_child_full (widget_class, spins[i].adjustment, FALSE,
                                                 G_STRUCT_OFFSET (SmTuningPanel, adjustments[i]));
    }
  gtk_widget_class_bind_template_callback (widget_class, backend_selected_cb);
  gtk_widget_class_bind_template_callback (widget_class, gpu_selected_cb);
  gtk_widget_class_bind_template_callback (widget_class, precision_selected_cb);
  gtk_widget_class_bind_template_callback (widget_class, consensus_cb);
  gtk_widget_class_bind_template_callback (widget_class, workload_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, open_model_cb);
}

/* The Kernels list: a level this machine lacks is shown, greyed, with
 * the reason, and cannot be picked (rather than picked and refused). */
static void
backend_item_setup_cb (GtkSignalListItemFactory *factory,
                       GtkListItem              *item)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_list_item_set_child (item, label);
}

static void
backend_item_bind_cb (GtkSignalListItemFactory *factory,
                      GtkListItem              *item)
{
  GtkWidget *label = gtk_list_item_get_child (item);
  SmBackend backend = (SmBackend) gtk_list_item_get_position (item);
  const char *reason = NULL;
  gboolean available = backend < SM_N_BACKENDS && sm_backend_get_kernels (backend, &reason) != NULL;
  g_autofree char *text = available || reason == NULL
                          ? g_strdup (sm_backend_get_name (backend))
                          : g_strdup_printf (_("%s — %s"), sm_backend_get_name (backend), reason);

  gtk_label_set_text (GTK_LABEL (label), text);
  gtk_widget_set_sensitive (label, available);
  gtk_list_item_set_activatable (item, available);
  gtk_list_item_set_selectable (item, available);
}

static void
sm_tuning_panel_init (SmTuningPanel *self)
{
  g_autoptr(GtkListItemFactory) backend_items = gtk_signal_list_item_factory_new ();
  g_autoptr(GtkStringList) backends = gtk_string_list_new (NULL);
  g_autoptr(GtkStringList) presets = gtk_string_list_new (NULL);

  gtk_widget_init_template (GTK_WIDGET (self));
  sm_spin_scroll_guard (GTK_WIDGET (self));
  describe_mode (self);

  /* What the engine names and counts, the template cannot list. */
  for (guint b = 0; b < SM_N_BACKENDS; b++)
    gtk_string_list_append (backends, sm_backend_get_name ((SmBackend) b));
  adw_combo_row_set_model (self->backend_row, G_LIST_MODEL (backends));
  g_signal_connect (backend_items, "setup", G_CALLBACK (backend_item_setup_cb), NULL);
  g_signal_connect (backend_items, "bind", G_CALLBACK (backend_item_bind_cb), NULL);
  adw_combo_row_set_list_factory (self->backend_row, backend_items);

  for (guint i = 0; i < G_N_ELEMENTS (spins); i++)
    {
      gtk_adjustment_configure (self->adjustments[i], spins[i].lower, spins[i].lower, spins[i].upper, spins[i].step,
                                spins[i].step * 10, 0);
      g_signal_connect (self->adjustments[i], "value-changed", G_CALLBACK (spin_changed_cb), self);
    }

  for (guint p = 0; p < SM_N_PRESETS; p++)
    gtk_string_list_append (presets, sm_preset_get_name ((SmPreset) p));
  adw_combo_row_set_model (self->preset_row, G_LIST_MODEL (presets));
  adw_combo_row_set_selected (self->preset_row, SM_PRESET_STANDARD);
  g_signal_connect_swapped (self->preset_row, "notify::selected", G_CALLBACK (preset_selected_cb), self);

  for (guint d = 0; d < SM_N_DOMAINS; d++)
    {
      g_autofree char *title = g_strdup_printf (_("%s share"), sm_domain_get_name ((SmDomain) d));

      self->mix[d] = gtk_adjustment_new (1, 0, 10, 1, 1, 0);
      g_signal_connect_swapped (self->mix[d], "value-changed", G_CALLBACK (workload_changed_cb), self);
      adw_preferences_group_add (self->workload_group,
                                 spin_row (title, _("Relative weight of its queries"), self->mix[d]));
    }
}

GtkWidget *
sm_tuning_panel_new (void)
{
  return g_object_new (SM_TYPE_TUNING_PANEL, NULL);
}

void
sm_tuning_panel_set_session (SmTuningPanel *self,
                             SmSession     *session)
{
  g_return_if_fail (SM_IS_TUNING_PANEL (self));
  g_return_if_fail (session == NULL || SM_IS_SESSION (session));

  if (self->session == session)
    return;
  /* Changes still settling belong to the session they were made in. */
  if (self->settle_id != 0)
    {
      g_source_remove (self->settle_id);
      settle_cb (self);
    }
  if (sm_session_watch (&self->session, session, self))
    {
      /* A change (here, or an applied recommendation) shows its real
       * value, and a refused one springs back. */
      g_signal_connect_swapped (session, "knob-changed", G_CALLBACK (sync_from_engine), self);
      sync_from_engine (self);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SESSION]);
}

SmSession *
sm_tuning_panel_get_session (SmTuningPanel *self)
{
  g_return_val_if_fail (SM_IS_TUNING_PANEL (self), NULL);

  return self->session;
}
