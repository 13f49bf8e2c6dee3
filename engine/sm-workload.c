/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#define G_LOG_DOMAIN "sm-workload"

#include <math.h>
#include <gio/gio.h>

#include "sm-engine-resources.h"
#include "sm-names.h"
#include "sm-workload.h"

struct _SmWorkload
{
  SmEngine       *engine;
  GRand          *rand;            /* the generator thread's alone */
  GPtrArray      *corpus[SM_N_DOMAINS];

  GMutex          lock;
  GCond           changed;         /* knobs, stop, closed-loop completions */
  SmWorkloadMode  mode;
  double          rate;
  double          mix[SM_N_DOMAINS];
  gboolean        unique;
  gboolean        running;
  GThread        *thread;

  SmHistogram         *latency;
  GMutex               record_lock;  /* answers come on several workers */
  SmHistogramRecorder *recorder;

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
  SmWorkload *workload = g_new0 (SmWorkload, 1);

  workload->engine = engine;
  workload->rand = g_rand_new_with_seed_array ((const guint32[]) { (guint32) seed, (guint32) (seed >> 32) }, 2);
  g_mutex_init (&workload->lock);
  g_mutex_init (&workload->record_lock);
  g_cond_init (&workload->changed);
  workload->mode = mode;
  workload->rate = rate;
  for (guint d = 0; d < SM_N_DOMAINS; d++)
    workload->mix[d] = 1.0;
  workload->latency = sm_histogram_new ();
  workload->recorder = sm_histogram_add_recorder (workload->latency);
  load_corpus (workload);

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
  g_mutex_clear (&workload->record_lock);
  g_mutex_clear (&workload->lock);
  g_free (workload);
}

static void
query_done (SmResult     *result,
            const GError *error,
            gpointer      user_data)
{
  SmWorkload *workload = user_data;

  if (result != NULL)
    {
      g_mutex_lock (&workload->record_lock);
      sm_histogram_recorder_record (workload->recorder, result->total_ns);
      g_mutex_unlock (&workload->record_lock);
    }

  g_mutex_lock (&workload->lock);
  if (error != NULL)
    workload->failed++;
  else
    workload->completed++;
  workload->in_flight--;
  g_cond_broadcast (&workload->changed);
  g_mutex_unlock (&workload->lock);

  sm_result_free (result);
}

/* Picks a query by the mix; called with the lock held. */
static char *
next_query_locked (SmWorkload *workload)
{
  double total = 0, pick;
  guint d;
  GPtrArray *queries;

  for (d = 0; d < SM_N_DOMAINS; d++)
    total += workload->corpus[d]->len > 0 ? workload->mix[d] : 0;
  pick = g_rand_double (workload->rand) * total;
  for (d = 0; d + 1 < SM_N_DOMAINS; d++)
    {
      double w = workload->corpus[d]->len > 0 ? workload->mix[d] : 0;

      if (pick < w)
        break;
      pick -= w;
    }

  queries = workload->corpus[d];
  if (workload->unique)
    return g_strdup_printf ("%s #%" G_GUINT64_FORMAT,
                            (const char *) g_ptr_array_index (queries, g_rand_int_range (workload->rand, 0, queries->len)),
                            ++workload->serial);
  return g_strdup (g_ptr_array_index (queries, g_rand_int_range (workload->rand, 0, queries->len)));
}

static gpointer
generator_main (gpointer data)
{
  SmWorkload *workload = data;
  gint64 next_us = g_get_monotonic_time ();

  g_mutex_lock (&workload->lock);
  while (workload->running)
    {
      g_autofree char *text = NULL;
      gint64 intended_ns = 0;

      if (workload->mode == SM_WORKLOAD_CLOSED)
        {
          if (workload->in_flight >= (guint64) MAX (1.0, workload->rate))
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
          next_us += (gint64) (gap * 1e6);
          while (workload->running && g_get_monotonic_time () < next_us)
            g_cond_wait_until (&workload->changed, &workload->lock, next_us);
          if (!workload->running)
            break;
          intended_ns = next_us * 1000;
          if (workload->in_flight >= SM_WORKLOAD_MAX_IN_FLIGHT)
            {
              workload->shed++;
              continue;
            }
        }

      text = next_query_locked (workload);
      workload->submitted++;
      workload->in_flight++;
      g_mutex_unlock (&workload->lock);
      sm_engine_submit (workload->engine, text, -1, intended_ns, query_done, workload);
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
      workload->running = TRUE;
      workload->thread = g_thread_new ("sm-workload", generator_main, workload);
    }
  g_mutex_unlock (&workload->lock);
}

void
sm_workload_stop (SmWorkload *workload)
{
  GThread *thread;

  g_mutex_lock (&workload->lock);
  workload->running = FALSE;
  g_cond_broadcast (&workload->changed);
  thread = g_steal_pointer (&workload->thread);
  g_mutex_unlock (&workload->lock);

  if (thread != NULL)
    g_thread_join (thread);

  /* Every query sent is answered before the workload goes. */
  g_mutex_lock (&workload->lock);
  while (workload->in_flight > 0)
    g_cond_wait (&workload->changed, &workload->lock);
  g_mutex_unlock (&workload->lock);
}

void
sm_workload_set_rate (SmWorkload *workload,
                      double      rate)
{
  g_mutex_lock (&workload->lock);
  workload->rate = rate;
  g_cond_broadcast (&workload->changed);
  g_mutex_unlock (&workload->lock);
}

void
sm_workload_set_mode (SmWorkload     *workload,
                      SmWorkloadMode  mode)
{
  g_mutex_lock (&workload->lock);
  workload->mode = mode;
  g_cond_broadcast (&workload->changed);
  g_mutex_unlock (&workload->lock);
}

void
sm_workload_set_mix (SmWorkload   *workload,
                     const double *weights)
{
  g_mutex_lock (&workload->lock);
  for (guint d = 0; d < SM_N_DOMAINS; d++)
    workload->mix[d] = MAX (0.0, weights[d]);
  g_mutex_unlock (&workload->lock);
}

void
sm_workload_set_unique (SmWorkload *workload,
                        gboolean    unique)
{
  g_mutex_lock (&workload->lock);
  workload->unique = unique;
  g_mutex_unlock (&workload->lock);
}

void
sm_workload_get_counts (SmWorkload       *workload,
                        SmWorkloadCounts *counts)
{
  g_mutex_lock (&workload->lock);
  counts->submitted = workload->submitted;
  counts->completed = workload->completed;
  counts->failed = workload->failed;
  counts->shed = workload->shed;
  counts->in_flight = workload->in_flight;
  g_mutex_unlock (&workload->lock);
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
