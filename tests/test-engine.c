/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "sm-engine.h"
#include "sm-error.h"
#include "sm-features.h"
#include "sm-workload.h"

static SmEngine *
new_engine (guint threads)
{
  g_autoptr(GError) error = NULL;
  SmEngine *engine = sm_engine_new (SM_POOL_DEFAULT_LIMIT, threads, &error);

  g_assert_no_error (error);
  return engine;
}

/* The engine's answer equals the expert run directly on the same features. */
static void
test_engine_infer (void)
{
  g_autoptr(SmEngine) engine = new_engine (2);
  g_autoptr(GError) error = NULL;
  g_autoptr(SmResult) result = NULL;
  g_autoptr(SmPool) pool = sm_pool_new (SM_POOL_DEFAULT_LIMIT, NULL);
  g_autoptr(SmModel) model = sm_model_new_preset (SM_PRESET_STANDARD, pool, NULL);
  const char *text = "Solve the equation x^2 - 4 = 0";
  SmExpert *expert = sm_model_get_expert (model, SM_DOMAIN_MATHEMATICS);
  float features[256], expected[64];
  float *scratch = g_aligned_alloc (sm_expert_scratch_floats (expert, 1), sizeof (float), 64);
  double max = -INFINITY, sum = 0;

  result = sm_engine_infer (engine, text, &error);
  g_assert_no_error (error);
  g_assert_cmpint (result->domain, ==, SM_DOMAIN_MATHEMATICS);
  g_assert_cmpuint (result->n_experts, ==, 1);
  g_assert_cmpuint (result->output_width, ==, 64);
  g_assert_false (result->cached);
  g_assert_cmpuint (result->total_ns, >=, result->inference_ns);
  g_assert_cmpuint (result->features_ns, >, 0);

  sm_features_extract (text, -1, features, 256, NULL);
  sm_expert_forward (expert, sm_simd_get_kernels_for (sm_simd_get_best_level (), NULL), features, 1, expected, scratch);
  for (guint i = 0; i < 64; i++)
    g_assert_cmpfloat_with_epsilon (result->output[i], expected[i], 1e-5 * (1 + fabsf (expected[i])));

  /* The answer is the largest output; confidence its softmax probability. */
  for (guint i = 0; i < 64; i++)
    max = MAX (max, result->output[i]);
  for (guint i = 0; i < 64; i++)
    sum += exp (result->output[i] - max);
  g_assert_cmpfloat (result->output[result->argmax], ==, max);
  g_assert_cmpfloat_with_epsilon (result->confidence, 1.0 / sum, 1e-6);

  g_aligned_free (scratch);
}

/* Issue 18, part 3: weights in bf16 or int8.  Each precision's cost is
 * measured when the model loads; answers then differ from f32 by no more
 * than that on queries like the calibration batch's; the choice holds
 * across model loads; a pool at its limit refuses it and changes nothing. */
static void
test_engine_precision (void)
{
  g_autoptr(SmEngine) engine = new_engine (2);
  g_autoptr(GError) error = NULL;
  g_autoptr(SmResult) reference = NULL;
  const char *text = "Integrate x squared from zero to one";
  SmPrecisionError cost;
  SmPoolStats stats;

  g_assert_true (sm_engine_get_precision_error (engine, SM_PRECISION_F32, &cost));
  g_assert_cmpfloat (cost.max_abs, ==, 0);
  reference = sm_engine_infer (engine, text, &error);
  g_assert_no_error (error);

  for (SmPrecision p = SM_PRECISION_BF16; p < SM_PRECISION_N_KINDS; p++)
    {
      g_autoptr(SmResult) result = NULL;
      double worst = 0, top = 0;

      g_assert_true (sm_engine_get_precision_error (engine, p, &cost));
      g_test_message ("%s: up to %g, %.2f %% of the largest output", sm_precision_get_name (p), cost.max_abs,
                      100 * cost.max_rel);
      g_assert_cmpfloat (cost.max_abs, >, 0);
      /* bf16 keeps 8 bits of mantissa, int8 about 7: a few percent at most. */
      g_assert_cmpfloat (cost.max_rel, <, p == SM_PRECISION_BF16 ? 0.01 : 0.05);

      g_assert_true (sm_engine_set_precision (engine, p, &error));
      g_assert_no_error (error);
      g_assert_cmpint (sm_engine_get_precision (engine), ==, p);
      result = sm_engine_infer (engine, text, &error);
      g_assert_no_error (error);
      for (guint i = 0; i < result->output_width; i++)
        {
          worst = MAX (worst, fabs (result->output[i] - reference->output[i]));
          top = MAX (top, fabs (reference->output[i]));
        }
      g_assert_cmpfloat (worst, >, 0);
      g_assert_cmpfloat (worst, <=, 2 * cost.max_rel * top + 1e-6);
    }

  /* A model loaded now runs int8 too, measured first. */
  g_assert_true (sm_engine_load_preset (engine, SM_PRESET_MICRO, &error));
  g_assert_no_error (error);
  g_assert_cmpint (sm_engine_get_precision (engine), ==, SM_PRECISION_INT8);
  g_assert_true (sm_engine_get_precision_error (engine, SM_PRECISION_INT8, &cost));

  /* Back to f32 frees the copies; then a pool with no room for bf16
   * weights refuses them, and the answers stay the f32 ones. */
  g_assert_true (sm_engine_load_preset (engine, SM_PRESET_STANDARD, &error));
  g_assert_true (sm_engine_set_precision (engine, SM_PRECISION_F32, &error));
  g_assert_no_error (error);
  sm_engine_compact_pool (engine);
  sm_pool_get_stats (sm_engine_get_pool (engine), &stats);
  g_assert_true (sm_engine_set_pool_limit (engine, stats.reserved + 1024 * 1024, &error));
  g_assert_no_error (error);
  g_assert_false (sm_engine_set_precision (engine, SM_PRECISION_BF16, &error));
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "bf16"));
  g_clear_error (&error);
  g_assert_cmpint (sm_engine_get_precision (engine), ==, SM_PRECISION_F32);
  {
    g_autoptr(SmResult) again = sm_engine_infer (engine, text, &error);

    g_assert_no_error (error);
    g_assert_cmpmem (again->output, again->output_width * sizeof (float), reference->output,
                     reference->output_width * sizeof (float));
  }
}

static void
async_done_cb (GObject      *source,
               GAsyncResult *res,
               gpointer      user_data)
{
  SmResult **out = user_data;
  g_autoptr(GError) error = NULL;

  *out = sm_engine_infer_finish (NULL, res, &error);
  g_assert_no_error (error);
}

static void
test_engine_async (void)
{
  g_autoptr(SmEngine) engine = new_engine (1);
  SmResult *result = NULL;

  sm_engine_infer_async (engine, "translate this sentence into german", NULL, async_done_cb, &result);
  /* The callback comes through this thread's main context. */
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpint (result->domain, ==, SM_DOMAIN_LANGUAGE);
  sm_result_free (result);
}

static void
test_engine_cache (void)
{
  g_autoptr(SmEngine) engine = new_engine (1);
  g_autoptr(SmResult) first = NULL, second = NULL, third = NULL;

  sm_engine_set_cache_size (engine, 16);
  first = sm_engine_infer (engine, "why is the sky blue", NULL);
  second = sm_engine_infer (engine, "why is the sky blue", NULL);
  g_assert_false (first->cached);
  g_assert_true (second->cached);
  g_assert_cmpmem (first->output, 64 * sizeof (float), second->output, 64 * sizeof (float));

  /* A knob that changes answers empties the cache. */
  g_assert_true (sm_engine_set_backend (engine, SM_BACKEND_GENERIC, NULL));
  third = sm_engine_infer (engine, "why is the sky blue", NULL);
  g_assert_false (third->cached);
  g_assert_cmpuint (sm_engine_get_cache_size (engine), ==, 16);
}

static void
test_engine_consensus (void)
{
  g_autoptr(SmEngine) engine = new_engine (2);
  g_autoptr(SmResult) result = NULL;
  double total = 0;

  sm_engine_set_consensus (engine, TRUE);
  result = sm_engine_infer (engine, "write a python function to solve the equation x + 2 = 5", NULL);
  g_assert_cmpuint (result->n_experts, >=, 2);
  for (guint i = 0; i < result->n_experts; i++)
    total += result->weights[i];
  g_assert_cmpfloat_with_epsilon (total, 1.0, 1e-6);
}

static void
test_engine_models (void)
{
  g_autoptr(SmEngine) engine = new_engine (1);
  g_autoptr(GError) error = NULL;
  g_autofree char *single = g_test_build_filename (G_TEST_DIST, "data", "safetensors", "sequential-f32.safetensors", NULL);
  g_autofree char *two = g_test_build_filename (G_TEST_DIST, "data", "safetensors", "experts-two.safetensors", NULL);
  g_autofree char *bad = g_test_build_filename (G_TEST_DIST, "data", "safetensors", "weight-nan.safetensors", NULL);
  g_autofree char *description = NULL;
  SmResult *result;

  /* A bad file leaves the loaded model in place. */
  g_assert_false (sm_engine_load_model (engine, bad, &error));
  g_assert_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT);
  g_clear_error (&error);
  description = sm_engine_dup_model_description (engine);
  g_assert_cmpstr (description, ==, "preset standard");

  /* A single network answers every domain. */
  g_assert_true (sm_engine_load_model (engine, single, &error));
  result = sm_engine_infer (engine, "2 + 2", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (result->output_width, ==, 3);
  sm_result_free (result);

  /* A model without the routed domain's expert: a clear error. */
  g_assert_true (sm_engine_load_model (engine, two, &error));
  result = sm_engine_infer (engine, "translate this sentence into french", &error);
  g_assert_null (result);
  g_assert_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_NOT_SUPPORTED);
  g_assert_nonnull (strstr (error->message, "no Language expert"));
  g_clear_error (&error);
  result = sm_engine_infer (engine, "fix this python bug", &error);
  g_assert_no_error (error);
  sm_result_free (result);
}

/* ---- concurrency: every query answered exactly once ---- */

#define SUBMITTERS 8
#define PER_SUBMITTER 1500

typedef struct
{
  SmEngine *engine;
  guint     base;
  gint     *answers;    /* per query id */
  gint     *failures;
} Submitter;

typedef struct
{
  gint  *answers;
  guint  id;
} Ticket;

static void
count_done (SmResult     *result,
            const GError *error,
            gpointer      user_data)
{
  Ticket *ticket = user_data;

  g_assert_no_error ((GError *) error);
  g_assert_nonnull (result);
  g_assert_cmpuint (result->output_width, ==, 64);
  for (guint i = 0; i < result->output_width; i++)
    g_assert_true (isfinite (result->output[i]));
  g_atomic_int_inc (&ticket->answers[ticket->id]);
  sm_result_free (result);
  g_free (ticket);
}

static gpointer
submit_thread (gpointer data)
{
  Submitter *s = data;
  static const char *const texts[] = {
    "why does this follow", "fix the null pointer in my c code", "translate into spanish",
    "what is 12 * 7", "search the weather", "as we discussed earlier", "tell me a story",
  };

  for (guint i = 0; i < PER_SUBMITTER; i++)
    {
      Ticket *ticket = g_new (Ticket, 1);
      g_autofree char *text = g_strdup_printf ("%s %u", texts[i % G_N_ELEMENTS (texts)], i % 50);

      ticket->answers = s->answers;
      ticket->id = s->base + i;
      sm_engine_submit (s->engine, text, -1, 0, count_done, ticket);
      if (i % 97 == 0)
        g_thread_yield ();
    }

  return NULL;
}

static void
test_engine_concurrent_knobs (void)
{
  g_autoptr(SmEngine) engine = new_engine (2);
  g_autofree gint *answers = g_new0 (gint, SUBMITTERS * PER_SUBMITTER);
  Submitter submitters[SUBMITTERS];
  GThread *threads[SUBMITTERS];
  SmBackend best = SM_BACKEND_AUTO;

  sm_engine_set_cache_size (engine, 64);
  for (int t = 0; t < SUBMITTERS; t++)
    {
      submitters[t] = (Submitter) { engine, (guint) t * PER_SUBMITTER, answers, NULL };
      threads[t] = g_thread_new ("submit", submit_thread, &submitters[t]);
    }

  /* Knobs turned while queries pour in. */
  for (int round = 0; round < 6; round++)
    {
      g_assert_true (sm_engine_set_threads (engine, 1 + round % 3, NULL));
      g_assert_true (sm_engine_set_max_batch (engine, round % 2 ? 1 : 64, NULL));
      sm_engine_set_max_wait_us (engine, round * 100);
      sm_engine_set_consensus (engine, round % 2);
      g_assert_true (sm_engine_set_backend (engine, round % 2 ? SM_BACKEND_GENERIC : best, NULL));
      sm_engine_set_cache_size (engine, round % 3 ? 64 : 0);
      if (round == 3)
        g_assert_true (sm_engine_load_preset (engine, SM_PRESET_STANDARD, NULL));
      g_usleep (20000);
    }
  /* The queries still queued are answered with fast settings: the last
   * round's (scalar kernels, batches of one, consensus) take minutes
   * under a sanitizer on a loaded machine, and prove nothing more. */
  g_assert_true (sm_engine_set_max_batch (engine, 64, NULL));
  g_assert_true (sm_engine_set_backend (engine, best, NULL));
  sm_engine_set_consensus (engine, FALSE);

  for (int t = 0; t < SUBMITTERS; t++)
    g_thread_join (threads[t]);
  sm_engine_drain (engine);

  for (guint i = 0; i < SUBMITTERS * PER_SUBMITTER; i++)
    if (answers[i] != 1)
      g_error ("query %u was answered %d times", i, answers[i]);
}

/* Freeing the engine with queries queued answers them all first. */
static void
test_engine_free_with_queue (void)
{
  SmEngine *engine = new_engine (1);
  g_autofree gint *answers = g_new0 (gint, 500);

  sm_engine_set_max_wait_us (engine, 5000);
  for (guint i = 0; i < 500; i++)
    {
      Ticket *ticket = g_new (Ticket, 1);

      ticket->answers = answers;
      ticket->id = i;
      sm_engine_submit (engine, "what is 1 + 1", -1, 0, count_done, ticket);
    }
  sm_engine_free (engine);

  for (guint i = 0; i < 500; i++)
    g_assert_cmpint (answers[i], ==, 1);
}

static void
test_engine_knob_errors (void)
{
  g_autoptr(SmEngine) engine = new_engine (1);
  g_autoptr(GError) error = NULL;
  SmBackend missing = SM_ARCH_AARCH64 ? SM_BACKEND_AVX2 : SM_BACKEND_NEON;

  g_assert_false (sm_engine_set_threads (engine, 0, &error));
  g_assert_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT);
  g_clear_error (&error);
  g_assert_false (sm_engine_set_max_batch (engine, 5000, &error));
  g_assert_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT);
  g_clear_error (&error);
  g_assert_false (sm_engine_set_backend (engine, missing, &error));
  g_assert_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_NOT_SUPPORTED);
  g_clear_error (&error);
  g_assert_null (sm_engine_new (SM_POOL_DEFAULT_LIMIT, 0, &error));
  g_assert_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT);
  g_clear_error (&error);

  /* A pool too small for the default model: an error, not a crash. */
  g_assert_null (sm_engine_new (1024 * 1024, 1, &error));
  g_assert_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_NO_MEMORY);
}

static void
test_engine_monitor (void)
{
  g_autoptr(SmEngine) engine = new_engine (1);
  SmMonitor *monitor = sm_engine_get_monitor (engine);
  SmMonitorSnapshot *snapshot;
  int throughput = sm_monitor_find_metric (monitor, "engine.throughput");
  int inference = sm_monitor_find_metric (monitor, "stage.inference.count");
  int features = sm_monitor_find_metric (monitor, "stage.features.p50");
  int pool_in_use = sm_monitor_find_metric (monitor, "pool.in_use");
  int simd = sm_monitor_find_metric (monitor, "simd.utilisation");

  g_assert_cmpint (throughput, >=, 0);
  g_assert_cmpint (simd, >=, 0);
  for (int i = 0; i < 50; i++)
    sm_result_free (sm_engine_infer (engine, "search for flights", NULL));

  snapshot = sm_monitor_tick (monitor);
  g_assert_cmpfloat (snapshot->values[throughput], >, 0);
  g_assert_cmpfloat (snapshot->values[inference], >=, 1);
  g_assert_cmpfloat (snapshot->values[features], >, 0);
  g_assert_cmpfloat (snapshot->values[pool_in_use], >, 5);   /* the standard preset's weights */
  g_assert_cmpint (snapshot->bottleneck, >=, 0);
  sm_monitor_snapshot_unref (snapshot);
}

/* A stand-in peer that answers at once, from the hook itself: with the
 * expert's width it is the answer (marked remote, timed as the mesh round
 * trip); with another width it is refused and the query runs here. */
typedef struct
{
  guint  width;
  guint  taken;
  guint  accepted;
} InstantPeer;

static gboolean
instant_peer_take (SmEngineJob *job,
                   gpointer     user_data)
{
  InstantPeer *peer = user_data;
  float output[64];

  for (guint i = 0; i < G_N_ELEMENTS (output); i++)
    output[i] = i == 7 ? 5.0f : 0.0f;
  peer->taken++;
  if (sm_engine_job_complete (job, output, peer->width, 1000, 2000))
    peer->accepted++;
  return TRUE;
}

static void
test_engine_offload (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SmEngine) engine = sm_engine_new (SM_POOL_DEFAULT_LIMIT, 1, &error);
  g_autoptr(SmResult) local = NULL, remote = NULL, refused = NULL, consensus = NULL;
  InstantPeer peer = { .width = 64 };
  SmMonitor *monitor = sm_engine_get_monitor (engine);
  g_autoptr(SmMonitorSnapshot) snapshot = NULL;

  local = sm_engine_infer (engine, "sort a list in python", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (local->output_width, ==, 64);

  /* Installed but at 0 %: nothing is offered. */
  sm_engine_set_offload (engine, instant_peer_take, &peer);
  sm_result_free (sm_engine_infer (engine, "sort a list in python", NULL));
  g_assert_cmpuint (peer.taken, ==, 0);

  sm_engine_set_offload_share (engine, 100, 0);
  remote = sm_engine_infer (engine, "sort a list in python", &error);
  g_assert_no_error (error);
  g_assert_true (remote->remote);
  g_assert_cmpuint (remote->argmax, ==, 7);
  g_assert_cmpuint (remote->queue_ns, ==, 1000);
  g_assert_cmpuint (remote->inference_ns, ==, 2000);

  peer.width = 3;
  refused = sm_engine_infer (engine, "sort a list in python", &error);
  g_assert_no_error (error);
  g_assert_false (refused->remote);
  g_assert_cmpmem (refused->output, refused->output_width * sizeof (float),
                   local->output, local->output_width * sizeof (float));
  g_assert_cmpuint (peer.taken, ==, 2);
  g_assert_cmpuint (peer.accepted, ==, 1);

  /* Consensus queries mix experts here and are never offered. */
  sm_engine_set_consensus (engine, TRUE);
  consensus = sm_engine_infer (engine, "write a python function to solve the equation x + 2 = 5", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (consensus->n_experts, >=, 2);
  g_assert_false (consensus->remote);
  g_assert_cmpuint (peer.taken, ==, 2);

  snapshot = sm_monitor_tick (monitor);
  g_assert_cmpfloat (snapshot->values[sm_monitor_find_metric (monitor, "stage.remote.count")], ==, 1);
  g_assert_cmpfloat (snapshot->values[sm_monitor_find_metric (monitor, "engine.offload_share")], ==, 100);
  sm_engine_set_offload (engine, NULL, NULL);
}

/* The lowest niceness among the running worker threads (100 when there
 * are none); @n_workers says how many there are. */
static int
workers_nice (guint *n_workers)
{
  g_autoptr(GDir) tasks = g_dir_open ("/proc/self/task", 0, NULL);
  const char *tid;
  int nice = 100;

  *n_workers = 0;
  while (tasks != NULL && (tid = g_dir_read_name (tasks)) != NULL)
    {
      g_autofree char *comm_path = g_strdup_printf ("/proc/self/task/%s/comm", tid);
      g_autofree char *stat_path = g_strdup_printf ("/proc/self/task/%s/stat", tid);
      g_autofree char *comm = NULL, *stat = NULL;
      g_auto(GStrv) fields = NULL;

      if (!g_file_get_contents (comm_path, &comm, NULL, NULL) || !g_str_has_prefix (comm, "sm-worker")
          || !g_file_get_contents (stat_path, &stat, NULL, NULL))
        continue;
      /* Fields after the command's closing parenthesis; niceness is the 19th of stat. */
      fields = g_strsplit (strrchr (stat, ')') + 2, " ", -1);
      g_assert_cmpuint (g_strv_length (fields), >, 16);
      nice = MIN (nice, atoi (fields[16]));
      (*n_workers)++;
    }
  return nice;
}

/* A window's program lowers its workers' priority: the running ones and
 * those a later thread change starts. */
static void
test_engine_worker_nice (void)
{
  g_autoptr(SmEngine) engine = sm_engine_new (SM_POOL_DEFAULT_LIMIT, 2, NULL);
  int want = MIN (getpriority (PRIO_PROCESS, 0) + 5, 19);
  guint n = 0;
  gint64 until = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  sm_engine_set_worker_nice (engine, 5);
  while ((workers_nice (&n) != want || n < 2) && g_get_monotonic_time () < until)
    g_usleep (1000);
  g_assert_cmpint (workers_nice (&n), ==, want);
  g_assert_cmpuint (n, ==, 2);
  g_assert_true (sm_engine_set_threads (engine, 3, NULL));
  until = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while ((workers_nice (&n) != want || n < 3) && g_get_monotonic_time () < until)
    g_usleep (1000);
  g_assert_cmpuint (n, ==, 3);
  g_assert_cmpint (workers_nice (&n), ==, want);
}

/* Fails the test, rather than let it hang, when the swap it watches has
 * not ended in time. */
typedef struct
{
  GMutex   lock;
  GCond    done_cond;
  gboolean done;
} Watchdog;

static gpointer
watchdog_main (gpointer data)
{
  Watchdog *w = data;
  gint64 until = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  g_mutex_lock (&w->lock);
  while (!w->done)
    if (!g_cond_wait_until (&w->done_cond, &w->lock, until))
      g_error ("a model swap waited 60 s for the workers: the writer starves");
  g_mutex_unlock (&w->lock);
  return NULL;
}

/* A model swapped while more workers than cores run batches back to back
 * (an overloaded engine): the swap waits for the batches in progress, not
 * for a moment when no worker runs one, which may never come.  With
 * GLib's reader-preferring lock no swap ended in 40 s under `make asan`. */
static void
test_engine_swap_under_overload (void)
{
  SmEngine *engine = new_engine (8);
  SmWorkload *workload = sm_workload_new (engine, SM_WORKLOAD_POISSON, 50000, 1);
  Watchdog w = { 0 };
  GThread *watchdog;

  g_mutex_init (&w.lock);
  g_cond_init (&w.done_cond);
  watchdog = g_thread_new ("watchdog", watchdog_main, &w);
  sm_workload_start (workload);
  g_usleep (200000);
  for (guint i = 0; i < 4; i++)
    g_assert_true (sm_engine_load_preset (engine, i % 2 == 0 ? SM_PRESET_MICRO : SM_PRESET_STANDARD, NULL));
  g_mutex_lock (&w.lock);
  w.done = TRUE;
  g_cond_signal (&w.done_cond);
  g_mutex_unlock (&w.lock);
  g_thread_join (watchdog);
  sm_workload_free (workload);
  sm_engine_free (engine);
  g_mutex_clear (&w.lock);
  g_cond_clear (&w.done_cond);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/engine/engine/infer", test_engine_infer);
  g_test_add_func ("/engine/engine/precision", test_engine_precision);
  g_test_add_func ("/engine/engine/worker-nice", test_engine_worker_nice);
  g_test_add_func ("/engine/engine/async", test_engine_async);
  g_test_add_func ("/engine/engine/cache", test_engine_cache);
  g_test_add_func ("/engine/engine/consensus", test_engine_consensus);
  g_test_add_func ("/engine/engine/models", test_engine_models);
  g_test_add_func ("/engine/engine/concurrent-knobs", test_engine_concurrent_knobs);
  g_test_add_func ("/engine/engine/free-with-queue", test_engine_free_with_queue);
  g_test_add_func ("/engine/engine/knob-errors", test_engine_knob_errors);
  g_test_add_func ("/engine/engine/monitor", test_engine_monitor);
  g_test_add_func ("/engine/engine/offload", test_engine_offload);
  g_test_add_func ("/engine/engine/swap-under-overload", test_engine_swap_under_overload);

  return g_test_run ();
}
