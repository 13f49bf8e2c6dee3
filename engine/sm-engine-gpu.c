/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#define G_LOG_DOMAIN "sm-engine"

#include <math.h>

#include "sm-engine-private.h"
#include "sm-gpu-calibration.h"
#include "sm-paths.h"

/* Routing batches to the Vulkan backend: the mode (off, on, auto from the
 * calibrated crossover), the model's copy on the device, and falling back
 * to the CPU, with the reason shown, when the GPU fails. */

void
sm_engine_gpu_set_status (SmEngine   *engine,
                          char       *status)
{
  g_mutex_lock (&engine->gpu_lock);
  g_free (engine->gpu_status);
  engine->gpu_status = status;
  g_mutex_unlock (&engine->gpu_lock);
}

/* A batch the GPU could not run: it is run on the CPU (nothing is lost) and
 * so is everything after it, with the reason for people to see. */
void
sm_engine_gpu_failed (SmEngine     *engine,
                      const GError *error)
{
  /* Another worker's batch may fail the same way at once: the first
   * reason is the one that says what happened. */
  if (g_atomic_int_exchange (&engine->gpu_mode, SM_GPU_OFF) == SM_GPU_OFF)
    return;
  g_message ("GPU off, the CPU runs the model: %s", error->message);
  sm_engine_gpu_set_status (engine, g_strdup_printf ("GPU off: %s", error->message));
}

void
sm_engine_gpu_allow_reduced (SmGpuModel *gpu_model,
                             gboolean    reduced)
{
  g_autoptr(GError) error = NULL;

  if (!sm_gpu_model_set_reduced_precision (gpu_model, reduced, &error))
    g_message ("The model stays in FP32 on the GPU: %s", error->message);
}

SmGpuModel *
sm_engine_gpu_upload_model (SmGpu    *gpu,
                            SmModel  *model,
                            GError  **error)
{
  SmExpert *experts[SM_N_DOMAINS];
  gboolean reduced = FALSE;
  SmGpuModel *gpu_model;

  for (guint d = 0; d < SM_N_DOMAINS; d++)
    {
      experts[d] = sm_model_get_expert (model, d);
      reduced |= experts[d] != NULL && sm_expert_get_precision (experts[d]) != SM_PRECISION_F32;
    }
  gpu_model = sm_gpu_model_new (gpu, experts, SM_N_DOMAINS, error);
  /* Weights the engine runs in reduced precision may meet the tensor cores. */
  if (gpu_model != NULL)
    sm_engine_gpu_allow_reduced (gpu_model, reduced);
  return gpu_model;
}

/* The GEMM's tiling rule for a device just opened: remembered in the data
 * folder, or measured now (a fraction of a second) and remembered.  A
 * failure leaves the default rule: it costs speed, not answers. */
static void
tune_tiles (SmGpu *gpu)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = sm_paths_ensure_data_dir (&error);
  g_autofree char *path = dir != NULL ? g_build_filename (dir, SM_GPU_TILES_FILE, NULL) : NULL;

  if (path == NULL || (!sm_gpu_tiles_load (gpu, path) && !sm_gpu_tiles_measure (gpu, path, NULL, &error)))
    g_message ("GPU tile sweep: %s", error->message);
}

/* AUTO's crossover for @model (already on the GPU as @gpu_model): measured
 * once per model, then remembered. */
guint
sm_engine_gpu_crossover_for (SmEngine    *engine,
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
        crossover = sm_gpu_calibrate (gpu_model, d, sm_model_get_expert (model, d), sm_engine_current_kernels (engine),
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

/* What a forward adds to the GPU's busy time.  Forwards in several lanes
 * overlap on the device: with timestamps, only the part of the dispatches'
 * interval after the latest end counted so far adds (a forward finishing
 * out of order adds less than it could: busy time is never overstated);
 * without them, the forward's time. */
static guint64
busy_share (SmEngine          *engine,
            const SmGpuTiming *timing,
            guint64            busy_ns)
{
  guint64 seen, from, end;

  if (timing->device_end_ns == 0)
    return busy_ns;
  seen = __atomic_load_n (&engine->gpu_busy_until_ns, __ATOMIC_RELAXED);
  do
    {
      /* A second behind what was counted: another device's clock (the
       * GPU was made again), which starts the count afresh. */
      gboolean new_clock = timing->device_end_ns + 1000000000u < seen;

      from = new_clock ? timing->device_start_ns : MAX (timing->device_start_ns, seen);
      end = new_clock ? timing->device_end_ns : MAX (seen, timing->device_end_ns);
    }
  while (!__atomic_compare_exchange_n (&engine->gpu_busy_until_ns, &seen, end, TRUE,
                                       __ATOMIC_RELAXED, __ATOMIC_RELAXED));
  return timing->device_end_ns > from ? timing->device_end_ns - from : 0;
}

/* Batch @n of @domain on the GPU, when the mode says so: submitted, to be
 * finished with sm_engine_gpu_finish().  NULL when the batch is the CPU's
 * (the GPU is not in use for it, or failed: said), or, with *@busy set,
 * when every lane was busy and @may_wait was not.  Under the model's
 * reader lock, held until the forward is finished. */
SmGpuForward *
sm_engine_gpu_submit (Worker      *worker,
                      SmDomain     domain,
                      const float *x,
                      guint        n,
                      gboolean     may_wait,
                      gboolean    *busy)
{
  SmEngine *engine = worker->engine;
  SmGpuMode mode = g_atomic_int_get (&engine->gpu_mode);
  g_autoptr(GError) error = NULL;
  SmGpuForward *forward = NULL;

  *busy = FALSE;
  if (engine->gpu_model == NULL
      || !(mode == SM_GPU_ON || (mode == SM_GPU_AUTO && n >= (guint) g_atomic_int_get (&engine->gpu_crossover))))
    return NULL;
  if (!sm_gpu_model_submit (engine->gpu_model, domain, x, n, may_wait, &forward, &error))
    sm_engine_gpu_failed (engine, error);
  else
    *busy = forward == NULL;
  return forward;
}

/* The answer of @forward in @y; if the GPU failed, computed with the CPU
 * kernels instead. */
void
sm_engine_gpu_finish (Worker          *worker,
                      SmGpuForward    *forward,
                      SmExpert        *expert,
                      const SmKernels *kernels,
                      const float     *x,
                      guint            n,
                      float           *y,
                      float           *scratch)
{
  SmEngine *engine = worker->engine;
  g_autoptr(GError) error = NULL;
  SmGpuTiming timing;

  if (sm_gpu_forward_finish (forward, y, &timing, &error))
    {
      guint64 busy_ns = (guint64) ((isnan (timing.dispatch_us) ? timing.total_us : timing.dispatch_us) * 1e3);

      if (worker->recorders[STAGE_GPU] == NULL)
        worker->recorders[STAGE_GPU] = sm_histogram_add_recorder (engine->histograms[STAGE_GPU]);
      sm_histogram_recorder_record (worker->recorders[STAGE_GPU], busy_ns);
      __atomic_fetch_add (&engine->gpu_batches, 1, __ATOMIC_RELAXED);
      __atomic_fetch_add (&engine->gpu_busy_ns, busy_share (engine, &timing, busy_ns), __ATOMIC_RELAXED);
      return;
    }
  sm_engine_gpu_failed (engine, error);
  sm_expert_forward (expert, kernels, x, n, y, scratch);
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
      sm_rw_lock_writer_lock (&engine->model_lock);
      old = g_steal_pointer (&engine->gpu_model);
      sm_rw_lock_writer_unlock (&engine->model_lock);
      sm_gpu_model_free (old);
      sm_engine_gpu_set_status (engine, g_strdup (sm_gpu_is_built () ? "GPU off" : "GPU support not built"));
      return TRUE;
    }

  g_mutex_lock (&engine->gpu_lock);
  if (engine->gpu == NULL && (engine->gpu = sm_gpu_new (&local_error)) != NULL)
    tune_tiles (engine->gpu);
  gpu = engine->gpu;
  g_mutex_unlock (&engine->gpu_lock);
  if (gpu == NULL)
    goto failed;

  /* Upload (and for AUTO, time) the model in use; the weights move to the
   * device once, the workers go on meanwhile. */
  sm_rw_lock_reader_lock (&engine->model_lock);
  if (engine->model != NULL)
    {
      gpu_model = sm_engine_gpu_upload_model (gpu, engine->model, &local_error);
      if (gpu_model != NULL && mode == SM_GPU_AUTO)
        crossover = sm_engine_gpu_crossover_for (engine, gpu_model, engine->model, engine->model_hash, &local_error);
    }
  sm_rw_lock_reader_unlock (&engine->model_lock);
  if (local_error != NULL)
    {
      sm_gpu_model_free (gpu_model);
      goto failed;
    }

  sm_rw_lock_writer_lock (&engine->model_lock);
  old = engine->gpu_model;
  engine->gpu_model = gpu_model;
  g_atomic_int_set (&engine->gpu_mode, mode);
  sm_rw_lock_writer_unlock (&engine->model_lock);
  sm_gpu_model_free (old);

  if (mode == SM_GPU_ON)
    sm_engine_gpu_set_status (engine, g_strdup_printf ("GPU on: %s", sm_gpu_get_info (gpu)->device_name));
  else if (crossover == G_MAXUINT)
    sm_engine_gpu_set_status (engine, g_strdup_printf ("GPU auto: %s, slower than the CPU at every batch size",
                                             sm_gpu_get_info (gpu)->device_name));
  else
    sm_engine_gpu_set_status (engine, g_strdup_printf ("GPU auto: %s from batches of %u", sm_gpu_get_info (gpu)->device_name,
                                             crossover));
  return TRUE;

failed:
  sm_engine_gpu_set_status (engine, g_strdup_printf ("GPU off: %s", local_error->message));
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

  sm_rw_lock_reader_lock (&engine->model_lock);
  hash = engine->model_hash;
  sm_rw_lock_reader_unlock (&engine->model_lock);
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
