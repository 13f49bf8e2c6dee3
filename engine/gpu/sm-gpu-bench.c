/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>

#include "sm-engine.h"
#include "sm-gpu-bench.h"
#include "sm-gpu-calibration.h"
#include "sm-paths.h"
#include "sm-pool.h"

/* One layer of @side × @side, identity: the GEMM shader alone. */
static SmExpert *
square_layer (SmPool  *pool,
              guint    side,
              GError **error)
{
  SmLayerShape shape = { side, side, { SM_ACT_IDENTITY, 0 } };
  g_autofree float *weights = g_new (float, (gsize) side * side);
  g_autofree float *bias = g_new0 (float, side);
  const float *w = weights, *b = bias;

  for (gsize i = 0; i < (gsize) side * side; i++)
    weights[i] = (float) (i % 17) / 17.0f - 0.5f;
  return sm_expert_new (pool, 1, &shape, &w, &b, error);
}

/* The best of three forwards of @model's layer, in µs of device time
 * (of host time without timestamps); NaN on failure, said. */
static double
best_gemm_us (SmGpuModel  *model,
              guint        side,
              const float *input,
              float       *output)
{
  g_autoptr(GError) error = NULL;
  double best = INFINITY;

  for (guint r = 0; r < 3; r++)
    {
      SmGpuTiming timing;

      if (!sm_gpu_model_forward (model, 0, input, side, output, &timing, &error))
        {
          g_printerr ("bench gpu: GEMM %u: %s\n", side, error->message);
          return NAN;
        }
      best = MIN (best, isnan (timing.dispatch_us) ? timing.total_us : timing.dispatch_us);
    }
  return best;
}

static void
bench_gemm (SmBenchReport *report,
            SmGpu         *gpu,
            guint          side,
            guint          peak)
{
  g_autoptr(SmPool) pool = sm_pool_new ((gsize) side * side * sizeof (float) * 2 + 64 * 1024 * 1024, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(SmExpert) expert = square_layer (pool, side, &error);
  g_autoptr(SmGpuModel) model = NULL;
  g_autofree float *input = NULL, *output = NULL;
  g_autofree char *params = g_strdup_printf ("m=%u n=%u k=%u tile=%u", side, side, side,
                                             sm_gpu_gemm_tile (gpu, side, side));
  g_autofree char *fp16_params = g_strdup_printf ("m=%u n=%u k=%u precision=fp16-fp32", side, side, side);
  double flop = 2.0 * side * side * side, us;
  guint fp32_row = G_MAXUINT;

  if (expert == NULL || (model = sm_gpu_model_new (gpu, &expert, 1, &error)) == NULL)
    {
      g_printerr ("bench gpu: GEMM %u: %s\n", side, error->message);
      return;
    }
  sm_gpu_model_copy_answers (model);
  input = g_new (float, (gsize) side * side);
  output = g_new (float, (gsize) side * side);
  for (gsize i = 0; i < (gsize) side * side; i++)
    input[i] = (float) (i % 13) / 13.0f;
  /* As a share of the FP32 ceiling measured on the device (Vulkan does
   * not report one). */
  us = best_gemm_us (model, side, input, output);
  if (!isnan (us))
    fp32_row = sm_bench_report_compare (report, "gpu-gemm", params, flop / (us * 1e3), "GFLOP/s", peak, NULL);

  /* The tensor cores, where the device has them: as a share of their own
   * ceiling, measured like the FP32 one (or of the FP32 GEMM without it). */
  if (sm_gpu_get_info (gpu)->matrix_cores)
    {
      double gflops;
      guint baseline = fp32_row;

      if (sm_gpu_model_measure_matrix_peak (model, &gflops, &error))
        baseline = sm_bench_report_add (report, "gpu-fp16-matrix-peak", "shader=coop-matrix-chains", gflops, "GFLOP/s");
      else
        g_printerr ("bench gpu: the tensor cores' ceiling: %s\n", error->message);
      g_clear_error (&error);
      us = sm_gpu_model_set_reduced_precision (model, TRUE, &error) ? best_gemm_us (model, side, input, output) : NAN;
      if (error != NULL)
        g_printerr ("bench gpu: the tensor cores: %s\n", error->message);
      if (!isnan (us))
        sm_bench_report_compare (report, "gpu-gemm-matrix-cores", fp16_params, flop / (us * 1e3), "GFLOP/s",
                                 baseline, NULL);
    }
}

/* The tile sweep, remembered in the data folder as the engine would; the
 * GEMM rows after it use its rule. */
static void
bench_tiles (SmBenchReport *report,
             SmGpu         *gpu)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) points = g_array_new (FALSE, FALSE, sizeof (SmGpuTilePoint));
  g_autofree char *dir = sm_paths_ensure_data_dir (&error);
  g_autofree char *path = dir != NULL ? g_build_filename (dir, SM_GPU_TILES_FILE, NULL) : NULL;
  guint from;

  if (path == NULL || !sm_gpu_tiles_measure (gpu, path, points, &error))
    g_printerr ("bench gpu: the tile sweep: %s\n", error->message);
  for (guint i = 0; i < points->len; i++)
    {
      SmGpuTilePoint *p = &g_array_index (points, SmGpuTilePoint, i);
      g_autofree char *small = g_strdup_printf ("m=%u n=%u k=256 workgroups=%u tile=64", p->side, p->side, p->groups);
      g_autofree char *large = g_strdup_printf ("m=%u n=%u k=256 workgroups=%u tile=128", p->side, p->side, p->groups);
      guint row = sm_bench_report_add (report, "gpu-tile-sweep", small, p->small_us, "µs");

      sm_bench_report_compare (report, "gpu-tile-sweep", large, p->large_us, "µs", row, NULL);
    }
  from = sm_gpu_get_info (gpu)->large_tiles_from;
  sm_bench_report_add (report, "gpu-large-tiles-from", "unit=128x128-workgroups",
                       from == G_MAXUINT ? NAN : (double) from, "workgroups");
}

void
sm_gpu_bench (SmBenchReport *report,
              gboolean       quick)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SmGpu) gpu = sm_gpu_new (&error);
  g_autoptr(SmPool) pool = NULL;
  g_autoptr(SmModel) model = NULL;
  g_autoptr(SmGpuModel) on_gpu = NULL;
  g_autoptr(GArray) points = g_array_new (FALSE, FALSE, sizeof (SmGpuCalibrationPoint));
  const SmKernels *kernels = sm_backend_get_kernels (SM_BACKEND_AUTO, NULL);
  SmExpert *expert;
  guint crossover;

  if (gpu == NULL)
    {
      g_printerr ("bench gpu: %s\n", error->message);
      return;
    }
  pool = sm_pool_new (SM_POOL_DEFAULT_LIMIT, NULL);
  model = sm_model_new_preset (SM_PRESET_STANDARD, pool, &error);
  expert = model != NULL ? sm_model_get_expert (model, 0) : NULL;
  if (expert == NULL || (on_gpu = sm_gpu_model_new (gpu, &expert, 1, &error)) == NULL)
    {
      g_printerr ("bench gpu: %s\n", error->message);
      return;
    }

  bench_tiles (report, gpu);
  crossover = sm_gpu_calibrate (on_gpu, 0, expert, kernels, quick ? 256 : 4096, points, &error);
  for (guint i = 0; i < points->len; i++)
    {
      SmGpuCalibrationPoint *p = &g_array_index (points, SmGpuCalibrationPoint, i);
      g_autofree char *params = g_strdup_printf ("preset=standard batch=%u device=%s", p->batch,
                                                 sm_gpu_get_info (gpu)->device_type);
      g_autofree char *cpu_params = g_strdup_printf ("preset=standard batch=%u kernels=%s", p->batch, kernels->name);
      guint cpu = sm_bench_report_add (report, "cpu-forward", cpu_params, p->cpu_us, "µs");

      sm_bench_report_compare (report, "gpu-forward-total", params, p->gpu_total_us, "µs", cpu, NULL);
      /* The total split: the device's own time (timestamps around the
       * dispatches), and the rest, the host's (recording, submission,
       * copies, the wait's wake-up). */
      if (!isnan (p->gpu_dispatch_us))
        {
          sm_bench_report_compare (report, "gpu-forward-dispatch", params, p->gpu_dispatch_us, "µs", cpu, NULL);
          sm_bench_report_add (report, "gpu-forward-host", params, p->gpu_total_us - p->gpu_dispatch_us, "µs");
        }
    }
  if (error != NULL)
    g_printerr ("bench gpu: %s\n", error->message);
  sm_bench_report_add (report, "crossover-batch", "preset=standard",
                       crossover == G_MAXUINT ? NAN : (double) crossover, "rows");
  {
    double gflops;
    guint peak = G_MAXUINT;   /* no ceiling measured: the GEMM stands alone */

    g_clear_error (&error);
    if (sm_gpu_model_measure_peak (on_gpu, &gflops, &error))
      peak = sm_bench_report_add (report, "gpu-fp32-peak", "shader=fma-chains", gflops, "GFLOP/s");
    else
      g_printerr ("bench gpu: the FP32 ceiling: %s\n", error->message);
    bench_gemm (report, gpu, quick ? 1024 : 4096, peak);
  }
}
