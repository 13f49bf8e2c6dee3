/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#define G_LOG_DOMAIN "sm-engine"

#include <math.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <xxhash.h>

#include "sm-engine.h"
#include "sm-error.h"
#include "sm-features.h"
#include "sm-gpu.h"
#include "sm-gpu-calibration.h"
#include "sm-names.h"
#include "sm-router.h"
#include "sm-safetensors.h"

enum {
  STAGE_FEATURES,
  STAGE_ROUTING,
  STAGE_QUEUE,
  STAGE_INFERENCE,
  STAGE_REMOTE,
  STAGE_GPU,
  STAGE_TOTAL,
  N_STAGES
};

static const struct {
  const char *id;
  const char *name;
  gboolean    is_stage;
} stages[N_STAGES] = {
  { "stage.features", "Features", TRUE },
  { "stage.routing", "Routing", TRUE },
  { "stage.queue", "Queue wait", TRUE },
  { "stage.inference", "Inference", TRUE },
  { "stage.remote", "Mesh round trip", TRUE },
  { "stage.gpu", "GPU dispatch", TRUE },
  { "latency", "End to end", FALSE },
};

typedef struct _Query Query;

/* One expert's share of a query, waiting in that expert's queue or, as an
 * SmEngineJob, at a mesh peer. */
typedef struct _SmEngineJob
{
  Query   *query;
  guint    slot;          /* which of the query's experts */
  gint64   enqueued_ns;
} Job;

struct _Query
{
  SmEngine          *engine;
  SmEngineDoneFunc   done;
  gpointer           user_data;
  char              *text;
  gsize              length;
  gint64             intended_ns;
  guint64            features_ns;
  guint64            routing_ns;
  guint64            cache_key;
  SmRoute            route;
  float             *features;
  guint              features_width;
  float             *outputs[SM_ROUTER_MAX_K];
  guint              output_widths[SM_ROUTER_MAX_K];
  guint64            queue_ns;      /* the longest of its jobs */
  guint64            inference_ns;
  gint               pending;       /* jobs not yet done */
  GError            *error;         /* the first job's error, under engine->query_lock */
  gboolean           remote;        /* a peer answered it */
};

/* A worker's own recorders and scratch arena. */
typedef struct
{
  SmEngine            *engine;
  GThread             *thread;
  gint                 tid;           /* the kernel's id, once it runs */
  SmPoolArena         *arena;
  SmHistogramRecorder *recorders[N_STAGES];
} Worker;

typedef struct
{
  guint64  key;
  SmResult result;      /* output owned here */
  GList   *link;
} CacheEntry;

struct _SmEngine
{
  guint64       id;                /* unique per process: see get_thread_recorders() */
  SmPool       *pool;
  SmMonitor    *monitor;
  SmHistogram  *histograms[N_STAGES];

  /* The model, swapped under the writer lock; workers hold the reader lock
   * while they run a batch. */
  GRWLock       model_lock;
  SmModel      *model;
  guint         features_width;    /* widest expert input, atomic */
  guint64       model_hash;        /* under model_lock */
  guint32       expert_mask;

  /* Remote inference: the mesh node's hook, swapped under the writer lock
   * so that a node going away never has a call still running in it. */
  GRWLock             offload_lock;
  SmEngineOffloadFunc offload;
  gpointer            offload_data;
  guint               offload_percent;     /* knobs, atomic */

  /* The GPU: the device (made on first use, under gpu_lock), the model on
   * it (swapped with the model, under model_lock), how batches use it. */
  GMutex              gpu_lock;
  SmGpu              *gpu;
  SmGpuModel         *gpu_model;
  gint                gpu_mode;            /* SmGpuMode, atomic */
  guint               gpu_crossover;       /* atomic: AUTO's smallest batch; 0 until measured */
  guint64             gpu_calibrated_hash; /* the model it was measured on, under gpu_lock */
  char               *gpu_status;          /* under gpu_lock */
  guint64             gpu_batches;         /* atomic */
  guint64             gpu_busy_ns;         /* atomic: the dispatches' own time */
  guint64             gpu_busy_seen_ns;    /* the busy gauge's last reading, and when */
  gint64              gpu_busy_seen_at;
  guint               offload_queue_above;
  guint64             offload_counter;

  /* Queues, one per domain, and the workers that drain them. */
  GMutex        queue_lock;
  GCond         work;
  GQueue        queues[SM_N_DOMAINS];
  guint         next_queue;
  gint          running;           /* written under queue_lock, read atomically too */
  gint          spinners;          /* idle workers spinning for work: 0 or 1 */
  GPtrArray    *workers;
  gint          worker_nice;       /* each worker's niceness (0: as the process) */

  /* Knobs, read atomically on the hot path */
  gint          backend;
  guint         max_batch;
  guint         max_wait_us;
  gint          consensus;

  /* Result cache, LRU */
  GMutex        cache_lock;
  GHashTable   *cache;
  GQueue        cache_order;       /* most recent first */
  guint         cache_size;

  /* Counters for the monitor */
  guint64       completed;
  guint64       batches;
  guint64       batched_jobs;
  guint64       cache_hits;
  guint64       cache_lookups;
  guint64       failures;
  guint64       offloaded;
  gint          queue_depth;

  /* Queries in flight, for sm_engine_drain() and shutdown */
  GMutex        flight_lock;
  GCond         flight_done;
  guint         in_flight;

  /* Mean batch, between two readings by the monitor */
  guint64       last_batches;
  guint64       last_batched_jobs;
  guint64       last_hits;
  guint64       last_lookups;
};

static const char * const backend_names[SM_N_BACKENDS] = {
  "auto", "generic", "avx2", "avx512", "neon",
};

static const SmSimdLevel backend_levels[SM_N_BACKENDS] = {
  SM_SIMD_N_LEVELS, SM_SIMD_GENERIC, SM_SIMD_AVX2, SM_SIMD_AVX512, SM_SIMD_NEON,
};

static GPrivate thread_recorders = G_PRIVATE_INIT (g_free);

typedef struct
{
  guint64              engine_id;
  SmHistogramRecorder *recorders[N_STAGES];
} ThreadRecorders;

static guint64 next_engine_id;

static inline gint64
now_ns (void)
{
  return g_get_monotonic_time () * 1000;
}

/* A precise clock for the short stages: the monotonic time in µs is too
 * coarse for a one-microsecond feature extraction. */
static inline gint64
precise_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gint64) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The calling thread's recorders for this engine (submitting threads are
 * any threads: each gets its own, once).  Engines are told apart by id, not
 * address: a new engine may be allocated where a freed one was. */
static SmHistogramRecorder **
get_thread_recorders (SmEngine *engine)
{
  ThreadRecorders *tr = g_private_get (&thread_recorders);

  if (tr == NULL || tr->engine_id != engine->id)
    {
      tr = g_new0 (ThreadRecorders, 1);
      tr->engine_id = engine->id;
      /* A submitting thread times these stages only (a recorder is 35 KiB). */
      tr->recorders[STAGE_FEATURES] = sm_histogram_add_recorder (engine->histograms[STAGE_FEATURES]);
      tr->recorders[STAGE_ROUTING] = sm_histogram_add_recorder (engine->histograms[STAGE_ROUTING]);
      tr->recorders[STAGE_TOTAL] = sm_histogram_add_recorder (engine->histograms[STAGE_TOTAL]);
      g_private_replace (&thread_recorders, tr);
    }

  return tr->recorders;
}

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

static const SmKernels *
current_kernels (SmEngine *engine)
{
  return sm_backend_get_kernels (g_atomic_int_get (&engine->backend), NULL);
}

/* ---- results and the cache ---- */

void
sm_result_free (SmResult *result)
{
  if (result == NULL)
    return;
  g_free (result->output);
  g_free (result);
}

static SmResult *
result_copy (const SmResult *result)
{
  SmResult *copy = g_memdup2 (result, sizeof *result);

  copy->output = g_memdup2 (result->output, result->output_width * sizeof (float));
  return copy;
}

static void
cache_entry_free (gpointer data)
{
  CacheEntry *entry = data;

  g_free (entry->result.output);
  g_free (entry);
}

static void
cache_clear_locked (SmEngine *engine)
{
  g_hash_table_remove_all (engine->cache);
  g_queue_clear (&engine->cache_order);
}

static void
cache_clear (SmEngine *engine)
{
  g_mutex_lock (&engine->cache_lock);
  cache_clear_locked (engine);
  g_mutex_unlock (&engine->cache_lock);
}

static SmResult *
cache_lookup (SmEngine *engine,
              guint64   key)
{
  SmResult *result = NULL;
  CacheEntry *entry;

  g_mutex_lock (&engine->cache_lock);
  if (engine->cache_size > 0)
    {
      __atomic_fetch_add (&engine->cache_lookups, 1, __ATOMIC_RELAXED);
      entry = g_hash_table_lookup (engine->cache, &key);
      if (entry != NULL)
        {
          __atomic_fetch_add (&engine->cache_hits, 1, __ATOMIC_RELAXED);
          g_queue_unlink (&engine->cache_order, entry->link);
          g_queue_push_head_link (&engine->cache_order, entry->link);
          result = result_copy (&entry->result);
        }
    }
  g_mutex_unlock (&engine->cache_lock);

  return result;
}

static void
cache_insert (SmEngine       *engine,
              guint64         key,
              const SmResult *result)
{
  CacheEntry *entry;

  g_mutex_lock (&engine->cache_lock);
  if (engine->cache_size > 0 && !g_hash_table_contains (engine->cache, &key))
    {
      while (g_hash_table_size (engine->cache) >= engine->cache_size)
        {
          CacheEntry *oldest = g_queue_peek_tail (&engine->cache_order);

          g_queue_pop_tail (&engine->cache_order);
          g_hash_table_remove (engine->cache, &oldest->key);
        }
      entry = g_new0 (CacheEntry, 1);
      entry->key = key;
      entry->result = *result;
      entry->result.output = g_memdup2 (result->output, result->output_width * sizeof (float));
      g_queue_push_head (&engine->cache_order, entry);
      entry->link = engine->cache_order.head;
      g_hash_table_insert (engine->cache, &entry->key, entry);
    }
  g_mutex_unlock (&engine->cache_lock);
}

/* ---- completing queries ---- */

static void
flight_add (SmEngine *engine)
{
  g_mutex_lock (&engine->flight_lock);
  engine->in_flight++;
  g_mutex_unlock (&engine->flight_lock);
}

static void
flight_remove (SmEngine *engine)
{
  g_mutex_lock (&engine->flight_lock);
  if (--engine->in_flight == 0)
    g_cond_broadcast (&engine->flight_done);
  g_mutex_unlock (&engine->flight_lock);
}

static void
query_free (Query *query)
{
  for (guint s = 0; s < SM_ROUTER_MAX_K; s++)
    g_free (query->outputs[s]);
  g_free (query->features);
  g_free (query->text);
  g_clear_error (&query->error);
  g_free (query);
}

/* Mixes the experts' outputs (those as wide as the first one's), finds the
 * answer and its softmax confidence, and hands the result over. */
static void
query_finish (Query               *query,
              SmHistogramRecorder *total_recorder)
{
  SmEngine *engine = query->engine;
  SmResult *result;
  guint width;
  double weight_sum = 0, max = -INFINITY, sum = 0;

  if (query->error != NULL)
    {
      __atomic_fetch_add (&engine->failures, 1, __ATOMIC_RELAXED);
      query->done (NULL, query->error, query->user_data);
      query_free (query);
      flight_remove (engine);
      return;
    }

  result = g_new0 (SmResult, 1);
  width = query->output_widths[0];
  result->domain = query->route.domains[0];
  result->output = g_new0 (float, width);
  result->output_width = width;

  for (guint s = 0; s < query->route.n; s++)
    if (query->output_widths[s] == width)
      {
        result->experts[result->n_experts] = query->route.domains[s];
        result->weights[result->n_experts] = query->route.weights[s];
        weight_sum += query->route.weights[s];
        result->n_experts++;
      }
  for (guint s = 0, e = 0; s < query->route.n; s++)
    if (query->output_widths[s] == width)
      {
        float w = (float) (result->weights[e] / weight_sum);

        result->weights[e++] = w;
        for (guint i = 0; i < width; i++)
          result->output[i] += w * query->outputs[s][i];
      }

  for (guint i = 0; i < width; i++)
    if (result->output[i] > max)
      {
        max = result->output[i];
        result->argmax = i;
      }
  for (guint i = 0; i < width; i++)
    sum += exp ((double) result->output[i] - max);
  result->confidence = (float) (1.0 / sum);

  result->features_ns = query->features_ns;
  result->routing_ns = query->routing_ns;
  result->queue_ns = query->queue_ns;
  result->inference_ns = query->inference_ns;
  result->total_ns = (guint64) MAX (0, precise_ns () - query->intended_ns);
  result->remote = query->remote;
  sm_histogram_recorder_record (total_recorder, result->total_ns);

  /* Queries that came as features (from a peer) have no text to key on. */
  if (query->text != NULL)
    cache_insert (engine, query->cache_key, result);
  __atomic_fetch_add (&engine->completed, 1, __ATOMIC_RELAXED);

  query->done (result, NULL, query->user_data);
  query_free (query);
  flight_remove (engine);
}

static void
job_fail (Job                 *job,
          const GError        *error,
          SmHistogramRecorder *total_recorder)
{
  Query *query = job->query;

  g_mutex_lock (&query->engine->flight_lock);
  if (query->error == NULL)
    query->error = g_error_copy (error);
  g_mutex_unlock (&query->engine->flight_lock);

  if (g_atomic_int_dec_and_test (&query->pending))
    query_finish (query, total_recorder);
  g_free (job);
}

/* ---- workers ---- */

/* Runs one batch of jobs for @domain; called without the queue lock. */
/* ---- the GPU ---- */

static void
set_gpu_status (SmEngine   *engine,
                char       *status)
{
  g_mutex_lock (&engine->gpu_lock);
  g_free (engine->gpu_status);
  engine->gpu_status = status;
  g_mutex_unlock (&engine->gpu_lock);
}

/* A batch the GPU could not run: it is run on the CPU (nothing is lost) and
 * so is everything after it, with the reason for people to see. */
static void
gpu_failed (SmEngine     *engine,
            const GError *error)
{
  /* Another worker's batch may fail the same way at once: the first
   * reason is the one that says what happened. */
  if (g_atomic_int_exchange (&engine->gpu_mode, SM_GPU_OFF) == SM_GPU_OFF)
    return;
  g_message ("GPU off, the CPU runs the model: %s", error->message);
  set_gpu_status (engine, g_strdup_printf ("GPU off: %s", error->message));
}

static SmGpuModel *
upload_model (SmGpu    *gpu,
              SmModel  *model,
              GError  **error)
{
  SmExpert *experts[SM_N_DOMAINS];

  for (guint d = 0; d < SM_N_DOMAINS; d++)
    experts[d] = sm_model_get_expert (model, d);
  return sm_gpu_model_new (gpu, experts, SM_N_DOMAINS, error);
}

/* AUTO's crossover for @model (already on the GPU as @gpu_model): measured
 * once per model, then remembered. */
static guint
crossover_for (SmEngine    *engine,
               SmGpuModel  *gpu_model,
               SmModel     *model,
               guint64      hash,
               GError     **error)
{
  guint crossover = 0;

  g_mutex_lock (&engine->gpu_lock);
  if (engine->gpu_calibrated_hash == hash && g_atomic_int_get (&engine->gpu_crossover) != 0)
    crossover = (guint) g_atomic_int_get (&engine->gpu_crossover);
  g_mutex_unlock (&engine->gpu_lock);
  if (crossover != 0)
    return crossover;

  for (guint d = 0; d < SM_N_DOMAINS; d++)
    if (sm_model_get_expert (model, d) != NULL)
      {
        crossover = sm_gpu_calibrate (gpu_model, d, sm_model_get_expert (model, d), current_kernels (engine),
                                      SM_ENGINE_MAX_BATCH, NULL, error);
        break;
      }
  if (crossover != 0 && (error == NULL || *error == NULL))
    {
      g_mutex_lock (&engine->gpu_lock);
      engine->gpu_calibrated_hash = hash;
      g_atomic_int_set (&engine->gpu_crossover, crossover);
      g_mutex_unlock (&engine->gpu_lock);
    }
  return crossover;
}

/* The batch on the GPU when the mode says so, otherwise (and when the GPU
 * fails) with the CPU kernels.  Under the model's reader lock. */
static void
run_expert (Worker          *worker,
            SmDomain         domain,
            SmExpert        *expert,
            const SmKernels *kernels,
            const float     *x,
            guint            n,
            float           *y,
            float           *scratch)
{
  SmEngine *engine = worker->engine;
  SmGpuMode mode = g_atomic_int_get (&engine->gpu_mode);
  g_autoptr(GError) error = NULL;
  SmGpuTiming timing;

  if (engine->gpu_model != NULL
      && (mode == SM_GPU_ON || (mode == SM_GPU_AUTO && n >= (guint) g_atomic_int_get (&engine->gpu_crossover))))
    {
      if (sm_gpu_model_forward (engine->gpu_model, domain, x, n, y, &timing, &error))
        {
          guint64 busy_ns = (guint64) ((isnan (timing.dispatch_us) ? timing.total_us : timing.dispatch_us) * 1e3);

          if (worker->recorders[STAGE_GPU] == NULL)
            worker->recorders[STAGE_GPU] = sm_histogram_add_recorder (engine->histograms[STAGE_GPU]);
          sm_histogram_recorder_record (worker->recorders[STAGE_GPU], busy_ns);
          __atomic_fetch_add (&engine->gpu_batches, 1, __ATOMIC_RELAXED);
          __atomic_fetch_add (&engine->gpu_busy_ns, busy_ns, __ATOMIC_RELAXED);
          return;
        }
      gpu_failed (engine, error);
    }
  sm_expert_forward (expert, kernels, x, n, y, scratch);
}

static void
run_batch (Worker   *worker,
           SmDomain  domain,
           Job     **jobs,
           guint     n)
{
  SmEngine *engine = worker->engine;
  SmHistogramRecorder **rec = worker->recorders;
  g_autoptr(GError) error = NULL;
  const SmKernels *kernels = current_kernels (engine);
  SmExpert *expert;
  gint64 start = precise_ns ();
  guint64 inference_ns;
  guint8 narrow[SM_ENGINE_MAX_BATCH] = { 0 };

  g_rw_lock_reader_lock (&engine->model_lock);
  expert = engine->model != NULL ? sm_model_get_expert (engine->model, domain) : NULL;

  if (expert == NULL)
    g_set_error (&error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_NOT_SUPPORTED,
                 "The model has no %s expert", sm_domain_get_name (domain));
  else
    {
      guint in = sm_expert_get_input_width (expert), out = sm_expert_get_output_width (expert);
      gsize needed = ((gsize) n * in + (gsize) n * out + sm_expert_scratch_floats (expert, n) + 48) * sizeof (float);
      float *x, *y, *scratch;

      /* The arena follows the largest batch and model seen. */
      if (worker->arena == NULL || sm_pool_arena_get_capacity (worker->arena) < needed)
        {
          g_clear_pointer (&worker->arena, sm_pool_arena_free);
          worker->arena = sm_pool_arena_new (engine->pool, needed, &error);
          if (worker->arena == NULL)
            g_prefix_error (&error, "No scratch memory for a batch of %u: ", n);
        }

      if (worker->arena != NULL)
        {
          x = sm_pool_arena_alloc (worker->arena, (gsize) n * in * sizeof (float));
          y = sm_pool_arena_alloc (worker->arena, (gsize) n * out * sizeof (float));
          scratch = sm_pool_arena_alloc (worker->arena, sm_expert_scratch_floats (expert, n) * sizeof (float));
          g_assert (x != NULL && y != NULL && scratch != NULL);

          for (guint j = 0; j < n; j++)
            {
              Query *query = jobs[j]->query;

              /* A model swapped since submission may want wider features;
               * extract them again into the batch, leaving the query as it
               * is (another worker may be reading it for another expert).
               * A peer's features cannot be: that query fails alone. */
              if (query->features_width >= in)
                memcpy (x + (gsize) j * in, query->features, in * sizeof (float));
              else if (query->text != NULL)
                sm_features_extract (query->text, (gssize) query->length, x + (gsize) j * in, in, NULL);
              else
                {
                  narrow[j] = 1;
                  memset (x + (gsize) j * in, 0, in * sizeof (float));
                }
            }

          run_expert (worker, domain, expert, kernels, x, n, y, scratch);

          for (guint j = 0; j < n; j++)
            {
              Query *query = jobs[j]->query;

              query->outputs[jobs[j]->slot] = g_memdup2 (y + (gsize) j * out, out * sizeof (float));
              query->output_widths[jobs[j]->slot] = out;
            }
          sm_pool_arena_reset (worker->arena);
        }
    }
  g_rw_lock_reader_unlock (&engine->model_lock);

  inference_ns = (guint64) (precise_ns () - start);
  if (error == NULL)
    sm_histogram_recorder_record (rec[STAGE_INFERENCE], inference_ns);
  __atomic_fetch_add (&engine->batches, 1, __ATOMIC_RELAXED);
  __atomic_fetch_add (&engine->batched_jobs, n, __ATOMIC_RELAXED);

  for (guint j = 0; j < n; j++)
    {
      Job *job = jobs[j];
      Query *query = job->query;
      guint64 waited = (guint64) MAX (0, start - job->enqueued_ns);

      if (error != NULL)
        {
          job_fail (job, error, rec[STAGE_TOTAL]);
          continue;
        }
      if (narrow[j])
        {
          g_autoptr(GError) narrow_error = g_error_new (SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT,
                                                        "The model changed: its %s expert needs more features than the query has",
                                                        sm_domain_get_name (domain));

          job_fail (job, narrow_error, rec[STAGE_TOTAL]);
          continue;
        }

      sm_histogram_recorder_record (rec[STAGE_QUEUE], waited);
      g_mutex_lock (&engine->flight_lock);
      query->queue_ns = MAX (query->queue_ns, waited);
      query->inference_ns = MAX (query->inference_ns, inference_ns);
      g_mutex_unlock (&engine->flight_lock);

      if (g_atomic_int_dec_and_test (&query->pending))
        query_finish (query, rec[STAGE_TOTAL]);
      g_free (job);
    }
}

/* The queue to serve next: one whose batch is full or whose oldest job has
 * waited max_wait, round robin; else -1 and, in @deadline, when the first
 * non-empty queue will be due (0 when all are empty). */
static int
pick_queue_locked (SmEngine *engine,
                   gint64    now,
                   gint64   *deadline)
{
  guint max_batch = g_atomic_int_get (&engine->max_batch);
  gint64 max_wait = (gint64) g_atomic_int_get (&engine->max_wait_us) * 1000;

  *deadline = 0;
  for (guint i = 0; i < SM_N_DOMAINS; i++)
    {
      guint d = (engine->next_queue + i) % SM_N_DOMAINS;
      GQueue *queue = &engine->queues[d];
      Job *oldest;
      gint64 due;

      if (g_queue_is_empty (queue))
        continue;
      oldest = g_queue_peek_head (queue);
      due = oldest->enqueued_ns + max_wait;
      if (queue->length >= max_batch || now >= due)
        {
          engine->next_queue = (d + 1) % SM_N_DOMAINS;
          return (int) d;
        }
      if (*deadline == 0 || due < *deadline)
        *deadline = due;
    }

  return -1;
}

/* A worker that runs out of work, and a caller waiting for its answer,
 * spin this long before they sleep: waking a sleeping thread costs tens of
 * microseconds on a virtual machine, more than a small model's whole
 * forward pass.  Bounded, so an idle engine still sleeps. */
#define SPIN_NS 100000

static inline void
cpu_relax (void)
{
#if SM_ARCH_X86_64
  __builtin_ia32_pause ();
#elif SM_ARCH_AARCH64
  __asm__ volatile ("yield");
#endif
}

/* Spins until @flag is non-zero or SPIN_NS pass; returns the flag. */
static gboolean
spin_until_set (gint *flag)
{
  gint64 until = precise_ns () + SPIN_NS;

  while (!g_atomic_int_get (flag))
    {
      for (int i = 0; i < 64; i++)
        cpu_relax ();
      if (precise_ns () > until)
        return FALSE;
    }
  return TRUE;
}

/* One idle worker at a time spins: the others sleep at once, so that
 * spinning never takes more than one core from the threads that submit. */
static gboolean
spin_for_work (SmEngine *engine)
{
  gint64 until = precise_ns () + SPIN_NS;
  gboolean work = TRUE;

  if (!g_atomic_int_compare_and_exchange (&engine->spinners, 0, 1))
    return g_atomic_int_get (&engine->queue_depth) > 0;

  while (g_atomic_int_get (&engine->queue_depth) == 0 && g_atomic_int_get (&engine->running))
    {
      for (int i = 0; i < 64; i++)
        cpu_relax ();
      if (precise_ns () > until)
        {
          work = FALSE;
          break;
        }
    }
  g_atomic_int_set (&engine->spinners, 0);

  return work;
}

static void
apply_nice (gint tid,
            int  nice)
{
  /* Linux gives each thread its own niceness.  Raising it is always
   * allowed; a failure leaves the worker as it was. */
  if (tid > 0)
    (void) setpriority (PRIO_PROCESS, (id_t) tid, nice);
}

static gpointer
worker_main (gpointer data)
{
  Worker *worker = data;
  SmEngine *engine = worker->engine;
  g_autofree Job **batch = g_new (Job *, SM_ENGINE_MAX_BATCH);

  g_mutex_lock (&engine->queue_lock);
  worker->tid = (gint) syscall (SYS_gettid);
  if (engine->worker_nice != 0)
    apply_nice (worker->tid, engine->worker_nice);
  g_mutex_unlock (&engine->queue_lock);

  g_mutex_lock (&engine->queue_lock);
  while (engine->running)
    {
      gint64 deadline;
      int d = pick_queue_locked (engine, precise_ns (), &deadline);
      guint n = 0, max_batch;

      if (d < 0)
        {
          if (deadline == 0)
            {
              gboolean work;

              g_mutex_unlock (&engine->queue_lock);
              work = spin_for_work (engine);
              g_mutex_lock (&engine->queue_lock);
              if (!work && engine->running && g_atomic_int_get (&engine->queue_depth) == 0)
                g_cond_wait (&engine->work, &engine->queue_lock);
            }
          else
            g_cond_wait_until (&engine->work, &engine->queue_lock,
                               g_get_monotonic_time () + MAX (1, (deadline - precise_ns ()) / 1000));
          continue;
        }

      max_batch = g_atomic_int_get (&engine->max_batch);
      while (n < max_batch && !g_queue_is_empty (&engine->queues[d]))
        batch[n++] = g_queue_pop_head (&engine->queues[d]);
      g_atomic_int_add (&engine->queue_depth, -(int) n);

      g_mutex_unlock (&engine->queue_lock);
      run_batch (worker, (SmDomain) d, batch, n);
      g_mutex_lock (&engine->queue_lock);
    }
  g_mutex_unlock (&engine->queue_lock);

  return NULL;
}

static void
start_workers_locked (SmEngine *engine,
                      guint     threads)
{
  g_atomic_int_set (&engine->running, TRUE);
  for (guint i = 0; i < threads; i++)
    {
      Worker *worker = g_new0 (Worker, 1);
      g_autofree char *name = g_strdup_printf ("sm-worker-%u", i);

      worker->engine = engine;
      /* A worker times the queue wait, inference and, completing queries,
       * the end-to-end latency. */
      worker->recorders[STAGE_QUEUE] = sm_histogram_add_recorder (engine->histograms[STAGE_QUEUE]);
      worker->recorders[STAGE_INFERENCE] = sm_histogram_add_recorder (engine->histograms[STAGE_INFERENCE]);
      worker->recorders[STAGE_TOTAL] = sm_histogram_add_recorder (engine->histograms[STAGE_TOTAL]);
      worker->thread = g_thread_new (name, worker_main, worker);
      g_ptr_array_add (engine->workers, worker);
    }
}

/* Stops every worker after its current batch; queued jobs stay queued. */
static void
stop_workers (SmEngine *engine)
{
  g_autoptr(GPtrArray) workers = NULL;

  g_mutex_lock (&engine->queue_lock);
  g_atomic_int_set (&engine->running, FALSE);
  g_cond_broadcast (&engine->work);
  workers = g_steal_pointer (&engine->workers);
  engine->workers = g_ptr_array_new ();
  g_mutex_unlock (&engine->queue_lock);

  for (guint i = 0; i < workers->len; i++)
    {
      Worker *worker = g_ptr_array_index (workers, i);

      g_thread_join (worker->thread);
      sm_pool_arena_free (worker->arena);
      g_free (worker);
    }
}

/* ---- monitor sources ---- */

static double
gauge_queue_depth (gpointer data)
{
  return g_atomic_int_get (&((SmEngine *) data)->queue_depth);
}

static double
gauge_mean_batch (gpointer data)
{
  SmEngine *engine = data;
  guint64 batches = __atomic_load_n (&engine->batches, __ATOMIC_RELAXED);
  guint64 jobs = __atomic_load_n (&engine->batched_jobs, __ATOMIC_RELAXED);
  double mean = batches > engine->last_batches
                ? (double) (jobs - engine->last_batched_jobs) / (batches - engine->last_batches) : NAN;

  engine->last_batches = batches;
  engine->last_batched_jobs = jobs;
  return mean;
}

static double
gauge_cache_hit_rate (gpointer data)
{
  SmEngine *engine = data;
  guint64 hits = __atomic_load_n (&engine->cache_hits, __ATOMIC_RELAXED);
  guint64 lookups = __atomic_load_n (&engine->cache_lookups, __ATOMIC_RELAXED);
  double rate = lookups > engine->last_lookups
                ? 100.0 * (hits - engine->last_hits) / (lookups - engine->last_lookups) : NAN;

  engine->last_hits = hits;
  engine->last_lookups = lookups;
  return rate;
}

static guint64
counter_completed (gpointer data)
{
  return __atomic_load_n (&((SmEngine *) data)->completed, __ATOMIC_RELAXED);
}

static guint64
counter_offloaded (gpointer data)
{
  return __atomic_load_n (&((SmEngine *) data)->offloaded, __ATOMIC_RELAXED);
}

static double
gauge_offload_share (gpointer data)
{
  return g_atomic_int_get (&((SmEngine *) data)->offload_percent);
}

static guint64
counter_failures (gpointer data)
{
  return __atomic_load_n (&((SmEngine *) data)->failures, __ATOMIC_RELAXED);
}

#define POOL_GAUGE(fn, expr)                   \
  static double                                \
  fn (gpointer data)                           \
  {                                            \
    SmPoolStats s;                             \
    sm_pool_get_stats (data, &s);              \
    return (expr);                             \
  }

POOL_GAUGE (gauge_pool_in_use, s.in_use / 1048576.0)
POOL_GAUGE (gauge_pool_reserved, s.reserved / 1048576.0)
POOL_GAUGE (gauge_pool_limit, s.limit / 1048576.0)
POOL_GAUGE (gauge_pool_fragmentation, 100.0 * s.fragmentation)
POOL_GAUGE (gauge_pool_failures, (double) s.failures)

static guint64
counter_gpu_batches (gpointer data)
{
  return __atomic_load_n (&((SmEngine *) data)->gpu_batches, __ATOMIC_RELAXED);
}

/* The share of time the GPU ran dispatches since the last tick (the
 * monitor's thread is the only caller). */
static double
gauge_gpu_busy (gpointer data)
{
  SmEngine *engine = data;
  guint64 busy = __atomic_load_n (&engine->gpu_busy_ns, __ATOMIC_RELAXED);
  gint64 now = precise_ns ();
  double share = engine->gpu_busy_seen_at > 0 && now > engine->gpu_busy_seen_at
                 ? 100.0 * (double) (busy - engine->gpu_busy_seen_ns) / (double) (now - engine->gpu_busy_seen_at)
                 : 0;

  engine->gpu_busy_seen_ns = busy;
  engine->gpu_busy_seen_at = now;
  return MIN (share, 100);
}

static void
register_metrics (SmEngine *engine)
{
  SmMonitor *m = engine->monitor;

  for (guint s = 0; s < N_STAGES; s++)
    sm_monitor_add_latency (m, stages[s].id, stages[s].name, engine->histograms[s], stages[s].is_stage);
  sm_monitor_add_rate (m, "engine.throughput", "Throughput", "ops/s", counter_completed, engine);
  sm_monitor_add_rate (m, "engine.failures", "Failed queries", "1/s", counter_failures, engine);
  sm_monitor_add_rate (m, "engine.offloaded", "Sent to peers", "ops/s", counter_offloaded, engine);
  sm_monitor_add_gauge (m, "engine.offload_share", "Offload share", "%", gauge_offload_share, engine);
  sm_monitor_add_rate (m, "gpu.batches", "Batches on the GPU", "1/s", counter_gpu_batches, engine);
  sm_monitor_add_gauge (m, "gpu.busy", "GPU busy", "%", gauge_gpu_busy, engine);
  sm_monitor_add_gauge (m, "engine.queue_depth", "Queue depth", "", gauge_queue_depth, engine);
  sm_monitor_add_gauge (m, "engine.mean_batch", "Mean batch", "", gauge_mean_batch, engine);
  sm_monitor_add_gauge (m, "engine.cache_hit_rate", "Cache hit rate", "%", gauge_cache_hit_rate, engine);
  sm_monitor_add_gauge (m, "pool.in_use", "Pool in use", "MiB", gauge_pool_in_use, engine->pool);
  sm_monitor_add_gauge (m, "pool.reserved", "Pool reserved", "MiB", gauge_pool_reserved, engine->pool);
  sm_monitor_add_gauge (m, "pool.limit", "Pool limit", "MiB", gauge_pool_limit, engine->pool);
  sm_monitor_add_gauge (m, "pool.fragmentation", "Fragmentation", "%", gauge_pool_fragmentation, engine->pool);
  sm_monitor_add_gauge (m, "pool.failures", "Pool allocation failures", "", gauge_pool_failures, engine->pool);
  sm_monitor_add_simd_metrics (m);
  sm_monitor_add_process_metrics (m);
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
                   "Worker threads must be from 1 to %d, not %u", SM_ENGINE_MAX_THREADS, threads);
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
  g_rw_lock_init (&engine->model_lock);
  g_mutex_init (&engine->gpu_lock);
  engine->gpu_status = g_strdup (sm_gpu_is_built () ? "GPU off" : "GPU support not built");
  engine->gpu_crossover = 0;
  g_rw_lock_init (&engine->offload_lock);
  g_mutex_init (&engine->queue_lock);
  g_cond_init (&engine->work);
  for (guint d = 0; d < SM_N_DOMAINS; d++)
    g_queue_init (&engine->queues[d]);
  engine->workers = g_ptr_array_new ();
  engine->backend = SM_BACKEND_AUTO;
  engine->max_batch = SM_ENGINE_DEFAULT_BATCH;
  engine->max_wait_us = SM_ENGINE_DEFAULT_WAIT_US;
  g_mutex_init (&engine->cache_lock);
  engine->cache = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, cache_entry_free);
  g_mutex_init (&engine->flight_lock);
  g_cond_init (&engine->flight_done);

  register_metrics (engine);

  if (!sm_engine_load_preset (engine, SM_PRESET_STANDARD, error))
    {
      sm_engine_free (engine);
      return NULL;
    }

  g_mutex_lock (&engine->queue_lock);
  start_workers_locked (engine, threads);
  g_mutex_unlock (&engine->queue_lock);

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
  stop_workers (engine);

  g_ptr_array_unref (engine->workers);
  sm_monitor_free (engine->monitor);
  g_hash_table_unref (engine->cache);
  g_queue_clear (&engine->cache_order);
  sm_model_free (engine->model);
  sm_gpu_model_free (engine->gpu_model);
  sm_gpu_free (engine->gpu);
  g_free (engine->gpu_status);
  g_mutex_clear (&engine->gpu_lock);
  for (guint s = 0; s < N_STAGES; s++)
    sm_histogram_free (engine->histograms[s]);
  sm_pool_free (engine->pool);
  g_rw_lock_clear (&engine->model_lock);
  g_rw_lock_clear (&engine->offload_lock);
  g_mutex_clear (&engine->queue_lock);
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
  guint width = 0;
  guint32 mask = 0;
  guint64 hash = model_hash (model);

  /* The GPU gets the new weights before the model is swapped in. */
  if (g_atomic_int_get (&engine->gpu_mode) != SM_GPU_OFF && engine->gpu != NULL)
    {
      g_autoptr(GError) error = NULL;

      gpu_model = upload_model (engine->gpu, model, &error);
      if (gpu_model != NULL && g_atomic_int_get (&engine->gpu_mode) == SM_GPU_AUTO)
        crossover_for (engine, gpu_model, model, hash, &error);
      if (error != NULL)
        {
          g_clear_pointer (&gpu_model, sm_gpu_model_free);
          gpu_failed (engine, error);
        }
    }

  for (guint d = 0; d < SM_N_DOMAINS; d++)
    if (sm_model_get_expert (model, d) != NULL)
      {
        width = MAX (width, sm_expert_get_input_width (sm_model_get_expert (model, d)));
        mask |= 1u << d;
      }

  g_rw_lock_writer_lock (&engine->model_lock);
  old = engine->model;
  engine->model = model;
  old_gpu_model = engine->gpu_model;
  engine->gpu_model = gpu_model;
  engine->model_hash = hash;
  engine->expert_mask = mask;
  g_atomic_int_set (&engine->features_width, width);
  g_rw_lock_writer_unlock (&engine->model_lock);

  /* Cached answers came from the old model. */
  cache_clear (engine);
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
  swap_model (engine, model);
  return TRUE;
}

gboolean
sm_engine_load_model (SmEngine    *engine,
                      const char  *path,
                      GError     **error)
{
  SmModel *model = sm_safetensors_load (path, engine->pool, error);

  if (model == NULL)
    return FALSE;
  swap_model (engine, model);
  return TRUE;
}

char *
sm_engine_dup_model_description (SmEngine *engine)
{
  char *description;

  g_rw_lock_reader_lock (&engine->model_lock);
  description = g_strdup (engine->model != NULL ? sm_model_get_description (engine->model) : NULL);
  g_rw_lock_reader_unlock (&engine->model_lock);

  return description;
}

/* ---- submitting ---- */

/* Queues one job per expert of @query for the workers. */
static void
enqueue (SmEngine *engine,
         Query    *query,
         gint64    now)
{
  g_mutex_lock (&engine->queue_lock);
  for (guint s = 0; s < query->route.n; s++)
    {
      Job *job = g_new (Job, 1);

      job->query = query;
      job->slot = s;
      job->enqueued_ns = now;
      g_queue_push_tail (&engine->queues[query->route.domains[s]], job);
    }
  g_atomic_int_add (&engine->queue_depth, (int) query->route.n);
  g_cond_signal (&engine->work);
  g_mutex_unlock (&engine->queue_lock);
}

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

  job = g_new (Job, 1);
  job->query = query;
  job->slot = 0;
  job->enqueued_ns = precise_ns ();

  g_rw_lock_reader_lock (&engine->offload_lock);
  if (engine->offload != NULL)
    taken = engine->offload (job, engine->offload_data);
  g_rw_lock_reader_unlock (&engine->offload_lock);

  if (!taken)
    g_free (job);
  else
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
  g_rw_lock_writer_lock (&engine->offload_lock);
  g_atomic_pointer_set (&engine->offload, func);
  engine->offload_data = user_data;
  g_rw_lock_writer_unlock (&engine->offload_lock);
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
  g_rw_lock_reader_lock (&engine->model_lock);
  expert = engine->model != NULL ? sm_model_get_expert (engine->model, sm_engine_job_get_domain (job)) : NULL;
  expected = expert != NULL ? sm_expert_get_output_width (expert) : 0;
  g_rw_lock_reader_unlock (&engine->model_lock);
  if (width != expected)
    {
      sm_engine_job_run_locally (job);
      return FALSE;
    }

  rec = get_thread_recorders (engine);

  /* The mesh's thread records its round trips (a recorder of its own). */
  if (rec[STAGE_REMOTE] == NULL)
    rec[STAGE_REMOTE] = sm_histogram_add_recorder (engine->histograms[STAGE_REMOTE]);
  sm_histogram_recorder_record (rec[STAGE_REMOTE], (guint64) MAX (0, precise_ns () - job->enqueued_ns));

  query->outputs[job->slot] = g_memdup2 (output, (gsize) width * sizeof (float));
  query->output_widths[job->slot] = width;
  g_mutex_lock (&engine->flight_lock);
  query->queue_ns = MAX (query->queue_ns, queue_ns);
  query->inference_ns = MAX (query->inference_ns, compute_ns);
  query->remote = TRUE;
  g_mutex_unlock (&engine->flight_lock);

  if (g_atomic_int_dec_and_test (&query->pending))
    query_finish (query, rec[STAGE_TOTAL]);
  g_free (job);
  return TRUE;
}

void
sm_engine_job_fail (SmEngineJob  *job,
                    const GError *error)
{
  job_fail (job, error, get_thread_recorders (job->query->engine)[STAGE_TOTAL]);
}

void
sm_engine_job_run_locally (SmEngineJob *job)
{
  SmEngine *engine = job->query->engine;

  job->enqueued_ns = precise_ns ();
  g_mutex_lock (&engine->queue_lock);
  g_queue_push_tail (&engine->queues[sm_engine_job_get_domain (job)], job);
  g_atomic_int_add (&engine->queue_depth, 1);
  g_cond_signal (&engine->work);
  g_mutex_unlock (&engine->queue_lock);
}

void
sm_engine_get_totals (SmEngine       *engine,
                      SmEngineTotals *totals)
{
  g_autoptr(SmHistogramSnapshot) latency = sm_histogram_snapshot (engine->histograms[STAGE_TOTAL]);

  totals->completed = __atomic_load_n (&engine->completed, __ATOMIC_RELAXED);
  totals->failed = __atomic_load_n (&engine->failures, __ATOMIC_RELAXED);
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
  g_rw_lock_reader_lock (&engine->model_lock);
  *hash = engine->model_hash;
  *expert_mask = engine->expert_mask;
  *input_width = g_atomic_int_get (&engine->features_width);
  g_rw_lock_reader_unlock (&engine->model_lock);
}

void
sm_engine_submit (SmEngine         *engine,
                  const char       *text,
                  gssize            length,
                  gint64            intended_ns,
                  SmEngineDoneFunc  done,
                  gpointer          user_data)
{
  SmHistogramRecorder **rec = get_thread_recorders (engine);
  SmRouterConfig config = { g_atomic_int_get (&engine->consensus), SM_ROUTER_MAX_K, SM_ROUTER_DEFAULT_THRESHOLD };
  gsize n = length < 0 ? strlen (text) : (gsize) length;
  gint64 t0 = precise_ns (), t1, t2;
  SmFeatureSummary summary;
  SmResult *cached;
  Query *query;

  g_return_if_fail (engine != NULL && text != NULL && done != NULL);

  if (intended_ns == 0)
    intended_ns = t0;
  flight_add (engine);

  query = g_new0 (Query, 1);
  query->engine = engine;
  query->done = done;
  query->user_data = user_data;
  query->intended_ns = intended_ns;
  query->cache_key = XXH3_64bits (text, n);

  cached = cache_lookup (engine, query->cache_key);
  if (cached != NULL)
    {
      cached->cached = TRUE;
      cached->features_ns = cached->routing_ns = cached->queue_ns = cached->inference_ns = 0;
      cached->total_ns = (guint64) MAX (0, precise_ns () - intended_ns);
      sm_histogram_recorder_record (rec[STAGE_TOTAL], cached->total_ns);
      __atomic_fetch_add (&engine->completed, 1, __ATOMIC_RELAXED);
      query_free (query);
      done (cached, NULL, user_data);
      flight_remove (engine);
      return;
    }

  query->text = g_strndup (text, n);
  query->length = n;
  query->features_width = MAX (1, g_atomic_int_get (&engine->features_width));
  query->features = g_new (float, query->features_width);
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
  enqueue (engine, query, t2);
}

void
sm_engine_submit_features (SmEngine         *engine,
                           SmDomain          domain,
                           const float      *features,
                           guint             width,
                           SmEngineDoneFunc  done,
                           gpointer          user_data)
{
  g_autoptr(GError) error = NULL;
  gint64 t0 = precise_ns ();
  SmExpert *expert;
  Query *query;

  g_return_if_fail (engine != NULL && features != NULL && done != NULL && domain < SM_N_DOMAINS);

  g_rw_lock_reader_lock (&engine->model_lock);
  expert = engine->model != NULL ? sm_model_get_expert (engine->model, domain) : NULL;
  if (expert == NULL)
    g_set_error (&error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_NOT_SUPPORTED,
                 "The model has no %s expert", sm_domain_get_name (domain));
  else if (width < sm_expert_get_input_width (expert))
    g_set_error (&error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT,
                 "The %s expert takes %u features, not %u", sm_domain_get_name (domain),
                 sm_expert_get_input_width (expert), width);
  g_rw_lock_reader_unlock (&engine->model_lock);

  if (error != NULL)
    {
      __atomic_fetch_add (&engine->failures, 1, __ATOMIC_RELAXED);
      done (NULL, error, user_data);
      return;
    }

  flight_add (engine);
  query = g_new0 (Query, 1);
  query->engine = engine;
  query->done = done;
  query->user_data = user_data;
  query->intended_ns = t0;
  query->features = g_memdup2 (features, (gsize) width * sizeof (float));
  query->features_width = width;
  query->route.n = 1;
  query->route.domains[0] = domain;
  query->route.weights[0] = 1.0f;
  query->pending = 1;
  enqueue (engine, query, t0);
}

typedef struct
{
  GMutex    lock;
  GCond     cond;
  gint      finished;
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
  spin_until_set (&w.finished);
  g_mutex_lock (&w.lock);
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
  while (engine->in_flight > 0)
    g_cond_wait (&engine->flight_done, &engine->flight_lock);
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
                   "The %s backend is not available: %s", backend_names[backend], reason);
      return FALSE;
    }

  g_atomic_int_set (&engine->backend, backend);
  /* Results differ in the last bits between kernels: start afresh. */
  cache_clear (engine);
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
                   "Worker threads must be from 1 to %d, not %u", SM_ENGINE_MAX_THREADS, threads);
      return FALSE;
    }

  /* Workers finish their batch and go; the queues keep every job. */
  stop_workers (engine);
  g_mutex_lock (&engine->queue_lock);
  start_workers_locked (engine, threads);
  g_cond_broadcast (&engine->work);
  g_mutex_unlock (&engine->queue_lock);

  return TRUE;
}

void
sm_engine_set_worker_nice (SmEngine *engine,
                           int       nice)
{
  /* Relative to the caller's: a program already run under `nice` keeps
   * its workers below its own priority too. */
  int base = getpriority (PRIO_PROCESS, 0);

  g_mutex_lock (&engine->queue_lock);
  engine->worker_nice = CLAMP (base + MAX (nice, 0), 0, 19);
  for (guint i = 0; i < engine->workers->len; i++)
    apply_nice (((Worker *) g_ptr_array_index (engine->workers, i))->tid, engine->worker_nice);
  g_mutex_unlock (&engine->queue_lock);
}

guint
sm_engine_get_threads (SmEngine *engine)
{
  guint threads;

  g_mutex_lock (&engine->queue_lock);
  threads = engine->workers->len;
  g_mutex_unlock (&engine->queue_lock);

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
                   "The batch size must be from 1 to %d, not %u", SM_ENGINE_MAX_BATCH, max_batch);
      return FALSE;
    }

  g_atomic_int_set (&engine->max_batch, max_batch);
  g_mutex_lock (&engine->queue_lock);
  g_cond_broadcast (&engine->work);
  g_mutex_unlock (&engine->queue_lock);
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
  g_mutex_lock (&engine->queue_lock);
  g_cond_broadcast (&engine->work);
  g_mutex_unlock (&engine->queue_lock);
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

void
sm_engine_set_cache_size (SmEngine *engine,
                          guint     entries)
{
  g_mutex_lock (&engine->cache_lock);
  engine->cache_size = entries;
  while (g_hash_table_size (engine->cache) > entries)
    {
      CacheEntry *oldest = g_queue_pop_tail (&engine->cache_order);

      g_hash_table_remove (engine->cache, &oldest->key);
    }
  g_mutex_unlock (&engine->cache_lock);
}

guint
sm_engine_get_cache_size (SmEngine *engine)
{
  guint size;

  g_mutex_lock (&engine->cache_lock);
  size = engine->cache_size;
  g_mutex_unlock (&engine->cache_lock);

  return size;
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
  stop_workers (engine);
  g_rw_lock_writer_lock (&engine->model_lock);
  moved = sm_pool_compact (engine->pool);
  g_rw_lock_writer_unlock (&engine->model_lock);
  g_mutex_lock (&engine->queue_lock);
  start_workers_locked (engine, threads);
  g_cond_broadcast (&engine->work);
  g_mutex_unlock (&engine->queue_lock);

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

gboolean
sm_engine_set_gpu_mode (SmEngine   *engine,
                        SmGpuMode   mode,
                        GError    **error)
{
  g_autoptr(GError) local_error = NULL;
  SmGpuModel *gpu_model = NULL, *old;
  SmGpu *gpu;
  guint crossover = 0;

  g_return_val_if_fail (mode <= SM_GPU_AUTO, FALSE);

  if (mode == SM_GPU_OFF)
    {
      g_atomic_int_set (&engine->gpu_mode, SM_GPU_OFF);
      g_rw_lock_writer_lock (&engine->model_lock);
      old = g_steal_pointer (&engine->gpu_model);
      g_rw_lock_writer_unlock (&engine->model_lock);
      sm_gpu_model_free (old);
      set_gpu_status (engine, g_strdup (sm_gpu_is_built () ? "GPU off" : "GPU support not built"));
      return TRUE;
    }

  g_mutex_lock (&engine->gpu_lock);
  if (engine->gpu == NULL)
    engine->gpu = sm_gpu_new (&local_error);
  gpu = engine->gpu;
  g_mutex_unlock (&engine->gpu_lock);
  if (gpu == NULL)
    goto failed;

  /* Upload (and for AUTO, time) the model in use; the weights move to the
   * device once, the workers go on meanwhile. */
  g_rw_lock_reader_lock (&engine->model_lock);
  if (engine->model != NULL)
    {
      gpu_model = upload_model (gpu, engine->model, &local_error);
      if (gpu_model != NULL && mode == SM_GPU_AUTO)
        crossover = crossover_for (engine, gpu_model, engine->model, engine->model_hash, &local_error);
    }
  g_rw_lock_reader_unlock (&engine->model_lock);
  if (local_error != NULL)
    {
      sm_gpu_model_free (gpu_model);
      goto failed;
    }

  g_rw_lock_writer_lock (&engine->model_lock);
  old = engine->gpu_model;
  engine->gpu_model = gpu_model;
  g_atomic_int_set (&engine->gpu_mode, mode);
  g_rw_lock_writer_unlock (&engine->model_lock);
  sm_gpu_model_free (old);

  if (mode == SM_GPU_ON)
    set_gpu_status (engine, g_strdup_printf ("GPU on: %s", sm_gpu_get_info (gpu)->device_name));
  else if (crossover == G_MAXUINT)
    set_gpu_status (engine, g_strdup_printf ("GPU auto: %s, slower than the CPU at every batch size",
                                             sm_gpu_get_info (gpu)->device_name));
  else
    set_gpu_status (engine, g_strdup_printf ("GPU auto: %s from batches of %u", sm_gpu_get_info (gpu)->device_name,
                                             crossover));
  return TRUE;

failed:
  set_gpu_status (engine, g_strdup_printf ("GPU off: %s", local_error->message));
  g_propagate_error (error, g_steal_pointer (&local_error));
  return FALSE;
}

SmGpuMode
sm_engine_get_gpu_mode (SmEngine *engine)
{
  return g_atomic_int_get (&engine->gpu_mode);
}

guint
sm_engine_get_gpu_crossover (SmEngine *engine)
{
  guint64 hash;
  guint crossover;

  g_rw_lock_reader_lock (&engine->model_lock);
  hash = engine->model_hash;
  g_rw_lock_reader_unlock (&engine->model_lock);
  g_mutex_lock (&engine->gpu_lock);
  crossover = engine->gpu_calibrated_hash == hash ? (guint) g_atomic_int_get (&engine->gpu_crossover) : 0;
  g_mutex_unlock (&engine->gpu_lock);
  return crossover;
}

char *
sm_engine_dup_gpu_status (SmEngine *engine)
{
  char *status;

  g_mutex_lock (&engine->gpu_lock);
  status = g_strdup (engine->gpu_status);
  g_mutex_unlock (&engine->gpu_lock);
  return status;
}
