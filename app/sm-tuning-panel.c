/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "sm-tuning-panel.h"

/* The numeric knobs, each a spin row. */
static const struct {
  SmKnob      knob;
  const char *title;
  const char *subtitle;
  double      lower, upper, step;
  double      scale;     /* knob units per shown unit (MiB → bytes) */
} spins[] = {
  { SM_KNOB_THREADS, N_("Worker _Threads"), N_("Threads running batches"), 1, SM_ENGINE_MAX_THREADS, 1, 1 },
  { SM_KNOB_MAX_BATCH, N_("Max _Batch"), N_("Queries one batch may hold"), 1, SM_ENGINE_MAX_BATCH, 1, 1 },
  { SM_KNOB_MAX_WAIT_US, N_("Max _Wait"), N_("µs a batch waits to fill"), 0, 100000, 50, 1 },
  { SM_KNOB_CACHE_SIZE, N_("Result _Cache"), N_("Entries; 0 turns it off"), 0, 1000000, 256, 1 },
  { SM_KNOB_POOL_LIMIT, N_("_Pool Limit"), N_("MiB the engine may hold"), 8, 65536, 8, 1048576 },
};

struct _SmTuningPanel
{
  AdwBin         parent_instance;

  AdwComboRow   *backend_row;
  AdwComboRow   *gpu_row;
  AdwComboRow   *mode_row;
  AdwComboRow   *preset_row;
  GtkAdjustment *mix[SM_N_DOMAINS];
  GtkAdjustment *adjustments[G_N_ELEMENTS (spins)];
  GtkSwitch     *consensus;

  SmSession     *session;
  gboolean       updating;      /* showing the engine's values: no changes */
};

enum {
  PROP_0,
  PROP_SESSION,
  N_PROPS
};

G_DEFINE_FINAL_TYPE (SmTuningPanel, sm_tuning_panel, ADW_TYPE_BIN)

static GParamSpec *properties[N_PROPS];

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
  for (guint i = 0; i < G_N_ELEMENTS (spins); i++)
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
  what = g_strdup_printf (_("Kernels: %s"), sm_backend_get_name ((SmBackend) selected));
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
spin_changed_cb (GtkAdjustment *adjustment,
                 SmTuningPanel *self)
{
  g_autofree char *what = NULL;

  if (self->updating || self->session == NULL)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (spins); i++)
    if (self->adjustments[i] == adjustment)
      {
        what = g_strdup_printf ("%s: %g", _(spins[i].title),
                                gtk_adjustment_get_value (adjustment));
        /* "Worker _Threads: 3" reads better without the mnemonic. */
        g_strdelimit (what, "_", ' ');
        sm_session_set_knob (self->session, spins[i].knob, gtk_adjustment_get_value (adjustment) * spins[i].scale,
                             what);
      }
}

static void
consensus_cb (SmTuningPanel *self)
{
  if (self->updating || self->session == NULL)
    return;
  /* A flag read per query: setting it waits for nothing. */
  sm_engine_set_consensus (sm_session_get_engine (self->session), gtk_switch_get_active (self->consensus));
}

static void
workload_changed_cb (SmTuningPanel *self)
{
  double mix[SM_N_DOMAINS];

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
}

static void
sm_tuning_panel_init (SmTuningPanel *self)
{
  GtkWidget *page = adw_preferences_page_new ();
  GtkWidget *engine_group = adw_preferences_group_new ();
  GtkStringList *backends = gtk_string_list_new (NULL);
  GtkWidget *consensus_row = adw_action_row_new ();

  for (guint b = 0; b < SM_N_BACKENDS; b++)
    gtk_string_list_append (backends, sm_backend_get_name ((SmBackend) b));
  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (engine_group), _("Engine"));
  adw_preferences_group_set_description (ADW_PREFERENCES_GROUP (engine_group),
                                         _("Applied live; each change is marked on the charts and recorded."));
  self->backend_row = ADW_COMBO_ROW (adw_combo_row_new ());
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->backend_row), _("_Kernels"));
  adw_preferences_row_set_use_underline (ADW_PREFERENCES_ROW (self->backend_row), TRUE);
  adw_combo_row_set_model (self->backend_row, G_LIST_MODEL (backends));
  g_signal_connect_swapped (self->backend_row, "notify::selected", G_CALLBACK (backend_selected_cb), self);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (engine_group), GTK_WIDGET (self->backend_row));

  self->gpu_row = ADW_COMBO_ROW (adw_combo_row_new ());
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->gpu_row), _("_GPU"));
  adw_preferences_row_set_use_underline (ADW_PREFERENCES_ROW (self->gpu_row), TRUE);
  adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (self->gpu_row), 2);
  {
    g_autoptr(GtkStringList) modes = gtk_string_list_new ((const char *[]) {
      _("Off"), _("On"), _("Auto (from the crossover batch)"), NULL });

    adw_combo_row_set_model (self->gpu_row, G_LIST_MODEL (modes));
  }
  g_signal_connect_swapped (self->gpu_row, "notify::selected", G_CALLBACK (gpu_selected_cb), self);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (engine_group), GTK_WIDGET (self->gpu_row));

  for (guint i = 0; i < G_N_ELEMENTS (spins); i++)
    {
      self->adjustments[i] = gtk_adjustment_new (spins[i].lower, spins[i].lower, spins[i].upper, spins[i].step,
                                                 spins[i].step * 10, 0);
      g_signal_connect (self->adjustments[i], "value-changed", G_CALLBACK (spin_changed_cb), self);
      adw_preferences_group_add (ADW_PREFERENCES_GROUP (engine_group),
                                 spin_row (_(spins[i].title), _(spins[i].subtitle), self->adjustments[i]));
    }

  self->consensus = GTK_SWITCH (gtk_switch_new ());
  gtk_widget_set_valign (GTK_WIDGET (self->consensus), GTK_ALIGN_CENTER);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (consensus_row), _("C_onsensus"));
  adw_preferences_row_set_use_underline (ADW_PREFERENCES_ROW (consensus_row), TRUE);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (consensus_row), _("Mix the top experts of ambiguous queries"));
  adw_action_row_add_suffix (ADW_ACTION_ROW (consensus_row), GTK_WIDGET (self->consensus));
  adw_action_row_set_activatable_widget (ADW_ACTION_ROW (consensus_row), GTK_WIDGET (self->consensus));
  g_signal_connect_swapped (self->consensus, "notify::active", G_CALLBACK (consensus_cb), self);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (engine_group), consensus_row);

  adw_preferences_page_add (ADW_PREFERENCES_PAGE (page), ADW_PREFERENCES_GROUP (engine_group));

  /* The model: a preset, or a file. */
  {
    GtkWidget *group = adw_preferences_group_new ();
    GtkStringList *presets = gtk_string_list_new (NULL);
    GtkWidget *open = gtk_button_new_with_mnemonic (_("_Open File…"));

    for (guint p = 0; p < SM_N_PRESETS; p++)
      gtk_string_list_append (presets, sm_preset_get_name ((SmPreset) p));
    adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (group), _("Model"));
    gtk_widget_set_valign (open, GTK_ALIGN_CENTER);
    g_signal_connect_swapped (open, "clicked", G_CALLBACK (open_model_cb), self);
    adw_preferences_group_set_header_suffix (ADW_PREFERENCES_GROUP (group), open);
    self->preset_row = ADW_COMBO_ROW (adw_combo_row_new ());
    adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->preset_row), _("Pr_eset"));
    adw_preferences_row_set_use_underline (ADW_PREFERENCES_ROW (self->preset_row), TRUE);
    adw_combo_row_set_model (self->preset_row, G_LIST_MODEL (presets));
    adw_combo_row_set_selected (self->preset_row, SM_PRESET_STANDARD);
    g_signal_connect_swapped (self->preset_row, "notify::selected", G_CALLBACK (preset_selected_cb), self);
    adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), GTK_WIDGET (self->preset_row));
    adw_preferences_page_add (ADW_PREFERENCES_PAGE (page), ADW_PREFERENCES_GROUP (group));
  }

  /* The workload: arrivals and the mix of domains. */
  {
    GtkWidget *group = adw_preferences_group_new ();
    GtkStringList *modes = gtk_string_list_new ((const char *[]) {
      _("Poisson arrivals"), _("Constant arrivals"), _("Closed loop"), NULL });

    adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (group), _("Workload"));
    adw_preferences_group_set_description (ADW_PREFERENCES_GROUP (group),
                                           _("Closed loop keeps the rate's number of queries outstanding."));
    self->mode_row = ADW_COMBO_ROW (adw_combo_row_new ());
    adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->mode_row), _("_Arrivals"));
    adw_preferences_row_set_use_underline (ADW_PREFERENCES_ROW (self->mode_row), TRUE);
    adw_combo_row_set_model (self->mode_row, G_LIST_MODEL (modes));
    g_signal_connect_swapped (self->mode_row, "notify::selected", G_CALLBACK (workload_changed_cb), self);
    adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), GTK_WIDGET (self->mode_row));
    for (guint d = 0; d < SM_N_DOMAINS; d++)
      {
        g_autofree char *title = g_strdup_printf (_("%s share"), sm_domain_get_name ((SmDomain) d));

        self->mix[d] = gtk_adjustment_new (1, 0, 10, 1, 1, 0);
        g_signal_connect_swapped (self->mix[d], "value-changed", G_CALLBACK (workload_changed_cb), self);
        adw_preferences_group_add (ADW_PREFERENCES_GROUP (group),
                                   spin_row (title, _("Relative weight of its queries"), self->mix[d]));
      }
    adw_preferences_page_add (ADW_PREFERENCES_PAGE (page), ADW_PREFERENCES_GROUP (group));
  }
  adw_bin_set_child (ADW_BIN (self), page);
  gtk_widget_set_size_request (GTK_WIDGET (self), 340, -1);
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
