/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <glib/gi18n-lib.h>

#include <json-glib/json-glib.h>

#include "sm-comparison.h"
#include "sm-metric-ids.h"

/* A run's buckets with samples: each one's mean and sample count. */
typedef struct
{
  double  *means;
  guint64 *counts;
  guint    n;
} Buckets;

static void
buckets_init (Buckets *b,
              GArray  *points,
              double   scale)
{
  guint capacity = points != NULL ? points->len : 0;

  b->means = g_new (double, MAX (1, capacity));
  b->counts = g_new (guint64, MAX (1, capacity));
  b->n = 0;
  for (guint i = 0; i < capacity; i++)
    {
      const SmStorePoint *p = &g_array_index (points, SmStorePoint, i);

      if (p->count > 0 && !isnan (p->mean))
        {
          b->means[b->n] = p->mean * scale;
          b->counts[b->n] = p->count;
          b->n++;
        }
    }
}

static void
buckets_clear (Buckets *b)
{
  g_free (b->means);
  g_free (b->counts);
}

static double
weighted_mean (const Buckets *b)
{
  double sum = 0;
  guint64 count = 0;

  for (guint i = 0; i < b->n; i++)
    {
      sum += b->means[i] * b->counts[i];
      count += b->counts[i];
    }
  return count > 0 ? sum / (double) count : NAN;
}

/* xorshift64*: the same draws on every machine, so that two sessions
 * always show the same interval. */
static guint64
next_random (guint64 *state)
{
  *state ^= *state >> 12;
  *state ^= *state << 25;
  *state ^= *state >> 27;
  return *state * G_GUINT64_CONSTANT (2685821657736338717);
}

static double
resampled_mean (const Buckets *b,
                guint64       *state)
{
  double sum = 0;
  guint64 count = 0;

  for (guint i = 0; i < b->n; i++)
    {
      guint k = (guint) (next_random (state) % b->n);

      sum += b->means[k] * b->counts[k];
      count += b->counts[k];
    }
  return sum / (double) count;
}

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

#define RESAMPLES 2000

/* The 2.5th and 97.5th percentiles of the change over resampled runs. */
static void
bootstrap_change (const Buckets *a,
                  const Buckets *b,
                  double        *low,
                  double        *high)
{
  g_autofree double *changes = g_new (double, RESAMPLES);
  guint64 state = G_GUINT64_CONSTANT (0x9E3779B97F4A7C15);
  guint n = 0;

  for (guint r = 0; r < RESAMPLES; r++)
    {
      double ma = resampled_mean (a, &state), mb = resampled_mean (b, &state);

      if (ma != 0)
        changes[n++] = 100.0 * (mb - ma) / fabs (ma);
    }
  if (n < RESAMPLES / 2)
    {
      *low = *high = NAN;
      return;
    }
  qsort (changes, n, sizeof (double), compare_doubles);
  *low = changes[(guint) (0.025 * (n - 1))];
  *high = changes[(guint) ceil (0.975 * (n - 1))];
}

/* Whether a smaller value of @metric is better (latencies, pool use,
 * failures, queue depth) or a larger one (throughput, hit rates). */
static gboolean
lower_is_better (const char *metric)
{
  /* Throughput and hit rates are better higher; every other figure the
   * engine measures is a cost (time, memory, failures, waiting work). */
  return !(g_str_equal (metric, SM_METRIC_ID_THROUGHPUT) || g_str_equal (metric, SM_METRIC_ID_CACHE_HIT_RATE)
           || g_str_equal (metric, SM_METRIC_ID_SIMD_UTILISATION) || g_str_equal (metric, SM_METRIC_ID_MEAN_BATCH));
}

void
sm_comparison_compute_scaled (const char   *metric,
                              GArray       *points_a,
                              double        scale_a,
                              GArray       *points_b,
                              double        scale_b,
                              SmComparison *comparison)
{
  Buckets a, b;
  gboolean noise;

  g_return_if_fail (metric != NULL && comparison != NULL);

  buckets_init (&a, points_a, scale_a);
  buckets_init (&b, points_b, scale_b);
  comparison->mean_a = weighted_mean (&a);
  comparison->mean_b = weighted_mean (&b);
  comparison->change = comparison->change_low = comparison->change_high = NAN;
  comparison->verdict = SM_VERDICT_UNKNOWN;

  if (!isnan (comparison->mean_a) && !isnan (comparison->mean_b) && comparison->mean_a != 0)
    {
      comparison->change = 100.0 * (comparison->mean_b - comparison->mean_a) / fabs (comparison->mean_a);
      if (a.n >= SM_COMPARISON_MIN_BUCKETS && b.n >= SM_COMPARISON_MIN_BUCKETS)
        bootstrap_change (&a, &b, &comparison->change_low, &comparison->change_high);

      noise = comparison->change_low <= 0 && comparison->change_high >= 0;
      if (fabs (comparison->change) < SM_COMPARISON_SAME_PERCENT || noise)
        comparison->verdict = SM_VERDICT_SAME;
      else if ((comparison->change < 0) == lower_is_better (metric))
        comparison->verdict = SM_VERDICT_BETTER;
      else
        comparison->verdict = SM_VERDICT_WORSE;
    }
  buckets_clear (&a);
  buckets_clear (&b);
}

void
sm_comparison_compute (const char   *metric,
                       GArray       *points_a,
                       GArray       *points_b,
                       SmComparison *comparison)
{
  sm_comparison_compute_scaled (metric, points_a, 1.0, points_b, 1.0, comparison);
}

static JsonObject *
parse_object (JsonParser *parser,
              const char *json)
{
  JsonNode *root;

  if (json == NULL || !json_parser_load_from_data (parser, json, -1, NULL))
    return NULL;
  root = json_parser_get_root (parser);
  return root != NULL && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
}

static char *
describe_value (JsonNode *node)
{
  g_autoptr(JsonGenerator) generator = NULL;

  if (node == NULL)
    return g_strdup ("—");
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
    return g_strdup (json_node_get_string (node));
  generator = json_generator_new ();
  json_generator_set_root (generator, node);
  return json_generator_to_data (generator, NULL);
}

GPtrArray *
sm_comparison_diff_configs (const char *config_a,
                            const char *config_b)
{
  g_autoptr(JsonParser) parser_a = json_parser_new ();
  g_autoptr(JsonParser) parser_b = json_parser_new ();
  JsonObject *a = parse_object (parser_a, config_a), *b = parse_object (parser_b, config_b);
  g_autoptr(GList) keys_a = NULL, keys_b = NULL;
  GPtrArray *lines;

  /* "Nothing differs" must not stand for "cannot tell". */
  if (a == NULL || b == NULL)
    return NULL;
  lines = g_ptr_array_new_with_free_func (g_free);

  keys_a = json_object_get_members (a);
  keys_b = json_object_get_members (b);
  for (GList *l = keys_a; l != NULL; l = l->next)
    {
      g_autofree char *va = describe_value (json_object_get_member (a, l->data));
      g_autofree char *vb = describe_value (json_object_get_member (b, l->data));

      if (g_strcmp0 (va, vb) != 0)
        g_ptr_array_add (lines, g_strdup_printf ("%s: %s → %s", (const char *) l->data, va, vb));
    }
  for (GList *l = keys_b; l != NULL; l = l->next)
    if (!json_object_has_member (a, l->data))
      {
        g_autofree char *vb = describe_value (json_object_get_member (b, l->data));

        g_ptr_array_add (lines, g_strdup_printf ("%s: — → %s", (const char *) l->data, vb));
      }
  return lines;
}

double
sm_comparison_offered_rate (const char *config)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *object = parse_object (parser, config);
  const char *workload;
  JsonNode *rate;

  if (object == NULL)
    return NAN;
  workload = json_object_get_string_member_with_default (object, "workload", "none");
  rate = json_object_get_member (object, "rate");
  if (g_str_equal (workload, "closed") || g_str_equal (workload, "none") || rate == NULL ||
      !JSON_NODE_HOLDS_VALUE (rate) ||
      (json_node_get_value_type (rate) != G_TYPE_DOUBLE && json_node_get_value_type (rate) != G_TYPE_INT64))
    return NAN;
  return json_node_get_double (rate) > 0 ? json_node_get_double (rate) : NAN;
}

const char *
sm_verdict_get_name (SmVerdict verdict)
{
  switch (verdict)
    {
    case SM_VERDICT_SAME:
      return N_("no significant difference");
    case SM_VERDICT_BETTER:
      return N_("better");
    case SM_VERDICT_WORSE:
      return N_("worse");
    case SM_VERDICT_UNKNOWN:
    default:
      return N_("unknown");
    }
}
