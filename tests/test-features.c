/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include "sm-features.h"
#include "sm-router.h"

static const SmRouterConfig top1 = { FALSE, 1, SM_ROUTER_DEFAULT_THRESHOLD };

/* Any bytes at all: invalid UTF-8, NULs inside, control characters. */
static void
test_features_any_bytes (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (99);
  float features[300];

  for (int round = 0; round < 2000; round++)
    {
      guint8 bytes[200];
      gsize n = g_rand_int_range (rand, 0, sizeof bytes);
      SmFeatureSummary summary;

      for (gsize i = 0; i < n; i++)
        bytes[i] = (guint8) g_rand_int (rand);
      sm_features_extract ((const char *) bytes, (gssize) n, features, 300, &summary);
      for (guint i = 0; i < 300; i++)
        g_assert_true (isfinite (features[i]));
    }
}

static void
test_features_layout (void)
{
  const char *text = "Why does the Python function return NULL? 3 + 4 = 7";
  float a[256], b[256], narrow[20];
  SmFeatureSummary summary;
  double norm = 0;

  sm_features_extract (text, -1, a, 256, &summary);
  sm_features_extract (text, -1, b, 256, NULL);
  g_assert_cmpmem (a, sizeof a, b, sizeof b);   /* deterministic */

  g_assert_cmpuint (summary.n_words, ==, 12);
  g_assert_cmpfloat (summary.domain_scores[SM_DOMAIN_CODING], >, 0);
  g_assert_cmpfloat (summary.domain_scores[SM_DOMAIN_MATHEMATICS], >, 0);
  g_assert_cmpfloat (summary.domain_scores[SM_DOMAIN_REASONING], >, 0);
  g_assert_cmpfloat (a[SM_FEATURES_DOMAINS_AT + SM_DOMAIN_CODING], ==,
                     (float) summary.domain_scores[SM_DOMAIN_CODING]);

  /* The hashed buckets are a unit vector; embeddings lie in [-1, 1]. */
  for (guint i = SM_FEATURES_BUCKETS_AT; i < 256; i++)
    norm += (double) a[i] * a[i];
  g_assert_cmpfloat_with_epsilon (norm, 1.0, 1e-5);
  for (guint i = 0; i < SM_FEATURES_EMBEDDING; i++)
    g_assert_cmpfloat (fabsf (a[i]), <=, 1.0f);

  /* A narrower expert takes a prefix. */
  sm_features_extract (text, -1, narrow, 20, NULL);
  g_assert_cmpmem (narrow, sizeof narrow, a, sizeof narrow);

  /* Case does not matter to words; a different text differs. */
  sm_features_extract ("WHY DOES THE PYTHON FUNCTION RETURN NULL? 3 + 4 = 7", -1, b, 256, NULL);
  g_assert_cmpmem (a, SM_FEATURES_STATS_AT * sizeof (float), b, SM_FEATURES_STATS_AT * sizeof (float));
  sm_features_extract ("translate this poem", -1, b, 256, NULL);
  g_assert_true (memcmp (a, b, sizeof a) != 0);

  /* Empty text: zeros, and no division by zero. */
  sm_features_extract ("", 0, a, 256, &summary);
  g_assert_cmpuint (summary.n_words, ==, 0);
  for (guint i = 0; i < 256; i++)
    g_assert_cmpfloat (a[i], ==, 0.0f);
}

static void
test_features_keywords (void)
{
  float weight;

  g_assert_cmpuint (sm_features_lookup_keyword ("python", 6, &weight), ==, 1u << SM_DOMAIN_CODING);
  g_assert_cmpfloat (weight, ==, 1.0f);
  g_assert_cmpuint (sm_features_lookup_keyword ("api", 3, NULL), ==,
                    (1u << SM_DOMAIN_CODING) | (1u << SM_DOMAIN_TOOL_USE));
  g_assert_cmpuint (sm_features_lookup_keyword ("+", 1, NULL), ==, 1u << SM_DOMAIN_MATHEMATICS);
  g_assert_cmpuint (sm_features_lookup_keyword ("zebra", 5, NULL), ==, 0);
}

/* Typical queries of each domain route to it. */
static void
test_router_labelled_queries (void)
{
  static const struct {
    SmDomain    domain;
    const char *query;
  } queries[] = {
    { SM_DOMAIN_REASONING, "Why does the conclusion follow from these premises?" },
    { SM_DOMAIN_REASONING, "Explain the logic of this argument and what it implies" },
    { SM_DOMAIN_REASONING, "If all cats are mammals then what can we deduce about this riddle" },
    { SM_DOMAIN_CODING, "Fix the segfault in this C function with a null pointer" },
    { SM_DOMAIN_CODING, "How do I write a Python loop over an array?" },
    { SM_DOMAIN_CODING, "int main() { return 0; }" },
    { SM_DOMAIN_CODING, "git refactor this class and debug the exception" },
    { SM_DOMAIN_LANGUAGE, "Translate this sentence into French" },
    { SM_DOMAIN_LANGUAGE, "What is a synonym for the word happy?" },
    { SM_DOMAIN_LANGUAGE, "Rewrite my essay in a friendlier tone" },
    { SM_DOMAIN_LANGUAGE, "Tell me something nice" },
    { SM_DOMAIN_MATHEMATICS, "2 + 2 * 3" },
    { SM_DOMAIN_MATHEMATICS, "Solve the equation x^2 - 4 = 0" },
    { SM_DOMAIN_MATHEMATICS, "What is 17 times 23?" },
    { SM_DOMAIN_MATHEMATICS, "Compute the integral of sin x and the derivative of x^3" },
    { SM_DOMAIN_MATHEMATICS, "what is the average of 3, 5 and 10" },
    { SM_DOMAIN_TOOL_USE, "Search the web for the weather in Paris" },
    { SM_DOMAIN_TOOL_USE, "Schedule a meeting in my calendar and send an email" },
    { SM_DOMAIN_TOOL_USE, "Download the report and convert the file" },
    { SM_DOMAIN_CONTEXT, "As I mentioned earlier in our conversation, remember the previous answer" },
    { SM_DOMAIN_CONTEXT, "Continue from what we discussed before" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (queries); i++)
    {
      SmFeatureSummary summary;
      SmRoute route;
      float features[64];

      sm_features_extract (queries[i].query, -1, features, 64, &summary);
      sm_router_route (&summary, &top1, &route);
      g_test_message ("“%s” → %s (p = %.2f)", queries[i].query,
                      sm_domain_get_name (route.domains[0]), route.probabilities[route.domains[0]]);
      g_assert_cmpuint (route.n, ==, 1);
      g_assert_cmpint (route.domains[0], ==, queries[i].domain);
      g_assert_cmpfloat (route.weights[0], ==, 1.0f);
    }
}

/* Consensus: a query with evidence for two domains reaches both. */
static void
test_router_consensus (void)
{
  const SmRouterConfig consensus = { TRUE, 3, SM_ROUTER_DEFAULT_THRESHOLD };
  SmFeatureSummary summary;
  SmRoute route;
  float features[64], total = 0;
  double p = 0;

  sm_features_extract ("write a python function to solve the equation x + 2 = 5", -1, features, 64, &summary);
  sm_router_route (&summary, &consensus, &route);

  g_assert_cmpuint (route.n, >=, 2);
  g_assert_true ((route.domains[0] == SM_DOMAIN_MATHEMATICS && route.domains[1] == SM_DOMAIN_CODING) ||
                 (route.domains[0] == SM_DOMAIN_CODING && route.domains[1] == SM_DOMAIN_MATHEMATICS));
  for (guint s = 0; s < route.n; s++)
    {
      total += route.weights[s];
      g_assert_cmpfloat (route.probabilities[route.domains[s]], >=, SM_ROUTER_DEFAULT_THRESHOLD);
      if (s > 0)
        g_assert_cmpfloat (route.weights[s], <=, route.weights[s - 1]);
    }
  g_assert_cmpfloat_with_epsilon (total, 1.0f, 1e-6);
  for (guint d = 0; d < SM_N_DOMAINS; d++)
    p += route.probabilities[d];
  g_assert_cmpfloat_with_epsilon (p, 1.0, 1e-12);

  /* A clear query stays with one domain even with consensus on. */
  sm_features_extract ("translate this sentence into german", -1, features, 64, &summary);
  sm_router_route (&summary, &consensus, &route);
  g_assert_cmpuint (route.n, ==, 1);
  g_assert_cmpint (route.domains[0], ==, SM_DOMAIN_LANGUAGE);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/engine/features/any-bytes", test_features_any_bytes);
  g_test_add_func ("/engine/features/layout", test_features_layout);
  g_test_add_func ("/engine/features/keywords", test_features_keywords);
  g_test_add_func ("/engine/router/labelled-queries", test_router_labelled_queries);
  g_test_add_func ("/engine/router/consensus", test_router_consensus);

  return g_test_run ();
}
