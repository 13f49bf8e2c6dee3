/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#define G_LOG_DOMAIN "sm-engine"

#include <glib/gi18n-lib.h>

#include <string.h>
#include <sys/resource.h>
#include <xxhash.h>

#include "sm-engine-private.h"
#include "sm-error.h"
#include "sm-features.h"
#include "sm-gpu.h"
#include "sm-names.h"
#include "sm-router.h"
#include "sm-safetensors.h"

/* The engine's façade: its life cycle, models, submitting queries, the mesh
 * hook and the knobs.  The batcher, the result cache, the GPU routing and
 * the metrics live in files of their own (sm-engine-private.h). */

static const char * const backend_names[SM_N_BACKENDS] = {
  "auto", "generic", "avx2", "avx512", "neon",
};

static const SmSimdLevel backend_levels[SM_N_BACKENDS] = {
  SM_SIMD_N_LEVELS, SM_SIMD_GENERIC, SM_SIMD_AVX2, SM_SIMD_AVX512, SM_SIMD_NEON,
};

static guint64 next_engine_id;

const char *
sm_backend_get_name (SmBackend backend)
{
  g_return_val_if_fail (backend < SM_N_BACKENDS, NULL);
  return backend_names[backend];
}

gboolean
sm_backend_from_name (const char *name,
                      SmBackend  *backend)
{
  return sm_names_lookup (backend_names, SM_N_BACKENDS, name, backend);
}

const SmKernels *
sm_backend_get_kernels (SmBackend    backend,
                        const char **reason)
{
  g_return_val_if_fail (backend < SM_N_BACKENDS, NULL);

  if (backend == SM_BACKEND_AUTO)
    return sm_simd_get_kernels_for (sm_simd_get_best_level (), reason);

  return sm_simd_get_kernels_for (backend_levels[backend], reason);
}

SmSimdLevel
sm_engine_get_simd_level (SmEngine *engine)
{
  SmBackend backend = g_atomic_int_get (&engine->backend);

  return backend == SM_BACKEND_AUTO ? sm_simd_get_best_level () : backend_levels[backend];
}

const SmKernels *
sm_engine_current_kernels (SmEngine *engine)
{
  return sm_backend_get_kernels (g_atomic_int_get (&engine->backend), NULL);
}

/* ---- life cycle ---- */

SmEngine *
sm_engine_new (gsize    pool_limit,
               guint    threads,
               GError **error)
{
  SmEngine *engine;
  SmPool *pool;

  if (threads == 0 || threads > SM_ENGINE_MAX_THREADS)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT,
                   _("Worker threads must be from 1 to %d, not %u"), SM_ENGINE_MAX_THREADS, threads);
      return NULL;
    }

  pool = sm_pool_new (pool_limit, error);
  if (pool == NULL)
    return NULL;

  engine = g_new0 (SmEngine, 1);
  engine->id = __atomic_add_fetch (&next_engine_id, 1, __ATOMIC_RELAXED);
  engine->pool = pool;
  engine->monitor = sm_monitor_new ();
  for (guint s = 0; s < N_STAGES; s++)
    engine->histograms[s] = sm_histogram_new ();
  sm_rw_lock_init (&engine->model_lock);
  g_mutex_init (&engine->gpu_lock);
  g_mutex_init (&engine->precision_lock);
  engine->gpu_status = g_strdup (sm_gpu_is_built () ? "GPU off" : "GPU support not built");
  engine->gpu_crossover = 0;
  sm_rw_lock_init (&engine->offload_lock);
  for (guint d = 0; d < SM_N_DOMAINS; d++)
    g_mutex_init (&engine->queues[d].lock);
  g_mutex_init (&engine->workers_lock);
  g_mutex_init (&engine->idle_lock);
  g_cond_init (&engine->work);
  engine->workers = g_ptr_array_new ();
  engine->backend = SM_BACKEND_AUTO;
  engine->max_batch = SM_ENGINE_DEFAULT_BATCH;
  engine->max_wait_us = SM_ENGINE_DEFAULT_WAIT_US;
  g_mutex_init (&engine->cache_lock);
  engine->cache = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, sm_result_cache_entry_free);
  g_mutex_init (&engine->flight_lock);
  g_cond_init (&engine->flight_done);

  sm_engine_register_metrics (engine);

  if (!sm_engine_load_preset (engine, SM_PRESET_STANDARD, error))
    {
      sm_engine_free (engine);
      return NULL;
    }

  g_mutex_lock (&engine->workers_lock);
  sm_batcher_start_workers_locked (engine, threads);
  g_mutex_unlock (&engine->workers_lock);

  return engine;
}

void
sm_engine_free (SmEngine *engine)
{
  if (engine == NULL)
    return;

  /* Queries already queued are answered before the workers go. */
  if (engine->workers->len > 0)
    sm_engine_drain (engine);
  sm_monitor_stop (engine->monitor);
  sm_batcher_stop_workers (engine);

  g_ptr_array_unref (engine->workers);
  sm_monitor_free (engine->monitor);
  g_hash_table_unref (engine->cache);
  g_queue_clear (&engine->cache_order);
  sm_model_free (engine->model);
  sm_gpu_model_free (engine->gpu_model);
  sm_gpu_free (engine->gpu);
  g_free (engine->gpu_status);
  g_mutex_clear (&engine->gpu_lock);
  g_mutex_clear (&engine->precision_lock);
  for (guint s = 0; s < N_STAGES; s++)
    sm_histogram_free (engine->histograms[s]);
  sm_pool_free (engine->pool);
  sm_rw_lock_clear (&engine->model_lock);
  sm_rw_lock_clear (&engine->offload_lock);
  for (guint d = 0; d < SM_N_DOMAINS; d++)
    g_mutex_clear (&engine->queues[d].lock);
  g_mutex_clear (&engine->workers_lock);
  g_mutex_clear (&engine->idle_lock);
  g_cond_clear (&engine->work);
  g_mutex_clear (&engine->cache_lock);
  g_mutex_clear (&engine->flight_lock);
  g_cond_clear (&engine->flight_done);
  g_free (engine);
}

/* What peers compare before they share work: XXH64 over every expert's
 * domain, layer shapes, activations, weights and biases, in PyTorch order
 * (so that the hash does not depend on how the kernels pack them). */
static guint64
model_hash (SmModel *model)
{
  XXH64_state_t *state = XXH64_createState ();
  guint64 hash;

  XXH64_reset (state, 0);
  for (guint d = 0; d < SM_N_DOMAINS; d++)
    {
      SmExpert *expert = sm_model_get_expert (model, d);
      guint32 header[2] = { d, expert != NULL ? sm_expert_get_n_layers (expert) : 0 };

      XXH64_update (state, header, sizeof header);
      for (guint l = 0; expert != NULL && l < header[1]; l++)
        {
          const SmLayerShape *shape = sm_expert_get_layer (expert, l);
          guint32 dims[3] = { shape->in, shape->out, (guint32) shape->act.kind };
          g_autofree float *weights = g_new (float, (gsize) shape->in * shape->out);
          g_autofree float *bias = g_new (float, shape->out);

          sm_expert_copy_layer (expert, l, weights, bias);
          XXH64_update (state, dims, sizeof dims);
          XXH64_update (state, &shape->act.alpha, sizeof shape->act.alpha);
          XXH64_update (state, weights, (gsize) shape->in * shape->out * sizeof (float));
          XXH64_update (state, bias, shape->out * sizeof (float));
        }
    }
  hash = XXH64_digest (state);
  XXH64_freeState (state);

  return hash;
}

static void
swap_model (SmEngine *engine,
            SmModel  *model)
{
  SmModel *old;
  SmGpuModel *gpu_model = NULL, *old_gpu_model;
  guint width = 0, output_width = 0;
  guint32 mask = 0;
  guint64 hash = model_hash (model);

  /* The GPU gets the new weights before the model is swapped in. */
  if (g_atomic_int_get (&engine->gpu_mode) != SM_GPU_OFF && engine->gpu != NULL)
    {
      g_autoptr(GError) error = NULL;

      gpu_model = sm_engine_gpu_upload_model (engine->gpu, model, &error);
      if (gpu_model != NULL && g_atomic_int_get (&engine->gpu_mode) == SM_GPU_AUTO)
        sm_engine_gpu_crossover_for (engine, gpu_model, model, hash, &error);
      if (error != NULL)
        {
          g_clear_pointer (&gpu_model, sm_gpu_model_free);
          sm_engine_gpu_failed (engine, error);
        }
    }

  for (guint d = 0; d < SM_N_DOMAINS; d++)
    if (sm_model_get_expert (model, d) != NULL)
      {
        width = MAX (width, sm_expert_get_input_width (sm_model_get_expert (model, d)));
        output_width = MAX (output_width, sm_expert_get_output_width (sm_model_get_expert (model, d)));
        mask |= 1u << d;
      }

  sm_rw_lock_writer_lock (&engine->model_lock);
  old = engine->model;
  engine->model = model;
  old_gpu_model = engine->gpu_model;
  engine->gpu_model = gpu_model;
  engine->model_hash = hash;
  engine->expert_mask = mask;
  g_atomic_int_set (&engine->features_width, width);
  g_atomic_int_set (&engine->output_width, output_width);
  sm_rw_lock_writer_unlock (&engine->model_lock);

  /* Cached answers came from the old model. */
  sm_result_cache_clear (engine);
  sm_gpu_model_free (old_gpu_model);
  sm_model_free (old);
}

gboolean
sm_engine_load_preset (SmEngine  *engine,
                       SmPreset   preset,
                       GError   **error)
{
  SmModel *model = sm_model_new_preset (preset, engine->pool, error);

  if (model == NULL)
    return FALSE;
  if (!sm_engine_prepare_model_precision (engine, model, error))
    {
      sm_model_free (model);
      return FALSE;
    }
  swap_model (engine, model);
  return TRUE;
}

gboolean
sm_engine_load_model (SmEngine    *engine,
                      const char  *path,
                      GError     **error)
{
  SmModel *model = sm_safetensors_load (path, engine->pool, g_atomic_int_get (&engine->precision), error);

  if (model == NULL)
    return FALSE;
  if (!sm_engine_prepare_model_precision (engine, model, error))
    {
      sm_model_free (model);
      return FALSE;
    }
  swap_model (engine, model);
  return TRUE;
}

char *
sm_engine_dup_model_description (SmEngine *engine)
{
  char *description;

  sm_rw_lock_reader_lock (&engine->model_lock);
  description = g_strdup (engine->model != NULL ? sm_model_get_description (engine->model) : NULL);
  sm_rw_lock_reader_unlock (&engine->model_lock);

  return description;
}

/* ---- submitting ---- */

/* Offers a single-expert query to the mesh; TRUE when a peer took it. */
static gboolean
offload (SmEngine *engine,
         Query    *query)
{
  guint percent = g_atomic_int_get (&engine->offload_percent);
  guint queue_above = g_atomic_int_get (&engine->offload_queue_above);
  gboolean taken = FALSE;
  Job *job;

  if (g_atomic_pointer_get (&engine->offload) == NULL)
    return FALSE;
  if (!(queue_above > 0 && (guint) g_atomic_int_get (&engine->queue_depth) > queue_above))
    {
      /* Spread evenly: query n goes out when n·p/100 steps up. */
      guint64 n = __atomic_fetch_add (&engine->offload_counter, 1, __ATOMIC_RELAXED);

      if (percent == 0 || (n + 1) * percent / 100 == n * percent / 100)
        return FALSE;
    }

  job = &query->jobs[0];
  job->query = query;
  job->slot = 0;
  job->enqueued_ns = precise_ns ();

  sm_rw_lock_reader_lock (&engine->offload_lock);
  if (engine->offload != NULL)
    taken = engine->offload (job, engine->offload_data);
  sm_rw_lock_reader_unlock (&engine->offload_lock);

  if (taken)
    __atomic_fetch_add (&engine->offloaded, 1, __ATOMIC_RELAXED);
  return taken;
}

void
sm_engine_set_offload_share (SmEngine *engine,
                             guint     percent,
                             guint     queue_above)
{
  g_atomic_int_set (&engine->offload_percent, MIN (percent, 100));
  g_atomic_int_set (&engine->offload_queue_above, queue_above);
}

guint
sm_engine_get_offload_share (SmEngine *engine,
                             guint    *queue_above)
{
  if (queue_above != NULL)
    *queue_above = g_atomic_int_get (&engine->offload_queue_above);
  return g_atomic_int_get (&engine->offload_percent);
}

void
sm_engine_set_offload (SmEngine            *engine,
                       SmEngineOffloadFunc  func,
                       gpointer             user_data)
{
  sm_rw_lock_writer_lock (&engine->offload_lock);
  g_atomic_pointer_set (&engine->offload, func);
  engine->offload_data = user_data;
  sm_rw_lock_writer_unlock (&engine->offload_lock);
}

SmDomain
sm_engine_job_get_domain (SmEngineJob *job)
{
  return job->query->route.domains[job->slot];
}

const float *
sm_engine_job_get_features (SmEngineJob *job,
                            guint       *width)
{
  *width = job->query->features_width;
  return job->query->features;
}

gboolean
sm_engine_job_complete (SmEngineJob *job,
                        const float *output,
                        guint        width,
                        guint64      queue_ns,
                        guint64      compute_ns)
{
  Query *query = job->query;
  SmEngine *engine = query->engine;
  SmHistogramRecorder **rec;
  SmExpert *expert;
  guint expected;

  /* An answer of another shape than this model's expert gives is not one
   * (a peer whose model changed since its HELLO): it runs here instead. */
  sm_rw_lock_reader_lock (&engine->model_lock);
  expert = engine->model != NULL ? sm_model_get_expert (engine->model, sm_engine_job_get_domain (job)) : NULL;
  expected = expert != NULL ? sm_expert_get_output_width (expert) : 0;
  sm_rw_lock_reader_unlock (&engine->model_lock);
  if (width != expected)
    {
      sm_engine_job_run_locally (job);
      return FALSE;
    }

  rec = sm_engine_get_thread_recorders (engine);

  /* The mesh's thread records its round trips (a recorder of its own). */
  if (rec[STAGE_REMOTE] == NULL)
    rec[STAGE_REMOTE] = sm_histogram_add_recorder (engine->histograms[STAGE_REMOTE]);
  sm_histogram_recorder_record (rec[STAGE_REMOTE], (guint64) MAX (0, precise_ns () - job->enqueued_ns));

  sm_batcher_query_set_output (query, job->slot, output, width);
  atomic_max_u64 (&query->queue_ns, queue_ns);
  atomic_max_u64 (&query->inference_ns, compute_ns);
  g_atomic_int_set (&query->remote, TRUE);

  /* The job lives in its query: nothing touches it after this. */
  if (g_atomic_int_dec_and_test (&query->pending))
    sm_batcher_query_finish (query, rec[STAGE_TOTAL]);
  return TRUE;
}

void
sm_engine_job_fail (SmEngineJob  *job,
                    const GError *error)
{
  sm_batcher_job_fail (job, error, sm_engine_get_thread_recorders (job->query->engine)[STAGE_TOTAL]);
}


void
sm_engine_get_totals (SmEngine       *engine,
                      SmEngineTotals *totals)
{
  g_autoptr(SmHistogramSnapshot) latency = sm_histogram_snapshot (engine->histograms[STAGE_TOTAL]);

  totals->completed = __atomic_load_n (&engine->completed, __ATOMIC_RELAXED);
  totals->failed = __atomic_load_n (&engine->failures, __ATOMIC_RELAXED);
  totals->batches = __atomic_load_n (&engine->batches, __ATOMIC_RELAXED);
  totals->p50_ns = sm_histogram_snapshot_get_percentile (latency, 50);
  totals->p99_ns = sm_histogram_snapshot_get_percentile (latency, 99);
  totals->p999_ns = sm_histogram_snapshot_get_percentile (latency, 99.9);
}

guint
sm_engine_get_queue_depth (SmEngine *engine)
{
  return (guint) MAX (0, g_atomic_int_get (&engine->queue_depth));
}

void
sm_engine_get_model_identity (SmEngine *engine,
                              guint64  *hash,
                              guint32  *expert_mask,
                              guint    *input_width)
{
  sm_rw_lock_reader_lock (&engine->model_lock);
  *hash = engine->model_hash;
  *expert_mask = engine->expert_mask;
  *input_width = g_atomic_int_get (&engine->features_width);
  sm_rw_lock_reader_unlock (&engine->model_lock);
}

void
sm_engine_submit (SmEngine         *engine,
                  const char       *text,
                  gssize            length,
                  gint64            intended_ns,
                  SmEngineDoneFunc  done,
                  gpointer          user_data)
{
  SmHistogramRecorder **rec = sm_engine_get_thread_recorders (engine);
  SmRouterConfig config = { g_atomic_int_get (&engine->consensus), SM_ROUTER_MAX_K, SM_ROUTER_DEFAULT_THRESHOLD };
  gsize n = length < 0 ? strlen (text) : (gsize) length;
  gint64 t0 = precise_ns (), t1, t2;
  guint64 cache_key;
  gboolean keyed;
  SmFeatureSummary summary;
  SmResult *cached;
  Query *query;

  g_return_if_fail (engine != NULL && text != NULL && done != NULL);

  if (intended_ns == 0)
    intended_ns = t0;
  sm_batcher_flight_add (engine);

  /* With the cache off (the default), no hash of the text. */
  keyed = g_atomic_int_get (&engine->cache_size) > 0;
  cache_key = keyed ? XXH3_64bits (text, n) : 0;
  cached = keyed ? sm_result_cache_lookup (engine, cache_key) : NULL;
  if (cached != NULL)
    {
      cached->cached = TRUE;
      cached->features_ns = cached->routing_ns = cached->queue_ns = cached->inference_ns = 0;
      cached->total_ns = (guint64) MAX (0, precise_ns () - intended_ns);
      sm_histogram_recorder_record (rec[STAGE_TOTAL], cached->total_ns);
      __atomic_fetch_add (&engine->completed, 1, __ATOMIC_RELAXED);
      done (cached, NULL, user_data);
      sm_batcher_flight_remove (engine);
      return;
    }

  query = sm_batcher_query_new (engine, MAX (1, g_atomic_int_get (&engine->features_width)), text, n);
  query->done = done;
  query->user_data = user_data;
  query->intended_ns = intended_ns;
  query->cache_key = cache_key;
  query->keyed = keyed;
  sm_features_extract (text, (gssize) n, query->features, query->features_width, &summary);
  t1 = precise_ns ();
  sm_router_route (&summary, &config, &query->route);
  t2 = precise_ns ();

  query->features_ns = (guint64) (t1 - t0);
  query->routing_ns = (guint64) (t2 - t1);
  sm_histogram_recorder_record (rec[STAGE_FEATURES], query->features_ns);
  sm_histogram_recorder_record (rec[STAGE_ROUTING], query->routing_ns);
  query->pending = (gint) query->route.n;

  /* A consensus query mixes several experts here: only single-expert
   * queries go to peers. */
  if (query->route.n == 1 && offload (engine, query))
    return;
  sm_batcher_enqueue (engine, query, t2);
}

void
sm_engine_submit_features (SmEngine         *engine,
                           SmDomain          domain,
                           const float      *features,
                           guint             width,
                           SmEngineDoneFunc  done,
                           gpointer          user_data)
{
  sm_engine_submit_feature_rows (engine, domain, features, 1, width, done, &user_data);
}

void
sm_engine_submit_feature_rows (SmEngine         *engine,
                               SmDomain          domain,
                               const float      *features,
                               guint             rows,
                               guint             width,
                               SmEngineDoneFunc  done,
                               gpointer const   *user_data)
{
  g_autoptr(GError) error = NULL;
  g_autofree Query **queries = NULL;
  gint64 t0 = precise_ns ();
  SmExpert *expert;

  g_return_if_fail (engine != NULL && features != NULL && done != NULL && user_data != NULL);
  g_return_if_fail (domain < SM_N_DOMAINS && rows > 0);

  sm_rw_lock_reader_lock (&engine->model_lock);
  expert = engine->model != NULL ? sm_model_get_expert (engine->model, domain) : NULL;
  if (expert == NULL)
    g_set_error (&error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_NOT_SUPPORTED,
                 _("The model has no %s expert"), sm_domain_get_name (domain));
  else if (width < sm_expert_get_input_width (expert))
    g_set_error (&error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT,
                 _("The %s expert takes %u features, not %u"), sm_domain_get_name (domain),
                 sm_expert_get_input_width (expert), width);
  sm_rw_lock_reader_unlock (&engine->model_lock);

  if (error != NULL)
    {
      __atomic_fetch_add (&engine->failures, rows, __ATOMIC_RELAXED);
      for (guint r = 0; r < rows; r++)
        done (NULL, error, user_data[r]);
      return;
    }

  queries = g_new (Query *, rows);
  for (guint r = 0; r < rows; r++)
    {
      Query *query = sm_batcher_query_new (engine, width, NULL, 0);

      sm_batcher_flight_add (engine);
      query->done = done;
      query->user_data = user_data[r];
      query->intended_ns = t0;
      memcpy (query->features, features + (gsize) r * width, (gsize) width * sizeof (float));
      query->route.n = 1;
      query->route.domains[0] = domain;
      query->route.weights[0] = 1.0f;
      query->pending = 1;
      queries[r] = query;
    }
  sm_batcher_enqueue_many (engine, queries, rows, t0);
}

typedef struct
{
  GMutex    lock;
  GCond     cond;
  gint      finished;
  gboolean  sleeping;     /* under lock: the caller waits on cond */
  SmResult *result;
  GError   *error;
} Waiter;

static void
waiter_done (SmResult     *result,
             const GError *error,
             gpointer      user_data)
{
  Waiter *w = user_data;

  g_mutex_lock (&w->lock);
  w->result = result;
  w->error = error != NULL ? g_error_copy (error) : NULL;
  g_atomic_int_set (&w->finished, TRUE);
  /* A wake-up is a system call, and the caller usually still spins. */
  if (w->sleeping)
    g_cond_signal (&w->cond);
  g_mutex_unlock (&w->lock);
}

SmResult *
sm_engine_infer (SmEngine    *engine,
                 const char  *text,
                 GError     **error)
{
  Waiter w = { 0 };

  g_mutex_init (&w.lock);
  g_cond_init (&w.cond);
  sm_engine_submit (engine, text, -1, 0, waiter_done, &w);

  /* Even when the spin sees the flag, take the lock once: waiter_done()
   * may still hold it, and the waiter must not be freed under it. */
  sm_batcher_spin_until_set (&w.finished);
  g_mutex_lock (&w.lock);
  w.sleeping = TRUE;
  while (!w.finished)
    g_cond_wait (&w.cond, &w.lock);
  g_mutex_unlock (&w.lock);

  g_mutex_clear (&w.lock);
  g_cond_clear (&w.cond);
  if (w.error != NULL)
    g_propagate_error (error, w.error);

  return w.result;
}

static void
task_done (SmResult     *result,
           const GError *error,
           gpointer      user_data)
{
  GTask *task = user_data;

  /* g_task_return_*() hands the result to the caller's main context. */
  if (error != NULL)
    g_task_return_error (task, g_error_copy (error));
  else if (!g_task_return_error_if_cancelled (task))
    g_task_return_pointer (task, result, (GDestroyNotify) sm_result_free);
  else
    sm_result_free (result);
  g_object_unref (task);
}

void
sm_engine_infer_async (SmEngine            *engine,
                       const char          *text,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, sm_engine_infer_async);
  g_task_set_task_data (task, engine, NULL);
  sm_engine_submit (engine, text, -1, 0, task_done, task);
}

SmResult *
sm_engine_infer_finish (SmEngine      *engine,
                        GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

void
sm_engine_drain (SmEngine *engine)
{
  g_mutex_lock (&engine->flight_lock);
  engine->drainers++;
  while (g_atomic_int_get (&engine->in_flight) > 0)
    g_cond_wait (&engine->flight_done, &engine->flight_lock);
  engine->drainers--;
  g_mutex_unlock (&engine->flight_lock);
}

/* ---- knobs ---- */

gboolean
sm_engine_set_backend (SmEngine   *engine,
                       SmBackend   backend,
                       GError    **error)
{
  const char *reason = NULL;

  g_return_val_if_fail (backend < SM_N_BACKENDS, FALSE);

  if (sm_backend_get_kernels (backend, &reason) == NULL)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_NOT_SUPPORTED,
                   _("The %s backend is not available: %s"), backend_names[backend], reason);
      return FALSE;
    }

  g_atomic_int_set (&engine->backend, backend);
  /* Results differ in the last bits between kernels: start afresh. */
  sm_result_cache_clear (engine);
  return TRUE;
}

SmBackend
sm_engine_get_backend (SmEngine *engine)
{
  return g_atomic_int_get (&engine->backend);
}

gboolean
sm_engine_set_threads (SmEngine  *engine,
                       guint      threads,
                       GError   **error)
{
  if (threads == 0 || threads > SM_ENGINE_MAX_THREADS)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT,
                   _("Worker threads must be from 1 to %d, not %u"), SM_ENGINE_MAX_THREADS, threads);
      return FALSE;
    }

  /* Workers finish their batch and go; the queues keep every job. */
  sm_batcher_stop_workers (engine);
  g_mutex_lock (&engine->workers_lock);
  sm_batcher_start_workers_locked (engine, threads);
  g_mutex_unlock (&engine->workers_lock);

  return TRUE;
}

void
sm_engine_set_worker_nice (SmEngine *engine,
                           int       nice)
{
  /* Relative to the caller's: a program already run under `nice` keeps
   * its workers below its own priority too. */
  int base = getpriority (PRIO_PROCESS, 0);

  g_mutex_lock (&engine->workers_lock);
  engine->worker_nice = CLAMP (base + MAX (nice, 0), 0, 19);
  for (guint i = 0; i < engine->workers->len; i++)
    sm_batcher_apply_nice (((Worker *) g_ptr_array_index (engine->workers, i))->tid, engine->worker_nice);
  g_mutex_unlock (&engine->workers_lock);
}

guint
sm_engine_get_threads (SmEngine *engine)
{
  guint threads;

  g_mutex_lock (&engine->workers_lock);
  threads = engine->workers->len;
  g_mutex_unlock (&engine->workers_lock);

  return threads;
}

gboolean
sm_engine_set_max_batch (SmEngine  *engine,
                         guint      max_batch,
                         GError   **error)
{
  if (max_batch == 0 || max_batch > SM_ENGINE_MAX_BATCH)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT,
                   _("The batch size must be from 1 to %d, not %u"), SM_ENGINE_MAX_BATCH, max_batch);
      return FALSE;
    }

  g_atomic_int_set (&engine->max_batch, max_batch);
  sm_batcher_wake_all (engine);
  return TRUE;
}

guint
sm_engine_get_max_batch (SmEngine *engine)
{
  return g_atomic_int_get (&engine->max_batch);
}

void
sm_engine_set_max_wait_us (SmEngine *engine,
                           guint     max_wait_us)
{
  g_atomic_int_set (&engine->max_wait_us, MIN (max_wait_us, 10000000));
  sm_batcher_wake_all (engine);
}

guint
sm_engine_get_max_wait_us (SmEngine *engine)
{
  return g_atomic_int_get (&engine->max_wait_us);
}

void
sm_engine_set_consensus (SmEngine *engine,
                         gboolean  consensus)
{
  g_atomic_int_set (&engine->consensus, !!consensus);
}

gboolean
sm_engine_get_consensus (SmEngine *engine)
{
  return g_atomic_int_get (&engine->consensus);
}


gboolean
sm_engine_set_pool_limit (SmEngine  *engine,
                          gsize      limit,
                          GError   **error)
{
  return sm_pool_set_limit (engine->pool, limit, error);
}

guint
sm_engine_compact_pool (SmEngine *engine)
{
  guint threads = sm_engine_get_threads (engine);
  guint moved;

  /* Blocks move: no worker may be inside a batch, and the writer lock
   * keeps callers of the model out too. */
  sm_batcher_stop_workers (engine);
  sm_rw_lock_writer_lock (&engine->model_lock);
  moved = sm_pool_compact (engine->pool);
  sm_rw_lock_writer_unlock (&engine->model_lock);
  g_mutex_lock (&engine->workers_lock);
  sm_batcher_start_workers_locked (engine, threads);
  g_mutex_unlock (&engine->workers_lock);

  return moved;
}

SmMonitor *
sm_engine_get_monitor (SmEngine *engine)
{
  return engine->monitor;
}

SmPool *
sm_engine_get_pool (SmEngine *engine)
{
  return engine->pool;
}

