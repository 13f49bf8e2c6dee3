/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-glib/json-glib.h>

#include "sm-bench.h"
#include "sm-json.h"
#include "sm-cpu.h"

typedef struct
{
  char    *name;
  char    *params;
  double   value;
  char    *unit;
  int      baseline;  /* index, or -1 */
  char    *target;    /* NULL for none */
} Result;

struct _SmBenchReport
{
  char   *area;
  GArray *results;
  double  load_average;   /* the machine's, 1 min, as the run began; NaN: unknown */
};

/* Anything else running skews every figure (±30 % seen on a 2-core VM):
 * a report says how busy the machine already was. */
#define BUSY_LOAD_AVERAGE 0.5

static double
read_load_average (void)
{
  g_autofree char *text = NULL;
  char *end = NULL;
  double load;

  if (!g_file_get_contents ("/proc/loadavg", &text, NULL, NULL))
    return NAN;
  load = g_ascii_strtod (text, &end);
  return end != text ? load : NAN;
}

static void
result_clear (gpointer data)
{
  Result *r = data;

  g_free (r->name);
  g_free (r->params);
  g_free (r->unit);
  g_free (r->target);
}

SmBenchReport *
sm_bench_report_new (const char *area)
{
  SmBenchReport *report = g_new0 (SmBenchReport, 1);

  report->area = g_strdup (area);
  report->load_average = read_load_average ();
  report->results = g_array_new (FALSE, TRUE, sizeof (Result));
  g_array_set_clear_func (report->results, result_clear);

  return report;
}

void
sm_bench_report_free (SmBenchReport *report)
{
  if (report == NULL)
    return;

  g_array_unref (report->results);
  g_free (report->area);
  g_free (report);
}

guint
sm_bench_report_add (SmBenchReport *report,
                     const char    *name,
                     const char    *params,
                     double         value,
                     const char    *unit)
{
  return sm_bench_report_compare (report, name, params, value, unit, G_MAXUINT, NULL);
}

guint
sm_bench_report_add_target (SmBenchReport *report,
                            const char    *name,
                            const char    *params,
                            double         value,
                            const char    *unit,
                            const char    *target)
{
  return sm_bench_report_compare (report, name, params, value, unit, G_MAXUINT, target);
}

guint
sm_bench_report_compare (SmBenchReport *report,
                         const char    *name,
                         const char    *params,
                         double         value,
                         const char    *unit,
                         guint          baseline,
                         const char    *target)
{
  Result r = {
    .name = g_strdup (name),
    .params = g_strdup (params ? params : ""),
    .value = value,
    .unit = g_strdup (unit),
    .baseline = baseline == G_MAXUINT ? -1 : (int) baseline,
    .target = g_strdup (target),
  };

  g_return_val_if_fail (baseline == G_MAXUINT || baseline < report->results->len, 0);

  g_array_append_val (report->results, r);

  return report->results->len - 1;
}

static gboolean
result_ratio (SmBenchReport *report,
              const Result  *r,
              double        *ratio)
{
  const Result *base;

  if (r->baseline < 0)
    return FALSE;

  base = &g_array_index (report->results, Result, r->baseline);
  if (!(base->value > 0) || !isfinite (r->value))
    return FALSE;

  *ratio = r->value / base->value;
  return TRUE;
}

/* Targets are "<op> <number>" with op one of >=, >, <=, <; they apply to
 * the ratio when the result has a baseline, else to the value itself (an
 * absolute target such as "<= 5" ns). */
static gboolean
result_met (SmBenchReport *report,
            const Result  *r,
            gboolean      *met)
{
  double ratio, bound;
  const char *number;
  char *end;

  if (r->target == NULL)
    return FALSE;
  if (r->baseline < 0)
    ratio = r->value;
  else if (!result_ratio (report, r, &ratio))
    return FALSE;
  /* Nothing measured: neither met nor missed. */
  if (isnan (ratio))
    return FALSE;

  number = r->target + strspn (r->target, "<>= ");
  bound = g_ascii_strtod (number, &end);
  if (end == number)
    return FALSE;

  if (g_str_has_prefix (r->target, ">="))
    *met = ratio >= bound;
  else if (g_str_has_prefix (r->target, ">"))
    *met = ratio > bound;
  else if (g_str_has_prefix (r->target, "<="))
    *met = ratio <= bound;
  else if (g_str_has_prefix (r->target, "<"))
    *met = ratio < bound;
  else
    return FALSE;

  return TRUE;
}

static char *
result_label (const Result *r)
{
  return r->params[0] ? g_strdup_printf ("%s %s", r->name, r->params) : g_strdup (r->name);
}

static void
add_params (JsonBuilder *builder,
            const char  *params)
{
  g_auto(GStrv) pairs = g_strsplit (params, " ", -1);

  json_builder_begin_object (builder);
  for (guint i = 0; pairs[i] != NULL; i++)
    {
      const char *eq = strchr (pairs[i], '=');
      g_autofree char *key = NULL;
      char *end;
      double number;

      if (eq == NULL)
        continue;

      key = g_strndup (pairs[i], eq - pairs[i]);
      json_builder_set_member_name (builder, key);
      number = g_ascii_strtod (eq + 1, &end);
      if (end != eq + 1 && *end == '\0')
        sm_json_builder_add_number (builder, number);
      else
        json_builder_add_string_value (builder, eq + 1);
    }
  json_builder_end_object (builder);
}

static void
add_machine (JsonBuilder   *builder,
             SmBenchReport *report)
{
  const SmCpuInfo *cpu = sm_cpu_info_get ();
  g_auto(GStrv) features = sm_cpu_features_to_strv (cpu->usable);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "cpu");
  json_builder_add_string_value (builder, cpu->model);
  json_builder_set_member_name (builder, "features");
  json_builder_begin_array (builder);
  for (guint i = 0; features[i] != NULL; i++)
    json_builder_add_string_value (builder, features[i]);
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "threads");
  json_builder_add_int_value (builder, cpu->logical_cpus);
  json_builder_set_member_name (builder, "load_average");
  if (isnan (report->load_average))
    json_builder_add_null_value (builder);
  else
    json_builder_add_double_value (builder, report->load_average);
  json_builder_end_object (builder);
}

char *
sm_bench_report_to_json (SmBenchReport *report)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "bench");
  json_builder_add_string_value (builder, report->area);
  json_builder_set_member_name (builder, "machine");
  add_machine (builder, report);
  json_builder_set_member_name (builder, "results");
  json_builder_begin_array (builder);

  for (guint i = 0; i < report->results->len; i++)
    {
      const Result *r = &g_array_index (report->results, Result, i);
      double ratio;
      gboolean met;

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "name");
      json_builder_add_string_value (builder, r->name);
      json_builder_set_member_name (builder, "params");
      add_params (builder, r->params);
      json_builder_set_member_name (builder, "value");
      sm_json_builder_add_number (builder, r->value);
      json_builder_set_member_name (builder, "unit");
      json_builder_add_string_value (builder, r->unit);

      json_builder_set_member_name (builder, "baseline");
      if (r->baseline >= 0)
        {
          g_autofree char *label = result_label (&g_array_index (report->results, Result, r->baseline));
          json_builder_add_string_value (builder, label);
        }
      else
        json_builder_add_null_value (builder);

      json_builder_set_member_name (builder, "ratio");
      if (result_ratio (report, r, &ratio))
        sm_json_builder_add_number (builder, ratio);
      else
        json_builder_add_null_value (builder);

      json_builder_set_member_name (builder, "target");
      if (r->target != NULL)
        json_builder_add_string_value (builder, r->target);
      else
        json_builder_add_null_value (builder);

      json_builder_set_member_name (builder, "met");
      if (result_met (report, r, &met))
        json_builder_add_boolean_value (builder, met);
      else
        json_builder_add_null_value (builder);

      json_builder_end_object (builder);
    }

  json_builder_end_array (builder);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);

  return json_generator_to_data (generator, NULL);
}

char *
sm_bench_report_to_table (SmBenchReport *report)
{
  GString *out = g_string_new (NULL);
  const SmCpuInfo *cpu = sm_cpu_info_get ();

  /* Figures first, in fixed columns; the label, which can be long, last. */
  g_string_append_printf (out, "bench %s on %s, %u threads\n", report->area, cpu->model, cpu->logical_cpus);
  if (report->load_average > BUSY_LOAD_AVERAGE)
    g_string_append_printf (out, "warning: the machine was busy as the run began (load average %.2f): "
                            "every figure may be off by tens of percent\n", report->load_average);
  g_string_append_c (out, '\n');
  g_string_append_printf (out, "%10s %-8s %7s %-8s %-4s  %s\n",
                          "value", "unit", "ratio", "target", "met", "result");

  for (guint i = 0; i < report->results->len; i++)
    {
      const Result *r = &g_array_index (report->results, Result, i);
      g_autofree char *label = result_label (r);
      g_autofree char *ratio_text = NULL;
      double ratio;
      gboolean met;
      const char *met_text = "";

      ratio_text = result_ratio (report, r, &ratio) ? g_strdup_printf ("%.2f", ratio) : g_strdup ("");
      if (result_met (report, r, &met))
        met_text = met ? "yes" : "NO";

      g_string_append_printf (out, "%10.4g %-8s %7s %-8s %-4s  %s\n", r->value, r->unit, ratio_text,
                              r->target ? r->target : "", met_text, label);
    }

  return g_string_free (out, FALSE);
}

void
sm_bench_report_count_met (SmBenchReport *report,
                           guint         *targets,
                           guint         *met_count)
{
  *targets = *met_count = 0;

  for (guint i = 0; i < report->results->len; i++)
    {
      const Result *r = &g_array_index (report->results, Result, i);
      gboolean met;

      if (r->target == NULL)
        continue;
      (*targets)++;
      if (result_met (report, r, &met) && met)
        (*met_count)++;
    }
}

double
sm_bench_now (void)
{
  struct timespec ts;

  /* Nanosecond resolution: g_get_monotonic_time() rounds to microseconds. */
  clock_gettime (CLOCK_MONOTONIC, &ts);

  return ts.tv_sec + ts.tv_nsec / 1e9;
}

double
sm_bench_time_best (SmBenchFunc func,
                    gpointer    data)
{
  const double budget = 0.2;
  const guint min_reps = 3;
  double start, best = INFINITY;
  guint batch = 1, reps = 0;

  func (data);
  for (;;)
    {
      double t0 = sm_bench_now ();

      for (guint i = 0; i < batch; i++)
        func (data);
      if (sm_bench_now () - t0 >= 50e-6 || batch >= (1u << 20))
        break;
      batch *= 2;
    }

  start = sm_bench_now ();
  do
    {
      double t0 = sm_bench_now ();

      for (guint i = 0; i < batch; i++)
        func (data);
      best = MIN (best, (sm_bench_now () - t0) / batch);
      reps++;
    }
  while (reps < min_reps || sm_bench_now () - start < budget);

  return best;
}
