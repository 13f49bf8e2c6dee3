/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#define G_LOG_DOMAIN "sm-engine"

#include <glib/gi18n-lib.h>

#include <math.h>
#include <string.h>
#include <unistd.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "sm-engine-private.h"
#include "sm-error.h"
#include "sm-features.h"

/* The micro-batcher: a queue per expert, worker threads that take a batch
 * when it is full or its oldest job has waited max_wait, run it and
 * complete the queries it belongs to. */

/* ---- completing queries ---- */

void
sm_batcher_flight_add (SmEngine *engine)
{
  g_atomic_int_inc (&engine->in_flight);
}

/* The last query out wakes sm_engine_drain(), under the lock it checks
 * the count with, so that the wake-up cannot fall between its check and
 * its wait; and only when it waits (a wake-up is a system call, and an
 * engine answering one query at a time reaches zero after each). */
void
sm_batcher_flight_remove (SmEngine *engine)
{
  if (g_atomic_int_dec_and_test (&engine->in_flight))
    {
      g_mutex_lock (&engine->flight_lock);
      if (engine->drainers > 0)
        g_cond_broadcast (&engine->flight_done);
      g_mutex_unlock (&engine->flight_lock);
    }
}

/* Queries and results carry their floats right after their struct. */
G_STATIC_ASSERT (sizeof (Query) % G_ALIGNOF (float) == 0);
G_STATIC_ASSERT (sizeof (SmResult) % G_ALIGNOF (float) == 0);

/* Where the Query starts in its allocation: after the answer. */
static gsize
query_offset (guint room)
{
  gsize size = sizeof (SmResult) + (gsize) room * sizeof (float);

  return (size + 15) & ~(gsize) 15;
}

/* A query in one allocation, with its answer: an SmResult with room for
 * its output first (so that sm_result_free() of the answer handed over
 * frees it all), then the Query, its features, room for each expert's
 * output and a copy of its text (or none, for a peer's features).  The
 * rooms are as wide as the model's widest output: nothing from submission
 * to answer allocates, unless a model swapped in meanwhile answers wider. */
Query *
sm_batcher_query_new (SmEngine   *engine,
                      guint       features_width,
                      const char *text,
                      gsize       length)
{
  guint room = MAX (1, g_atomic_int_get (&engine->output_width));
  gsize offset = query_offset (room);
  gsize features_size = (gsize) features_width * sizeof (float);
  gsize rooms_size = (gsize) SM_ROUTER_MAX_K * room * sizeof (float);
  char *block = g_malloc (offset + sizeof (Query) + features_size + rooms_size + (text != NULL ? length + 1 : 0));
  Query *query = (Query *) (block + offset);

  /* The structs only: the floats are all written before they are read. */
  memset (block, 0, sizeof (SmResult));
  memset (query, 0, sizeof (Query));
  query->engine = engine;
  query->result = (SmResult *) block;
  query->features = (float *) (query + 1);
  query->features_width = features_width;
  query->output_room = query->features + features_width;
  query->room = room;
  if (text != NULL)
    {
      query->text = (char *) (query->output_room + (gsize) SM_ROUTER_MAX_K * room);
      memcpy (query->text, text, length);
      query->text[length] = '\0';
      query->length = length;
    }
  return query;
}

static gboolean
output_in_room (const Query *query,
                guint        slot)
{
  return query->outputs[slot] == query->output_room + (gsize) slot * query->room;
}

void
sm_batcher_query_set_output (Query       *query,
                             guint        slot,
                             const float *output,
                             guint        width)
{
  float *to = width <= query->room ? query->output_room + (gsize) slot * query->room : g_new (float, width);

  memcpy (to, output, (gsize) width * sizeof (float));
  query->outputs[slot] = to;
  query->output_widths[slot] = width;
}

/* What the query holds apart from its allocation. */
static void
query_clear (Query *query)
{
  for (guint s = 0; s < SM_ROUTER_MAX_K; s++)
    {
      if (query->outputs[s] != NULL && !output_in_room (query, s))
        g_free (query->outputs[s]);
      query->outputs[s] = NULL;
    }
  g_clear_error (&query->error);
}

void
sm_batcher_query_free (Query *query)
{
  query_clear (query);
  g_free (query->result);   /* the allocation's start */
}

/* Mixes the experts' outputs (those as wide as the first one's), finds the
 * answer and its softmax confidence, and hands the result over: the one in
 * the query's allocation, which goes with it, or, wider than its room, one
 * of its own. */
void
sm_batcher_query_finish (Query               *query,
                         SmHistogramRecorder *total_recorder)
{
  SmEngine *engine = query->engine;
  SmResult *result;
  guint width;
  double weight_sum = 0;

  if (query->error != NULL)
    {
      __atomic_fetch_add (&engine->failures, 1, __ATOMIC_RELAXED);
      query->done (NULL, query->error, query->user_data);
      sm_batcher_query_free (query);
      sm_batcher_flight_remove (engine);
      return;
    }

  width = query->output_widths[0];
  if (width <= query->room)
    result = query->result;
  else
    result = g_malloc0 (sizeof (SmResult) + width * sizeof (float));
  result->domain = query->route.domains[0];
  result->output = (float *) (result + 1);
  result->output_width = width;
  memset (result->output, 0, width * sizeof (float));

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

  /* The answer and its softmax probability, with the engine's own vector
   * kernels: a scalar exp per output value was a few percent of the
   * closed loop's profile. */
  {
    const SmKernels *kernels = sm_engine_current_kernels (engine);
    float on_stack[256];
    g_autofree float *on_heap = width > G_N_ELEMENTS (on_stack) ? g_new (float, width) : NULL;
    float *probabilities = on_heap != NULL ? on_heap : on_stack;

    result->argmax = (guint) kernels->argmax (result->output, width, NULL);
    kernels->softmax (result->output, probabilities, width);
    result->confidence = probabilities[result->argmax];
  }

  result->features_ns = query->features_ns;
  result->routing_ns = query->routing_ns;
  result->queue_ns = query->queue_ns;
  result->inference_ns = query->inference_ns;
  result->total_ns = (guint64) MAX (0, precise_ns () - query->intended_ns);
  result->remote = g_atomic_int_get (&query->remote);
  sm_histogram_recorder_record (total_recorder, result->total_ns);

  /* Queries that came as features (from a peer), or while the cache was
   * off, have no key. */
  if (query->keyed)
    sm_result_cache_insert (engine, query->cache_key, result);
  __atomic_fetch_add (&engine->completed, 1, __ATOMIC_RELAXED);

  if (result == query->result)
    {
      /* The answer's owner frees the allocation: nothing may touch the
       * query once it is handed over. */
      query_clear (query);
      query->done (result, NULL, query->user_data);
    }
  else
    {
      query->done (result, NULL, query->user_data);
      sm_batcher_query_free (query);
    }
  sm_batcher_flight_remove (engine);
}

void
sm_batcher_job_fail (Job                 *job,
                     const GError        *error,
                     SmHistogramRecorder *total_recorder)
{
  Query *query = job->query;

  g_mutex_lock (&query->engine->flight_lock);
  if (query->error == NULL)
    query->error = g_error_copy (error);
  g_mutex_unlock (&query->engine->flight_lock);

  if (g_atomic_int_dec_and_test (&query->pending))
    sm_batcher_query_finish (query, total_recorder);
}


static void end_in_flight (Worker *worker);

/* Takes the model's reader lock for @batch.  A worker whose other batch is
 * on the GPU already holds it once: it takes it again only if that need
 * not wait, since a writer waiting would wait for that batch, which waits
 * for this worker.  Else the batch in flight ends first. */
static void
lock_model (Worker *worker)
{
  SmEngine *engine = worker->engine;

  if (worker->in_flight != NULL && sm_rw_lock_reader_trylock (&engine->model_lock))
    return;
  end_in_flight (worker);
  sm_rw_lock_reader_lock (&engine->model_lock);
}

/* Under the model's reader lock: @batch's expert, scratch and inputs, or
 * its error. */
static void
prepare_batch (Worker *worker,
               Batch  *batch)
{
  SmEngine *engine = worker->engine;
  SmExpert *expert = engine->model != NULL ? sm_model_get_expert (engine->model, batch->domain) : NULL;
  guint n = batch->n, in, out;
  gsize needed;

  if (expert == NULL)
    {
      g_set_error (&batch->error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_NOT_SUPPORTED,
                   _("The model has no %s expert"), sm_domain_get_name (batch->domain));
      return;
    }
  in = sm_expert_get_input_width (expert);
  out = sm_expert_get_output_width (expert);
  needed = ((gsize) n * in + (gsize) n * out + sm_expert_scratch_floats (expert, n) + 48) * sizeof (float);

  /* The arena follows the largest batch and model seen.  With the pool
   * near its limit, the worker's other arena gives way (its batch ends
   * first, if it is in flight): one batch at a time rather than none. */
  if (batch->arena == NULL || sm_pool_arena_get_capacity (batch->arena) < needed)
    {
      Batch *other = &worker->batches[batch == &worker->batches[0]];

      g_clear_pointer (&batch->arena, sm_pool_arena_free);
      batch->arena = sm_pool_arena_new (engine->pool, needed, &batch->error);
      if (batch->arena == NULL && other->arena != NULL)
        {
          end_in_flight (worker);
          g_clear_pointer (&other->arena, sm_pool_arena_free);
          g_clear_error (&batch->error);
          batch->arena = sm_pool_arena_new (engine->pool, needed, &batch->error);
        }
      if (batch->arena == NULL)
        {
          g_prefix_error (&batch->error, _("No scratch memory for a batch of %u: "), n);
          return;
        }
    }
  batch->expert = expert;
  batch->x = sm_pool_arena_alloc (batch->arena, (gsize) n * in * sizeof (float));
  batch->y = sm_pool_arena_alloc (batch->arena, (gsize) n * out * sizeof (float));
  batch->scratch = sm_pool_arena_alloc (batch->arena, sm_expert_scratch_floats (expert, n) * sizeof (float));
  g_assert (batch->x != NULL && batch->y != NULL && batch->scratch != NULL);

  for (guint j = 0; j < n; j++)
    {
      Query *query = batch->jobs[j]->query;
      float *x = batch->x + (gsize) j * in;

      /* A model swapped since submission may want wider features;
       * extract them again into the batch, leaving the query as it
       * is (another worker may be reading it for another expert).
       * A peer's features cannot be: that query fails alone. */
      batch->narrow[j] = 0;
      if (query->features_width >= in)
        memcpy (x, query->features, in * sizeof (float));
      else if (query->text != NULL)
        sm_features_extract (query->text, (gssize) query->length, x, in, NULL);
      else
        {
          batch->narrow[j] = 1;
          memset (x, 0, in * sizeof (float));
        }
    }
}

/* The end of @batch: its answer (waiting for the GPU's, if it has one in
 * flight), the model's lock let go, its jobs done and timed. */
static void
end_batch (Worker *worker,
           Batch  *batch)
{
  SmEngine *engine = worker->engine;
  SmHistogramRecorder **rec = worker->recorders;
  guint64 inference_ns;

  if (batch->forward != NULL)
    sm_engine_gpu_finish (worker, g_steal_pointer (&batch->forward), batch->expert, sm_engine_current_kernels (engine),
                          batch->x, batch->n, batch->y, batch->scratch);
  if (batch->expert != NULL)
    {
      guint out = sm_expert_get_output_width (batch->expert);

      for (guint j = 0; j < batch->n; j++)
        sm_batcher_query_set_output (batch->jobs[j]->query, batch->jobs[j]->slot, batch->y + (gsize) j * out, out);
      sm_pool_arena_reset (batch->arena);
      batch->expert = NULL;
    }
  sm_rw_lock_reader_unlock (&engine->model_lock);

  inference_ns = (guint64) (precise_ns () - batch->start);
  if (batch->error == NULL)
    sm_histogram_recorder_record (rec[STAGE_INFERENCE], inference_ns);
  __atomic_fetch_add (&engine->batches, 1, __ATOMIC_RELAXED);
  __atomic_fetch_add (&engine->batched_jobs, batch->n, __ATOMIC_RELAXED);

  for (guint j = 0; j < batch->n; j++)
    {
      Job *job = batch->jobs[j];
      Query *query = job->query;
      guint64 waited = (guint64) MAX (0, batch->start - job->enqueued_ns);

      if (batch->error != NULL)
        {
          sm_batcher_job_fail (job, batch->error, rec[STAGE_TOTAL]);
          continue;
        }
      if (batch->narrow[j])
        {
          g_autoptr(GError) narrow_error = g_error_new (SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT,
                                                        _("The model changed: its %s expert needs more features than the query has"),
                                                        sm_domain_get_name (batch->domain));

          sm_batcher_job_fail (job, narrow_error, rec[STAGE_TOTAL]);
          continue;
        }

      sm_histogram_recorder_record (rec[STAGE_QUEUE], waited);
      atomic_max_u64 (&query->queue_ns, waited);
      atomic_max_u64 (&query->inference_ns, inference_ns);

      /* The job lives in its query: nothing touches it after this. */
      if (g_atomic_int_dec_and_test (&query->pending))
        sm_batcher_query_finish (query, rec[STAGE_TOTAL]);
    }
  g_clear_error (&batch->error);
}

static void
end_in_flight (Worker *worker)
{
  if (worker->in_flight != NULL)
    end_batch (worker, g_steal_pointer (&worker->in_flight));
}

/* Runs the batch of @n jobs taken into the worker's next batch: on the GPU
 * when the mode says so, where it stays in flight while the worker takes,
 * prepares and submits its next batch (the previous one in flight ends
 * once this one is submitted); otherwise on the CPU, at once. */
static void
run_batch (Worker   *worker,
           SmDomain  domain,
           guint     n)
{
  Batch *batch = &worker->batches[worker->next_batch];
  gboolean busy = FALSE;

  batch->n = n;
  batch->domain = domain;
  batch->start = precise_ns ();
  lock_model (worker);
  prepare_batch (worker, batch);
  if (batch->expert != NULL)
    {
      batch->forward = sm_engine_gpu_submit (worker, domain, batch->x, n, worker->in_flight == NULL, &busy);
      /* Every lane busy: this worker's batch in flight ends first (it must
       * not wait for a lane while it holds one). */
      if (busy)
        {
          end_in_flight (worker);
          batch->forward = sm_engine_gpu_submit (worker, domain, batch->x, n, TRUE, &busy);
        }
      if (batch->forward == NULL)
        sm_expert_forward (batch->expert, sm_engine_current_kernels (worker->engine), batch->x, n, batch->y,
                           batch->scratch);
    }
  end_in_flight (worker);
  if (batch->forward != NULL)
    {
      worker->in_flight = batch;
      worker->next_batch ^= 1;
    }
  else
    end_batch (worker, batch);
}

/* Arrivals further apart than this say only "rare": the cap keeps one
 * long idle spell from dominating the mean, and the products below small. */
#define ARRIVAL_INTERVAL_MAX_NS 100000000

/* Counts an arrival into @queue's mean interval (EWMA, weight 1/8).
 * Under the queue's lock. */
static void
note_arrival_locked (JobQueue *queue,
                     gint64    now)
{
  if (queue->last_arrival_ns != 0)
    {
      gint64 interval = CLAMP (now - queue->last_arrival_ns, 0, ARRIVAL_INTERVAL_MAX_NS);

      if (queue->arrival_interval_ns == 0)
        queue->arrival_interval_ns = interval;
      else
        queue->arrival_interval_ns += (interval - queue->arrival_interval_ns) / 8;
    }
  queue->last_arrival_ns = now;
}

/* When a batch of @queue is due.  max_wait is an upper bound, not a
 * delay: waiting pays only when the batch fills before the wait is over,
 * so a queue is due at once unless its measured arrival rate says it will
 * fill in time (the adaptive wait of Triton's dynamic batcher and
 * Clipper).  At moderate load a free worker thus takes a query as it
 * comes; under load, queues fill and batches grow by themselves.  Under
 * the queue's lock, with a job in it. */
static gint64
queue_due_locked (JobQueue *queue,
                  guint     max_batch,
                  gint64    max_wait,
                  gint64    now)
{
  gint64 due = queue->head->enqueued_ns + max_wait;
  gint64 interval = queue->arrival_interval_ns;

  if (queue->length >= max_batch || now >= due)
    return now;
  if (interval == 0 || now + (gint64) (max_batch - queue->length) * interval > due)
    return now;
  return due;
}

/* Takes the next batch into @batch: from a queue whose batch is full or
 * due (queue_due_locked()), round robin from where this worker left off,
 * each queue under its own lock.  Returns its size and, in @domain, its
 * expert; or 0 and, in @deadline, when the first non-empty queue will be
 * due (0 when all are empty). */
static guint
take_batch (Worker    *worker,
            Job      **batch,
            SmDomain  *domain,
            gint64    *deadline)
{
  SmEngine *engine = worker->engine;
  guint max_batch = g_atomic_int_get (&engine->max_batch);
  gint64 max_wait = (gint64) g_atomic_int_get (&engine->max_wait_us) * 1000;
  gint64 now = precise_ns ();

  *deadline = 0;
  for (guint i = 0; i < SM_N_DOMAINS; i++)
    {
      guint d = (worker->next_queue + i) % SM_N_DOMAINS;
      JobQueue *queue = &engine->queues[d];
      guint n = 0;
      gint64 due;

      /* Empty queues are passed over without their lock. */
      if (__atomic_load_n (&queue->length, __ATOMIC_RELAXED) == 0)
        continue;
      g_mutex_lock (&queue->lock);
      if (queue->head == NULL)
        {
          g_mutex_unlock (&queue->lock);
          continue;
        }
      due = queue_due_locked (queue, max_batch, max_wait, now);
      if (due <= now)
        while (n < max_batch && queue->head != NULL)
          batch[n++] = job_queue_pop (queue);
      g_mutex_unlock (&queue->lock);

      if (n > 0)
        {
          g_atomic_int_add (&engine->queue_depth, -(int) n);
          worker->next_queue = (d + 1) % SM_N_DOMAINS;
          *domain = (SmDomain) d;
          return n;
        }
      if (*deadline == 0 || due < *deadline)
        *deadline = due;
    }

  return 0;
}

/* Tells idle workers that something changed (see work_generation). */
static void
wake_workers (SmEngine *engine,
              gboolean  all)
{
  g_atomic_int_inc (&engine->work_generation);
  /* A wake-up is a system call: only for a worker that sleeps (a spinning
   * one sees queue_depth). */
  if (g_atomic_int_get (&engine->sleepers) == 0)
    return;
  g_mutex_lock (&engine->idle_lock);
  if (all)
    g_cond_broadcast (&engine->work);
  else
    g_cond_signal (&engine->work);
  g_mutex_unlock (&engine->idle_lock);
}

void
sm_batcher_wake_all (SmEngine *engine)
{
  wake_workers (engine, TRUE);
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

/* A PAUSE takes up to ~60 cycles on recent x86 cores: a spinner looks at
 * what it waits for after every few, and at the clock more rarely, so
 * that it sees the change within a fraction of a microsecond. */
#define PAUSES_PER_LOOK  4
#define LOOKS_PER_CLOCK  16

/* Spins until @flag is non-zero or SPIN_NS pass; returns the flag. */
gboolean
sm_batcher_spin_until_set (gint *flag)
{
  gint64 until = precise_ns () + SPIN_NS;

  for (guint looks = 1; !g_atomic_int_get (flag); looks++)
    {
      for (int i = 0; i < PAUSES_PER_LOOK; i++)
        cpu_relax ();
      if (looks % LOOKS_PER_CLOCK == 0 && precise_ns () > until)
        return FALSE;
    }
  return TRUE;
}

/* One idle worker at a time spins: the others sleep at once, so that
 * spinning never takes more than one core from the threads that submit.
 * It spins on the CPU for the first SPIN_PAUSE_NS, when work that follows
 * work most often comes (a caller waiting for its answer sends the next),
 * then by yielding: where the cores are all taken (a workload generator
 * beside two workers on two cores), a thread that wakes gets the spinner's
 * core at once instead of preempting a worker in the middle of a batch;
 * with a core to spare, a yield returns at once.  Measured on two cores
 * (`synmesh bench engine`, two runs each), against spinning on the CPU
 * throughout: moderate-load p50 5.6-6.2 -> 4.4-5.1 times the bare
 * forward, closed loop and batch-1 end to end within the runs' spread. */
#define SPIN_PAUSE_NS 10000

static gboolean
spin_for_work (SmEngine *engine)
{
  gint64 start = precise_ns ();
  gboolean work = TRUE;

  if (!g_atomic_int_compare_and_exchange (&engine->spinners, 0, 1))
    return g_atomic_int_get (&engine->queue_depth) > 0;

  for (guint looks = 1; g_atomic_int_get (&engine->queue_depth) == 0 && g_atomic_int_get (&engine->running); looks++)
    {
      gint64 spun;

      for (int i = 0; i < PAUSES_PER_LOOK; i++)
        cpu_relax ();
      if (looks % LOOKS_PER_CLOCK != 0)
        continue;
      spun = precise_ns () - start;
      if (spun > SPIN_NS)
        {
          work = FALSE;
          break;
        }
      if (spun > SPIN_PAUSE_NS)
        sched_yield ();
    }
  g_atomic_int_set (&engine->spinners, 0);

  return work;
}

void
sm_batcher_apply_nice (gint tid,
                       int  nice)
{
  /* Linux gives each thread its own niceness.  Raising it is always
   * allowed; a failure leaves the worker as it was. */
  if (tid > 0)
    (void) setpriority (PRIO_PROCESS, (id_t) tid, nice);
}

/* Sleeps until woken, or until @deadline (precise_ns(); 0: none), unless
 * the work generation moved from @generation since the caller looked. */
static void
sleep_for_work (SmEngine *engine,
                gint      generation,
                gint64    deadline)
{
  g_mutex_lock (&engine->idle_lock);
  g_atomic_int_inc (&engine->sleepers);
  if (g_atomic_int_get (&engine->running)
      && g_atomic_int_get (&engine->work_generation) == generation)
    {
      if (deadline == 0)
        g_cond_wait (&engine->work, &engine->idle_lock);
      else
        g_cond_wait_until (&engine->work, &engine->idle_lock,
                           g_get_monotonic_time () + MAX (1, (deadline - precise_ns ()) / 1000));
    }
  g_atomic_int_add (&engine->sleepers, -1);
  g_mutex_unlock (&engine->idle_lock);
}

static gpointer
worker_main (gpointer data)
{
  Worker *worker = data;
  SmEngine *engine = worker->engine;

  g_mutex_lock (&engine->workers_lock);
  worker->tid = (gint) syscall (SYS_gettid);
  if (engine->worker_nice != 0)
    sm_batcher_apply_nice (worker->tid, engine->worker_nice);
  g_mutex_unlock (&engine->workers_lock);

  while (g_atomic_int_get (&engine->running))
    {
      gint generation = g_atomic_int_get (&engine->work_generation);
      gint64 deadline;
      SmDomain domain;
      guint n = take_batch (worker, worker->batches[worker->next_batch].jobs, &domain, &deadline);

      if (n > 0)
        run_batch (worker, domain, n);
      /* Nothing to prepare meanwhile: the batch in flight ends now. */
      else if (worker->in_flight != NULL)
        end_in_flight (worker);
      else if (deadline != 0 || !spin_for_work (engine))
        sleep_for_work (engine, generation, deadline);
    }
  end_in_flight (worker);

  return NULL;
}

void
sm_batcher_start_workers_locked (SmEngine *engine,
                                 guint     threads)
{
  g_atomic_int_set (&engine->running, TRUE);
  for (guint i = 0; i < threads; i++)
    {
      Worker *worker = g_new0 (Worker, 1);
      g_autofree char *name = g_strdup_printf ("sm-worker-%u", i);

      worker->engine = engine;
      for (guint b = 0; b < G_N_ELEMENTS (worker->batches); b++)
        worker->batches[b].jobs = g_new (Job *, SM_ENGINE_MAX_BATCH);
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
void
sm_batcher_stop_workers (SmEngine *engine)
{
  g_autoptr(GPtrArray) workers = NULL;

  g_mutex_lock (&engine->workers_lock);
  g_atomic_int_set (&engine->running, FALSE);
  wake_workers (engine, TRUE);
  workers = g_steal_pointer (&engine->workers);
  engine->workers = g_ptr_array_new ();
  g_mutex_unlock (&engine->workers_lock);

  for (guint i = 0; i < workers->len; i++)
    {
      Worker *worker = g_ptr_array_index (workers, i);

      g_thread_join (worker->thread);
      for (guint b = 0; b < G_N_ELEMENTS (worker->batches); b++)
        {
          sm_pool_arena_free (worker->batches[b].arena);
          g_free (worker->batches[b].jobs);
        }
      g_free (worker);
    }
}

/* Queues one job per expert of each of @queries for the workers: gathered
 * per expert first, so that each queue is locked once, and its jobs are
 * seen together. */
void
sm_batcher_enqueue_many (SmEngine      *engine,
                         Query * const *queries,
                         guint          n_queries,
                         gint64         now)
{
  JobQueue gathered[SM_N_DOMAINS] = { 0 };
  guint jobs = 0;

  for (guint q = 0; q < n_queries; q++)
    {
      Query *query = queries[q];

      for (guint s = 0; s < query->route.n; s++)
        {
          Job *job = &query->jobs[s];

          job->query = query;
          job->slot = s;
          job->enqueued_ns = now;
          job_queue_push (&gathered[query->route.domains[s]], job);
        }
      jobs += query->route.n;
    }

  for (guint d = 0; d < SM_N_DOMAINS; d++)
    {
      JobQueue *queue = &engine->queues[d];
      Job *job;

      if (gathered[d].head == NULL)
        continue;
      g_mutex_lock (&queue->lock);
      while ((job = job_queue_pop (&gathered[d])) != NULL)
        {
          job_queue_push (queue, job);
          note_arrival_locked (queue, now);
        }
      g_mutex_unlock (&queue->lock);
    }
  g_atomic_int_add (&engine->queue_depth, (int) jobs);
  wake_workers (engine, FALSE);
}

void
sm_batcher_enqueue (SmEngine *engine,
                    Query    *query,
                    gint64    now)
{
  sm_batcher_enqueue_many (engine, &query, 1, now);
}

void
sm_engine_job_run_locally (SmEngineJob *job)
{
  SmEngine *engine = job->query->engine;
  JobQueue *queue = &engine->queues[sm_engine_job_get_domain (job)];

  job->enqueued_ns = precise_ns ();
  g_mutex_lock (&queue->lock);
  job_queue_push (queue, job);
  g_mutex_unlock (&queue->lock);
  g_atomic_int_add (&engine->queue_depth, 1);
  wake_workers (engine, FALSE);
}
