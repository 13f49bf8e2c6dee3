/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "sm-paths.h"
#include "sm-preferences-window.h"
#include "sm-spin-scroll.h"

struct _SmPreferencesWindow
{
  SmPreferencesParent   parent_instance;

  /* Template widgets */
  AdwComboRow          *style_row;
  AdwActionRow         *data_dir_row;
  GtkSpinButton        *refresh_spin;
  GtkSpinButton        *target_spin;
  GtkSpinButton        *precision_bound_spin;
  GtkSpinButton        *history_spin;
  AdwComboRow          *latency_unit_row;
  AdwComboRow          *palette_row;
  GtkSpinButton        *retention_days_spin;
  GtkSpinButton        *retention_size_spin;

  /* Owned */
  GSettings            *settings;
};

enum {
  PROP_0,
  PROP_SETTINGS,
  N_PROPS
};

G_DEFINE_FINAL_TYPE (SmPreferencesWindow, sm_preferences_window, SM_TYPE_PREFERENCES_PARENT)

static GParamSpec *properties[N_PROPS];

/* The combo rows' items, in order, as the schema's enum nicks (NULL
 * ended); each binding gets its list as user data. */
static const char * const style_nicks[] = { "default", "light", "dark", NULL };
static const char * const latency_unit_nicks[] = { "auto", "microseconds", "milliseconds", NULL };
static const char * const palette_nicks[] = { "gnome", "colorblind", NULL };

static gboolean
nick_get_mapping (GValue   *value,
                  GVariant *variant,
                  gpointer  user_data)
{
  const char * const *nicks = user_data;
  const char *nick = g_variant_get_string (variant, NULL);

  for (guint i = 0; nicks[i] != NULL; i++)
    if (g_str_equal (nick, nicks[i]))
      {
        g_value_set_uint (value, i);
        return TRUE;
      }

  return FALSE;
}

static GVariant *
nick_set_mapping (const GValue       *value,
                  const GVariantType *expected_type,
                  gpointer            user_data)
{
  const char * const *nicks = user_data;
  guint selected = g_value_get_uint (value);

  if (selected >= g_strv_length ((char **) nicks))
    return NULL;

  return g_variant_new_string (nicks[selected]);
}

static void
bind_spin (SmPreferencesWindow *self,
           const char          *key,
           GtkSpinButton       *spin)
{
  g_settings_bind (self->settings, key, gtk_spin_button_get_adjustment (spin), "value", G_SETTINGS_BIND_DEFAULT);
}

static void
sm_preferences_window_constructed (GObject *object)
{
  SmPreferencesWindow *self = SM_PREFERENCES_WINDOW (object);
  g_autofree char *data_dir = sm_paths_get_data_dir ();

  G_OBJECT_CLASS (sm_preferences_window_parent_class)->constructed (object);

  g_settings_bind_with_mapping (self->settings, "color-scheme",
                                self->style_row, "selected",
                                G_SETTINGS_BIND_DEFAULT,
                                nick_get_mapping, nick_set_mapping,
                                (gpointer) style_nicks, NULL);
  g_settings_bind_with_mapping (self->settings, "latency-unit",
                                self->latency_unit_row, "selected",
                                G_SETTINGS_BIND_DEFAULT,
                                nick_get_mapping, nick_set_mapping,
                                (gpointer) latency_unit_nicks, NULL);
  g_settings_bind_with_mapping (self->settings, "chart-palette",
                                self->palette_row, "selected",
                                G_SETTINGS_BIND_DEFAULT,
                                nick_get_mapping, nick_set_mapping,
                                (gpointer) palette_nicks, NULL);

  bind_spin (self, "refresh-interval", self->refresh_spin);
  bind_spin (self, "latency-target", self->target_spin);
  bind_spin (self, "precision-error-bound", self->precision_bound_spin);
  bind_spin (self, "history-length", self->history_spin);
  bind_spin (self, "retention-days", self->retention_days_spin);
  bind_spin (self, "retention-size", self->retention_size_spin);
  adw_action_row_set_subtitle (self->data_dir_row, data_dir);
}

static void
sm_preferences_window_dispose (GObject *object)
{
  SmPreferencesWindow *self = SM_PREFERENCES_WINDOW (object);

  gtk_widget_dispose_template (GTK_WIDGET (self), SM_TYPE_PREFERENCES_WINDOW);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (sm_preferences_window_parent_class)->dispose (object);
}

static void
sm_preferences_window_set_property (GObject      *object,
                                    guint         prop_id,
                                    const GValue *value,
                                    GParamSpec   *pspec)
{
  SmPreferencesWindow *self = SM_PREFERENCES_WINDOW (object);

  switch (prop_id)
    {
    case PROP_SETTINGS:
      self->settings = g_value_dup_object (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sm_preferences_window_class_init (SmPreferencesWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = sm_preferences_window_constructed;
  object_class->dispose = sm_preferences_window_dispose;
  object_class->set_property = sm_preferences_window_set_property;

  properties[PROP_SETTINGS] =
    g_param_spec_object ("settings", NULL, NULL,
                         G_TYPE_SETTINGS,
                         (G_PARAM_WRITABLE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               RESOURCE_PREFIX "/ui/sm-preferences-window.ui");
  gtk_widget_class_bind_template_child (widget_class, SmPreferencesWindow, style_row);
  gtk_widget_class_bind_template_child (widget_class, SmPreferencesWindow, data_dir_row);
  gtk_widget_class_bind_template_child (widget_class, SmPreferencesWindow, refresh_spin);
  gtk_widget_class_bind_template_child (widget_class, SmPreferencesWindow, target_spin);
  gtk_widget_class_bind_template_child (widget_class, SmPreferencesWindow, precision_bound_spin);
  gtk_widget_class_bind_template_child (widget_class, SmPreferencesWindow, history_spin);
  gtk_widget_class_bind_template_child (widget_class, SmPreferencesWindow, latency_unit_row);
  gtk_widget_class_bind_template_child (widget_class, SmPreferencesWindow, palette_row);
  gtk_widget_class_bind_template_child (widget_class, SmPreferencesWindow, retention_days_spin);
  gtk_widget_class_bind_template_child (widget_class, SmPreferencesWindow, retention_size_spin);
}

static void
sm_preferences_window_init (SmPreferencesWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  sm_spin_scroll_guard (GTK_WIDGET (self));
}

SmPreferencesWindow *
sm_preferences_window_new (GSettings *settings)
{
  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);

  return g_object_new (SM_TYPE_PREFERENCES_WINDOW,
                       "settings", settings,
                       NULL);
}
