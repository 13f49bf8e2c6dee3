/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>
#include <json-glib/json-glib.h>

#include "sm-bench.h"

/* A figure that could not be measured (NaN), one that is unbounded (a GPU
 * that never wins has an infinite crossover) and a parameter spelled "inf"
 * all come out as JSON null: the report must parse with a strict parser,
 * and json-glib alone would write "nan.0". */
static void
test_bench_report_non_finite (void)
{
  SmBenchReport *report = sm_bench_report_new ("test");
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *json = NULL;
  JsonArray *results;
  JsonObject *unmeasured, *unbounded, *ratio_of_nan;
  guint base;

  base = sm_bench_report_add (report, "base", "", 2.0, "s");
  sm_bench_report_add_target (report, "crossover", "batch=inf", INFINITY, "rows", "<= 64");
  sm_bench_report_compare (report, "nothing", "", NAN, "s", base, ">= 1");
  sm_bench_report_add_target (report, "unmeasured", "", NAN, "s", "<= 5");

  json = sm_bench_report_to_json (report);
  sm_bench_report_free (report);

  g_assert_null (strstr (json, "nan"));
  g_assert_null (strstr (json, "inf"));
  json_parser_load_from_data (parser, json, -1, &error);
  g_assert_no_error (error);

  results = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)), "results");
  g_assert_cmpuint (json_array_get_length (results), ==, 4);

  unbounded = json_array_get_object_element (results, 1);
  g_assert_true (json_object_get_null_member (unbounded, "value"));
  g_assert_true (json_object_get_null_member (json_object_get_object_member (unbounded, "params"), "batch"));
  /* Infinitely many rows is still an answer: the target is missed. */
  g_assert_false (json_object_get_boolean_member (unbounded, "met"));

  ratio_of_nan = json_array_get_object_element (results, 2);
  g_assert_true (json_object_get_null_member (ratio_of_nan, "value"));
  g_assert_true (json_object_get_null_member (ratio_of_nan, "ratio"));
  g_assert_true (json_object_get_null_member (ratio_of_nan, "met"));

  /* Nothing measured is neither met nor missed. */
  unmeasured = json_array_get_object_element (results, 3);
  g_assert_true (json_object_get_null_member (unmeasured, "met"));

  /* How busy the machine was, which every figure depends on: the load
   * average as /proc/loadavg gives it, a number (Linux). */
  {
    JsonObject *machine = json_object_get_object_member (json_node_get_object (json_parser_get_root (parser)), "machine");

    g_assert_true (json_object_has_member (machine, "load_average"));
    g_assert_cmpfloat (json_object_get_double_member (machine, "load_average"), >=, 0);
  }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/engine/bench/report/non-finite", test_bench_report_non_finite);

  return g_test_run ();
}
