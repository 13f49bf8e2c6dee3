/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>

#include "sm-gpu-calibration.h"

/* Runs per batch size; the best counts (noise only ever slows a run). */
#define RUNS 3

static double
time_cpu (SmExpert        *expert,
          const SmKernels *kernels,
          const float     *input,
          guint            batch,
          float           *output)
{
  float *scratch = g_aligned_alloc (sm_expert_scratch_floats (expert, batch), sizeof (float), 64);
  double best = INFINITY;

  for (guint r = 0; r < RUNS; r++)
    {
      gint64 start = g_get_monotonic_time ();

      sm_expert_forward (expert, kernels, input, batch, output, scratch);
      best = MIN (best, (double) (g_get_monotonic_time () - start));
    }
  g_aligned_free (scratch);
  return MAX (best, 1);
}

guint
sm_gpu_calibrate (SmGpuModel      *model,
                  guint            index,
                  SmExpert        *expert,
                  const SmKernels *kernels,
                  guint            max_batch,
                  GArray          *points,
                  GError         **error)
{
  guint in = sm_expert_get_input_width (expert), out = sm_expert_get_output_width (expert);
  g_autofree float *input = g_new (float, (gsize) max_batch * in);
  g_autofree float *output = g_new (float, (gsize) max_batch * out);
  guint crossover = G_MAXUINT;

  for (gsize i = 0; i < (gsize) max_batch * in; i++)
    input[i] = (float) ((i * 2654435761u) % 2001) / 1000.0f - 1.0f;
  /* The first submission compiles and warms the pipelines. */
  if (!sm_gpu_model_forward (model, index, input, 1, output, NULL, error))
    return G_MAXUINT;

  for (guint batch = 1; batch <= max_batch; batch *= 2)
    {
      SmGpuCalibrationPoint point = { batch, 0, INFINITY, INFINITY };

      point.cpu_us = time_cpu (expert, kernels, input, batch, output);
      for (guint r = 0; r < RUNS; r++)
        {
          SmGpuTiming timing;

          if (!sm_gpu_model_forward (model, index, input, batch, output, &timing, error))
            return G_MAXUINT;
          point.gpu_total_us = MIN (point.gpu_total_us, timing.total_us);
          point.gpu_dispatch_us = isnan (timing.dispatch_us) ? NAN : MIN (point.gpu_dispatch_us, timing.dispatch_us);
        }
      if (points != NULL)
        g_array_append_val (points, point);
      /* Faster from here on, or not: a slower size resets the crossover. */
      if (point.gpu_total_us < point.cpu_us)
        crossover = MIN (crossover, batch);
      else
        crossover = G_MAXUINT;
    }
  return crossover;
}
