/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* The engine's insides, shared by the files that make it up (GNOME Text
 * Editor's window split is the model): sm-engine.c is the façade (life
 * cycle, models, submitting, knobs), sm-batcher.c the queues and workers,
 * sm-result-cache.c the LRU of answers, sm-engine-gpu.c the Vulkan routing
 * and sm-engine-metrics.c what the monitor reads.  Nothing outside engine/
 * includes this header. */

#include <time.h>

#include "sm-engine.h"
#include "sm-gpu.h"
#include "sm-router.h"
#include "sm-rw-lock.h"

G_BEGIN_DECLS

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

typedef struct _Query Query;

/* One expert's share of a query, waiting in that expert's queue or, as an
 * SmEngineJob, at a mesh peer. */
typedef struct _SmEngineJob Job;
struct _SmEngineJob
{
  Query   *query;
  guint    slot;          /* which of the query's experts */
  gint64   enqueued_ns;
  Job     *next;          /* in its queue */
};

/* An expert's queue: a FIFO of jobs linked through the jobs themselves
 * (queueing a job allocates nothing), and the arrival statistics of the
 * adaptive wait, under the queue's own lock.  Workers serving different
 * experts, and callers submitting to them, never meet on one lock: a lock
 * shared by every worker capped throughput at 4 workers on 16 cores. */
typedef struct
{
  GMutex  lock;
  Job    *head;
  Job    *tail;
  guint   length;               /* under lock; read atomically as a hint */
  gint64  last_arrival_ns;      /* when its last job arrived */
  gint64  arrival_interval_ns;  /* the mean time between arrivals (EWMA) */
  /* Apart from the next queue's fields, so that two workers taking from
   * neighbouring queues do not pass one cache line back and forth. */
  guint8  padding[64];
} JobQueue;

static inline void
job_queue_push (JobQueue *queue,
                Job      *job)
{
  job->next = NULL;
  if (queue->tail != NULL)
    queue->tail->next = job;
  else
    queue->head = job;
  queue->tail = job;
  __atomic_store_n (&queue->length, queue->length + 1, __ATOMIC_RELAXED);
}

static inline Job *
job_queue_pop (JobQueue *queue)
{
  Job *job = queue->head;

  if (job != NULL)
    {
      queue->head = job->next;
      if (queue->head == NULL)
        queue->tail = NULL;
      __atomic_store_n (&queue->length, queue->length - 1, __ATOMIC_RELAXED);
    }
  return job;
}

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
  gboolean           keyed;         /* cache_key is the text's hash: the cache was on */
  SmRoute            route;
  float             *features;
  guint              features_width;
  float             *outputs[SM_ROUTER_MAX_K];
  guint              output_widths[SM_ROUTER_MAX_K];
  /* In the query's own allocation (sm_batcher_query_new()): its answer,
   * and room for each expert's output, `room` floats each. */
  SmResult          *result;
  float             *output_room;
  guint              room;
  guint64            queue_ns;      /* the longest of its jobs, atomic */
  guint64            inference_ns;  /* atomic */
  gint               pending;       /* jobs not yet done */
  GError            *error;         /* the first job's error, under engine->flight_lock */
  gboolean           remote;        /* a peer answered it, atomic */
  Job                jobs[SM_ROUTER_MAX_K];   /* no allocation per job */
};

/* Raises *@target to @value if it is larger, lock-free. */
static inline void
atomic_max_u64 (guint64 *target,
                guint64  value)
{
  guint64 seen = __atomic_load_n (target, __ATOMIC_RELAXED);

  while (value > seen &&
         !__atomic_compare_exchange_n (target, &seen, value, TRUE, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
    ;
}

/* A batch a worker runs: its jobs, the inputs and answers in its own
 * arena, and, while the GPU computes it, the forward in flight.  A batch
 * holds the model's reader lock from its start to its end. */
typedef struct
{
  Job         **jobs;               /* SM_ENGINE_MAX_BATCH */
  guint         n;
  SmDomain      domain;
  gint64        start;
  SmPoolArena  *arena;
  SmExpert     *expert;             /* NULL when the batch failed */
  float        *x, *y, *scratch;
  GError       *error;
  SmGpuForward *forward;            /* on the GPU, not finished yet */
  guint8        narrow[SM_ENGINE_MAX_BATCH];
} Batch;

/* A worker's own recorders and batches: two, so that it prepares and
 * submits one while the GPU computes the other. */
typedef struct
{
  SmEngine            *engine;
  GThread             *thread;
  gint                 tid;           /* the kernel's id, once it runs */
  guint                next_queue;    /* where its round robin over the queues goes on */
  Batch                batches[2];
  guint                next_batch;    /* the one the next batch goes in */
  Batch               *in_flight;     /* the other, while the GPU computes it; else NULL */
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
  SmRwLock      model_lock;
  SmModel      *model;
  guint         features_width;    /* widest expert input, atomic */
  guint         output_width;      /* widest expert output, atomic */
  gint          precision;         /* SmPrecision, atomic; changed under the writer lock */
  GMutex        precision_lock;    /* one measurement of the precisions' cost at a time */
  guint64       model_hash;        /* under model_lock */
  guint32       expert_mask;

  /* Remote inference: the mesh node's hook, swapped under the writer lock
   * so that a node going away never has a call still running in it. */
  SmRwLock            offload_lock;
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
  guint64             gpu_busy_ns;         /* atomic: the dispatches' own time (busy_share()) */
  guint64             gpu_busy_until_ns;   /* atomic: the latest dispatch end counted, on the GPU's clock */
  guint64             gpu_busy_seen_ns;    /* the busy gauge's last reading, and when */
  gint64              gpu_busy_seen_at;
  guint               offload_queue_above;
  guint64             offload_counter;

  /* Queues, one per domain, each with its own lock (JobQueue). */
  JobQueue      queues[SM_N_DOMAINS];
  gint          queue_depth;       /* jobs in all queues, atomic */

  /* The workers that drain them, started and stopped under workers_lock. */
  GMutex        workers_lock;
  GPtrArray    *workers;
  gint          worker_nice;       /* each worker's niceness (0: as the process) */
  gint          running;           /* written under workers_lock, read atomically */

  /* Idle workers.  One spins (spinners), the others sleep on `work` under
   * idle_lock.  work_generation counts every change that may give a worker
   * something to do (jobs queued, a knob changed, a stop): a worker counts
   * itself among the sleepers, then sleeps only if it has not moved since
   * it looked at the queues, and whoever moves it wakes a sleeper seen in
   * that count.  Both sides use full barriers, so one of the two sees the
   * other: no wake-up is lost, and none is made while nobody sleeps. */
  gint          spinners;          /* 0 or 1, atomic */
  GMutex        idle_lock;
  GCond         work;
  gint          sleepers;          /* atomic; changed under idle_lock */
  gint          work_generation;   /* atomic; wraps */

  /* Knobs, read atomically on the hot path */
  gint          backend;
  guint         max_batch;
  guint         max_wait_us;
  gint          consensus;

  /* Result cache, LRU */
  GMutex        cache_lock;
  GHashTable   *cache;
  GQueue        cache_order;       /* most recent first */
  guint         cache_size;        /* written under cache_lock, read atomically */

  /* Counters for the monitor */
  guint64       completed;
  guint64       batches;
  guint64       batched_jobs;
  guint64       cache_hits;
  guint64       cache_lookups;
  guint64       failures;
  guint64       offloaded;

  /* Queries in flight, for sm_engine_drain() and shutdown: counted
   * atomically; the lock is taken only to wait for, or announce, zero. */
  GMutex        flight_lock;
  GCond         flight_done;
  guint         in_flight;
  guint         drainers;          /* threads waiting on flight_done, under flight_lock */

  /* Mean batch, between two readings by the monitor */
  guint64       last_batches;
  guint64       last_batched_jobs;
  guint64       last_hits;
  guint64       last_lookups;
};

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

/* sm-engine.c */
const SmKernels      *sm_engine_current_kernels          (SmEngine *engine);
/* Converts @model (not yet swapped in) to the engine's precision; FALSE
 * with the pool at its limit. */
gboolean              sm_engine_prepare_model_precision  (SmEngine  *engine,
                                                          SmModel   *model,
                                                          GError   **error);

/* sm-engine-metrics.c */
SmHistogramRecorder **sm_engine_get_thread_recorders     (SmEngine *engine);
void                  sm_engine_register_metrics         (SmEngine *engine);

/* sm-result-cache.c: lookups and inserts take cache_lock. */
void                  sm_result_cache_entry_free         (gpointer        data);
void                  sm_result_cache_clear              (SmEngine       *engine);
SmResult             *sm_result_cache_lookup             (SmEngine       *engine,
                                                          guint64         key);
void                  sm_result_cache_insert             (SmEngine       *engine,
                                                          guint64         key,
                                                          const SmResult *result);

/* sm-batcher.c */
Query                *sm_batcher_query_new               (SmEngine            *engine,
                                                          guint                features_width,
                                                          const char          *text,
                                                          gsize                length);
void                  sm_batcher_flight_add              (SmEngine            *engine);
void                  sm_batcher_flight_remove           (SmEngine            *engine);
void                  sm_batcher_query_free              (Query               *query);
void                  sm_batcher_query_set_output        (Query               *query,
                                                          guint                slot,
                                                          const float         *output,
                                                          guint                width);
void                  sm_batcher_query_finish            (Query               *query,
                                                          SmHistogramRecorder *total_recorder);
void                  sm_batcher_job_fail                (Job                 *job,
                                                          const GError        *error,
                                                          SmHistogramRecorder *total_recorder);
void                  sm_batcher_enqueue                 (SmEngine            *engine,
                                                          Query               *query,
                                                          gint64               now);
void                  sm_batcher_enqueue_many            (SmEngine            *engine,
                                                          Query * const       *queries,
                                                          guint                n_queries,
                                                          gint64               now);
void                  sm_batcher_start_workers_locked    (SmEngine            *engine,
                                                          guint                threads);
void                  sm_batcher_stop_workers            (SmEngine            *engine);
void                  sm_batcher_wake_all                (SmEngine            *engine);
void                  sm_batcher_apply_nice              (gint                 tid,
                                                          int                  nice);
gboolean              sm_batcher_spin_until_set          (gint                *flag);

/* sm-engine-gpu.c */
void                  sm_engine_gpu_set_status           (SmEngine        *engine,
                                                          char            *status);
void                  sm_engine_gpu_failed               (SmEngine        *engine,
                                                          const GError    *error);
/* Lets @gpu_model's products run on the tensor cores when @reduced, if its
 * experts agree with the FP32 GEMM there; says so when they do not. */
void                  sm_engine_gpu_allow_reduced        (SmGpuModel      *gpu_model,
                                                          gboolean         reduced);
SmGpuModel           *sm_engine_gpu_upload_model         (SmGpu           *gpu,
                                                          SmModel         *model,
                                                          GError         **error);
guint                 sm_engine_gpu_crossover_for        (SmEngine        *engine,
                                                          SmGpuModel      *gpu_model,
                                                          SmModel         *model,
                                                          guint64          hash,
                                                          GError         **error);
SmGpuForward         *sm_engine_gpu_submit               (Worker          *worker,
                                                          SmDomain         domain,
                                                          const float     *x,
                                                          guint            n,
                                                          gboolean         may_wait,
                                                          gboolean        *busy);
void                  sm_engine_gpu_finish               (Worker          *worker,
                                                          SmGpuForward    *forward,
                                                          SmExpert        *expert,
                                                          const SmKernels *kernels,
                                                          const float     *x,
                                                          guint            n,
                                                          float           *y,
                                                          float           *scratch);

G_END_DECLS
