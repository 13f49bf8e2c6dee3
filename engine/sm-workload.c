/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#define G_LOG_DOMAIN "sm-workload"

#include <math.h>
#include <gio/gio.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "sm-engine-resources.h"
#include "sm-names.h"
#include "sm-workload.h"

struct _SmWorkload
{
  guint64         id;              /* unique per process: see record_latency() */
  SmEngine       *engine;
  GRand          *rand;            /* the generator thread's alone: arrival gaps */
  guint64         seed;
  GPtrArray      *corpus[SM_N_DOMAINS];

  GMutex          lock;
  GCond           changed;         /* knobs, stop, the last answer */
  SmWorkloadMode  mode;            /* under lock; read atomically by answers too */
  double          rate;
  gboolean        running;         /* under lock; read atomically by answers too */
  GThread        *thread;

  /* The mix as cumulative shares of 2^32, and whether queries are made
   * unique: read atomically on every query, so that answers can send the
   * next query without the lock. */
  guint           mix_below[SM_N_DOMAINS];
  gint            unique;
  gint            outstanding;     /* closed loop: queries kept in flight */

  SmHistogram    *latency;

  /* Counters, atomic. */
  guint64         submitted, completed, failed, shed, in_flight;
  guint64         serial;
};

static const char * const mode_names[] = { "poisson", "constant", "closed" };

const char *
sm_workload_mode_get_name (SmWorkloadMode mode)
{
  g_return_val_if_fail (mode <= SM_WORKLOAD_CLOSED, NULL);
  return mode_names[mode];
}

gboolean
sm_workload_mode_from_name (const char     *name,
                            SmWorkloadMode *mode)
{
  return sm_names_lookup (mode_names, G_N_ELEMENTS (mode_names), name, mode);
}

static gpointer
register_resources (gpointer data)
{
  sm_engine_register_resource ();
  return NULL;
}

static void
load_corpus (SmWorkload *workload)
{
  static GOnce once = G_ONCE_INIT;
  g_autoptr(GBytes) bytes = NULL;
  g_auto(GStrv) lines = NULL;

  g_once (&once, register_resources, NULL);
  bytes = g_resources_lookup_data ("/io/github/synmesh/SynapticMesh/engine/queries.txt",
                                   G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);

  g_assert (bytes != NULL);   /* compiled in */
  lines = g_strsplit (g_bytes_get_data (bytes, NULL), "\n", -1);

  for (guint d = 0; d < SM_N_DOMAINS; d++)
    workload->corpus[d] = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) fields = NULL;
      SmDomain domain;

      if (lines[i][0] == '#' || lines[i][0] == '\0')
        continue;
      fields = g_strsplit (lines[i], "\t", 2);
      if (fields[1] != NULL && sm_domain_from_id (fields[0], &domain))
        g_ptr_array_add (workload->corpus[domain], g_strdup (fields[1]));
    }
}

SmWorkload *
sm_workload_new (SmEngine       *engine,
                 SmWorkloadMode  mode,
                 double          rate,
                 guint64         seed)
{
  static guint64 last_id;
  static const double equal[SM_N_DOMAINS] = { 1, 1, 1, 1, 1, 1 };
  SmWorkload *workload = g_new0 (SmWorkload, 1);

  workload->id = __atomic_add_fetch (&last_id, 1, __ATOMIC_RELAXED);
  workload->engine = engine;
  workload->seed = seed;
  workload->rand = g_rand_new_with_seed_array ((const guint32[]) { (guint32) seed, (guint32) (seed >> 32) }, 2);
  g_mutex_init (&workload->lock);
  g_cond_init (&workload->changed);
  workload->latency = sm_histogram_new ();
  load_corpus (workload);
  sm_workload_set_mix (workload, equal);
  workload->mode = mode;
  sm_workload_set_rate (workload, rate);

  return workload;
}

void
sm_workload_free (SmWorkload *workload)
{
  if (workload == NULL)
    return;

  sm_workload_stop (workload);
  for (guint d = 0; d < SM_N_DOMAINS; d++)
    g_ptr_array_unref (workload->corpus[d]);
  sm_histogram_free (workload->latency);
  g_rand_free (workload->rand);
  g_cond_clear (&workload->changed);
  g_mutex_clear (&workload->lock);
  g_free (workload);
}

static GPrivate thread_recorder = G_PRIVATE_INIT (g_free);

typedef struct
{
  guint64              workload_id;
  SmHistogramRecorder *recorder;
} ThreadRecorder;

/* Answers come on the engine's workers: each thread records into its own
 * recorder, without a lock (workloads told apart by id, as engines are). */
static void
record_latency (SmWorkload *workload,
                guint64     ns)
{
  ThreadRecorder *tr = g_private_get (&thread_recorder);

  if (tr == NULL || tr->workload_id != workload->id)
    {
      tr = g_new0 (ThreadRecorder, 1);
      tr->workload_id = workload->id;
      tr->recorder = sm_histogram_add_recorder (workload->latency);
      g_private_replace (&thread_recorder, tr);
    }
  sm_histogram_recorder_record (tr->recorder, ns);
}

/* splitmix64: the @serial-th query's random bits, from any thread. */
static guint64
query_bits (SmWorkload *workload,
            guint64     serial)
{
  guint64 z = workload->seed + serial * 0x9E3779B97F4A7C15ull;

  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static void query_done (SmResult *result, const GError *error, gpointer user_data);

/* Picks the next query by the mix and hands it to the engine; any thread.
 * The caller has counted it in in_flight. */
static void
submit_one (SmWorkload *workload,
            gint64      intended_ns)
{
  guint64 serial = __atomic_add_fetch (&workload->serial, 1, __ATOMIC_RELAXED);
  guint64 bits = query_bits (workload, serial);
  guint32 pick = (guint32) bits;
  GPtrArray *queries;
  const char *text;
  char unique[1024];
  guint d = 0;

  /* Every domain has queries in the compiled-in corpus. */
  while (d + 1 < SM_N_DOMAINS && pick >= __atomic_load_n (&workload->mix_below[d], __ATOMIC_RELAXED))
    d++;
  queries = workload->corpus[d];
  text = g_ptr_array_index (queries, (bits >> 32) % queries->len);
  if (g_atomic_int_get (&workload->unique))
    {
      g_snprintf (unique, sizeof unique, "%s #%" G_GUINT64_FORMAT, text, serial);
      text = unique;
    }

  __atomic_fetch_add (&workload->submitted, 1, __ATOMIC_RELAXED);
  sm_engine_submit (workload->engine, text, -1, intended_ns, query_done, workload);
}

/* Closed loop: the answer sends the next query from the thread it came on,
 * in the slot it leaves, so that no generator thread, and no wake-up per
 * query, stands between the workers (their feature extraction spreads
 * over them too).  An answer can come inside sm_engine_submit() itself (a
 * cached one): the thread's outermost call sends what the inner ones owe,
 * in a loop, not by recursion. */
static __thread SmWorkload *owed_workload;
static __thread guint owed;

static void
send_next (SmWorkload *workload)
{
  if (owed_workload == workload)
    {
      owed++;
      return;
    }
  if (owed_workload != NULL)
    {
      /* Inside another workload's submission (rare): send it directly. */
      submit_one (workload, 0);
      return;
    }

  owed_workload = workload;
  owed = 1;
  while (owed > 0)
    {
      owed--;
      submit_one (workload, 0);
    }
  owed_workload = NULL;
}

static void
query_done (SmResult     *result,
            const GError *error,
            gpointer      user_data)
{
  SmWorkload *workload = user_data;
  gboolean remote = result != NULL && result->remote;

  if (result != NULL)
    record_latency (workload, result->total_ns);
  __atomic_fetch_add (error != NULL ? &workload->failed : &workload->completed, 1, __ATOMIC_RELAXED);
  sm_result_free (result);

  /* A peer's answer comes on the mesh node's thread, which must not run
   * the engine's submission (it may offload to that very node): the
   * generator sends that one. */
  if (!remote && g_atomic_int_get (&workload->running) && g_atomic_int_get (&workload->mode) == SM_WORKLOAD_CLOSED &&
      __atomic_load_n (&workload->in_flight, __ATOMIC_RELAXED) <= (guint64) g_atomic_int_get (&workload->outstanding))
    {
      send_next (workload);
      return;
    }

  /* sm_workload_stop() frees the workload once it sees no query in
   * flight: the decrement is the last this thread does with it.  While it
   * runs, nobody waits for the count (the stopper, should it start right
   * now, looks again every millisecond); once it stops, and for a peer's
   * answer that the generator replaces, the decrement is made under the
   * lock the stopper looks with, and wakes it. */
  if (!remote && g_atomic_int_get (&workload->running))
    {
      __atomic_sub_fetch (&workload->in_flight, 1, __ATOMIC_SEQ_CST);
      return;
    }
  g_mutex_lock (&workload->lock);
  __atomic_sub_fetch (&workload->in_flight, 1, __ATOMIC_SEQ_CST);
  g_cond_broadcast (&workload->changed);
  g_mutex_unlock (&workload->lock);
}

/* How long before a query's time the generator stops sleeping and spins. */
#define SPIN_AHEAD_US 40

static gpointer
generator_main (gpointer data)
{
  SmWorkload *workload = data;
  gint64 next_us = g_get_monotonic_time ();

#ifdef PR_SET_TIMERSLACK
  /* Linux lets a sleep overrun by 50 µs by default, to batch wake-ups: an
   * open-loop schedule wants its times. */
  (void) prctl (PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
#endif

  g_mutex_lock (&workload->lock);
  while (workload->running)
    {
      gint64 intended_ns = 0;

      if (workload->mode == SM_WORKLOAD_CLOSED)
        {
          /* Fills the loop at the start and when the rate grows; answers
           * keep it full. */
          if (__atomic_load_n (&workload->in_flight, __ATOMIC_ACQUIRE) >= (guint64) workload->outstanding)
            {
              g_cond_wait (&workload->changed, &workload->lock);
              continue;
            }
          next_us = g_get_monotonic_time ();
        }
      else
        {
          double rate = MAX (workload->rate, 1e-3);
          double gap = workload->mode == SM_WORKLOAD_POISSON
                       ? -log (1.0 - g_rand_double (workload->rand)) / rate : 1.0 / rate;

          /* The schedule advances whatever happens: a late query keeps
           * its intended time, and its latency counts from it. */
          gint64 spin_us = MIN (SPIN_AHEAD_US, (gint64) (gap * 1e6 / 8));

          next_us += (gint64) (gap * 1e6);
          /* A query sent late counts the generator's lateness as the
           * engine's latency: sleep until just before its time, then spin
           * the last stretch (a sleeping thread wakes tens of µs late) —
           * an eighth of the gap at most, so that at high rates the
           * generator does not take a core from the workers. */
          while (workload->running && g_get_monotonic_time () < next_us - spin_us)
            g_cond_wait_until (&workload->changed, &workload->lock, next_us - spin_us);
          if (!workload->running)
            break;
          if (g_get_monotonic_time () < next_us)
            {
              g_mutex_unlock (&workload->lock);
              while (g_get_monotonic_time () < next_us)
                ;
              g_mutex_lock (&workload->lock);
            }
          intended_ns = next_us * 1000;
          if (__atomic_load_n (&workload->in_flight, __ATOMIC_RELAXED) >= SM_WORKLOAD_MAX_IN_FLIGHT)
            {
              __atomic_fetch_add (&workload->shed, 1, __ATOMIC_RELAXED);
              continue;
            }
        }

      __atomic_fetch_add (&workload->in_flight, 1, __ATOMIC_SEQ_CST);
      g_mutex_unlock (&workload->lock);
      submit_one (workload, intended_ns);
      g_mutex_lock (&workload->lock);
    }
  g_mutex_unlock (&workload->lock);

  return NULL;
}

void
sm_workload_start (SmWorkload *workload)
{
  g_mutex_lock (&workload->lock);
  if (workload->thread == NULL)
    {
      g_atomic_int_set (&workload->running, TRUE);
      workload->thread = g_thread_new ("sm-workload", generator_main, workload);
    }
  g_mutex_unlock (&workload->lock);
}

void
sm_workload_stop (SmWorkload *workload)
{
  GThread *thread;

  g_mutex_lock (&workload->lock);
  g_atomic_int_set (&workload->running, FALSE);
  g_cond_broadcast (&workload->changed);
  thread = g_steal_pointer (&workload->thread);
  g_mutex_unlock (&workload->lock);

  if (thread != NULL)
    g_thread_join (thread);

  /* Every query sent is answered before the workload goes.  An answer
   * that came as it stopped may have counted itself out without waking
   * this (query_done()): the wait is bounded. */
  g_mutex_lock (&workload->lock);
  while (__atomic_load_n (&workload->in_flight, __ATOMIC_SEQ_CST) > 0)
    g_cond_wait_until (&workload->changed, &workload->lock, g_get_monotonic_time () + G_TIME_SPAN_MILLISECOND);
  g_mutex_unlock (&workload->lock);
}

void
sm_workload_set_rate (SmWorkload *workload,
                      double      rate)
{
  g_mutex_lock (&workload->lock);
  workload->rate = rate;
  g_atomic_int_set (&workload->outstanding, (gint) CLAMP (rate, 1.0, (double) SM_WORKLOAD_MAX_IN_FLIGHT));
  g_cond_broadcast (&workload->changed);
  g_mutex_unlock (&workload->lock);
}

void
sm_workload_set_mode (SmWorkload     *workload,
                      SmWorkloadMode  mode)
{
  g_mutex_lock (&workload->lock);
  g_atomic_int_set (&workload->mode, mode);
  g_cond_broadcast (&workload->changed);
  g_mutex_unlock (&workload->lock);
}

void
sm_workload_set_mix (SmWorkload   *workload,
                     const double *weights)
{
  double total = 0, below = 0;

  for (guint d = 0; d < SM_N_DOMAINS; d++)
    total += MAX (0.0, weights[d]);

  g_mutex_lock (&workload->lock);
  for (guint d = 0; d < SM_N_DOMAINS; d++)
    {
      below += MAX (0.0, weights[d]);
      /* A query's 32 random bits below this pick domain d (or an earlier one). */
      __atomic_store_n (&workload->mix_below[d],
                        total > 0 ? (guint) MIN (4294967295.0, below / total * 4294967296.0) : G_MAXUINT,
                        __ATOMIC_RELAXED);
    }
  g_mutex_unlock (&workload->lock);
}

void
sm_workload_set_unique (SmWorkload *workload,
                        gboolean    unique)
{
  g_atomic_int_set (&workload->unique, unique);
}

void
sm_workload_get_counts (SmWorkload       *workload,
                        SmWorkloadCounts *counts)
{
  counts->submitted = __atomic_load_n (&workload->submitted, __ATOMIC_RELAXED);
  counts->completed = __atomic_load_n (&workload->completed, __ATOMIC_RELAXED);
  counts->failed = __atomic_load_n (&workload->failed, __ATOMIC_RELAXED);
  counts->shed = __atomic_load_n (&workload->shed, __ATOMIC_RELAXED);
  counts->in_flight = __atomic_load_n (&workload->in_flight, __ATOMIC_RELAXED);
}

SmHistogramSnapshot *
sm_workload_get_latency (SmWorkload *workload)
{
  return sm_histogram_snapshot (workload->latency);
}

double
sm_workload_measure_rate (SmWorkload *workload,
                          double      seconds)
{
  SmWorkloadCounts before, after;
  gint64 t0 = g_get_monotonic_time ();

  sm_workload_get_counts (workload, &before);
  g_usleep ((gulong) (seconds * 1e6));
  sm_workload_get_counts (workload, &after);

  return (after.completed - before.completed) / ((g_get_monotonic_time () - t0) / 1e6);
}
