/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>
#ifdef __SANITIZE_ADDRESS__
#include <dlfcn.h>
#include <sanitizer/lsan_interface.h>
#endif
#include <glib/gstdio.h>

#include "sm-advisor.h"
#include "sm-engine.h"
#include "sm-error.h"
#include "sm-gpu.h"
#include "sm-model.h"
#include "sm-pool.h"
#include "sm-simd.h"

/* The Vulkan backend against the CPU kernels: every preset, odd shapes,
 * every activation, batches of 1, 3, 17 and 256; and the ways it fails.
 * CI runs it on Mesa's lavapipe (SM_GPU_ALLOW_CPU=1); without a Vulkan
 * device the cases are skipped, never passed. */

#define NMSE_LIMIT    1e-7
#define MAX_ABS_LIMIT 1e-4
/* fp16 products (the tensor cores): the bound on the presets. */
#define FP16_NMSE_LIMIT    1e-5
#define FP16_MAX_ABS_LIMIT 1e-2

static const guint batches[] = { 1, 3, 17, 256 };

static SmGpu *
gpu_or_skip (void)
{
  g_autoptr(GError) error = NULL;
  SmGpu *gpu;

  if (!sm_gpu_is_built ())
    {
      g_test_skip ("GPU support not built");
      return NULL;
    }
  gpu = sm_gpu_new (&error);
  if (gpu == NULL)
    {
      g_autofree char *why = g_strdup_printf ("no Vulkan device: %s", error->message);

      g_assert_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_NOT_SUPPORTED);
      g_test_skip (why);
      return NULL;
    }
  g_test_message ("device: %s (%s), %s", sm_gpu_get_info (gpu)->device_name, sm_gpu_get_info (gpu)->device_type,
                  sm_gpu_get_info (gpu)->driver);
  return gpu;
}

static void
fill_random (GRand *rand,
             float *x,
             gsize  n)
{
  for (gsize i = 0; i < n; i++)
    x[i] = (float) g_rand_double_range (rand, -1, 1);
}

/* The GPU's answer for @batch rows against the generic kernels', within
 * @nmse_limit and @max_abs_limit. */
static void
compare_expert_within (SmGpuModel *model,
                       guint       index,
                       SmExpert   *expert,
                       guint       batch,
                       GRand      *rand,
                       double      nmse_limit,
                       double      max_abs_limit)
{
  guint in = sm_expert_get_input_width (expert), out = sm_expert_get_output_width (expert);
  g_autofree float *input = g_new (float, (gsize) batch * in);
  g_autofree float *cpu = g_new (float, (gsize) batch * out);
  g_autofree float *gpu = g_new (float, (gsize) batch * out);
  float *scratch = g_aligned_alloc (sm_expert_scratch_floats (expert, batch), sizeof (float), 64);
  g_autoptr(GError) error = NULL;
  double err = 0, ref = 0, max_abs = 0;
  SmGpuTiming timing;
  gboolean ok;

  fill_random (rand, input, (gsize) batch * in);
  sm_expert_forward (expert, &sm_kernels_generic, input, batch, cpu, scratch);
  g_aligned_free (scratch);
  ok = sm_gpu_model_forward (model, index, input, batch, gpu, &timing, &error);
  g_assert_no_error (error);
  g_assert_true (ok);

  for (gsize i = 0; i < (gsize) batch * out; i++)
    {
      double d = (double) gpu[i] - cpu[i];

      g_assert_true (isfinite (gpu[i]));
      err += d * d;
      ref += (double) cpu[i] * cpu[i];
      max_abs = MAX (max_abs, fabs (d));
    }
  g_test_message ("expert %u, batch %u: NMSE %.2e, max |error| %.2e, %u dispatches, %.0f µs", index, batch,
                  ref > 0 ? err / ref : err, max_abs, timing.dispatches, timing.total_us);
  g_assert_cmpfloat (ref > 0 ? err / ref : err, <=, nmse_limit);
  g_assert_cmpfloat (max_abs, <=, max_abs_limit);
  g_assert_cmpfloat (timing.total_us, >, 0);
  g_assert_true (isnan (timing.dispatch_us) || timing.dispatch_us > 0);
}

static void
compare_expert (SmGpuModel *model,
                guint       index,
                SmExpert   *expert,
                guint       batch,
                GRand      *rand)
{
  compare_expert_within (model, index, expert, batch, rand, NMSE_LIMIT, MAX_ABS_LIMIT);
}

static void
test_gpu_presets (void)
{
  g_autoptr(SmGpu) gpu = gpu_or_skip ();
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);

  if (gpu == NULL)
    return;
  for (SmPreset preset = 0; preset < SM_N_PRESETS; preset++)
    {
      g_autoptr(SmPool) pool = sm_pool_new (160 * 1024 * 1024, NULL);
      g_autoptr(GError) error = NULL;
      g_autoptr(SmModel) model = sm_model_new_preset (preset, pool, &error);
      SmExpert *experts[SM_N_DOMAINS];
      g_autoptr(SmGpuModel) on_gpu = NULL;

      g_assert_no_error (error);
      for (SmDomain d = 0; d < SM_N_DOMAINS; d++)
        experts[d] = sm_model_get_expert (model, d);
      on_gpu = sm_gpu_model_new (gpu, experts, SM_N_DOMAINS, &error);
      g_assert_no_error (error);
      /* Every expert at one batch size, one expert at all of them (the
       * large preset's CPU reference is slow in the generic kernels). */
      for (SmDomain d = 0; d < SM_N_DOMAINS; d++)
        compare_expert (on_gpu, d, experts[d], 3, rand);
      for (guint b = 0; b < G_N_ELEMENTS (batches); b++)
        compare_expert (on_gpu, SM_DOMAIN_CONTEXT, experts[SM_DOMAIN_CONTEXT], batches[b], rand);
    }
}

/* The standard preset's coding and mathematics experts, on @gpu. */
static SmGpuModel *
two_experts_on_gpu (SmGpu     *gpu,
                    SmPool    *pool,
                    SmModel  **model,
                    SmExpert  *experts[2])
{
  g_autoptr(GError) error = NULL;
  SmGpuModel *on_gpu;

  *model = sm_model_new_preset (SM_PRESET_STANDARD, pool, &error);
  g_assert_no_error (error);
  experts[0] = sm_model_get_expert (*model, SM_DOMAIN_CODING);
  experts[1] = sm_model_get_expert (*model, SM_DOMAIN_MATHEMATICS);
  on_gpu = sm_gpu_model_new (gpu, experts, 2, &error);
  g_assert_no_error (error);
  return on_gpu;
}

/* Forwards are recorded once per batch class and resubmitted: batches that
 * share a class (1 and 1, 3 and 4's class, 65 and 128's), with other input
 * and stale rows past the batch, and the buffers growing under what was
 * recorded (64 → 128 → 256 rows), all still answer as the CPU does. */
static void
test_gpu_recorded_forwards (void)
{
  static const guint sequence[] = { 1, 3, 1, 4, 64, 3, 65, 1, 130, 3, 200, 1, 65 };
  g_autoptr(SmGpu) gpu = gpu_or_skip ();
  g_autoptr(GRand) rand = g_rand_new_with_seed (13);
  g_autoptr(SmPool) pool = NULL;
  g_autoptr(SmModel) model = NULL;
  g_autoptr(SmGpuModel) on_gpu = NULL;
  SmExpert *experts[2];

  if (gpu == NULL)
    return;
  pool = sm_pool_new (SM_POOL_DEFAULT_LIMIT, NULL);
  on_gpu = two_experts_on_gpu (gpu, pool, &model, experts);
  for (guint i = 0; i < G_N_ELEMENTS (sequence); i++)
    compare_expert (on_gpu, i % 2, experts[i % 2], sequence[i], rand);
}

/* Batches from several threads at once run in lanes side by side (more
 * threads than lanes: some wait for one), each answering as the CPU does. */
typedef struct
{
  SmGpuModel *model;
  SmExpert  **experts;
  guint       seed;
} ConcurrentWork;

static gpointer
concurrent_forwards (gpointer data)
{
  static const guint sizes[] = { 1, 5, 33, 70 };
  ConcurrentWork *work = data;
  g_autoptr(GRand) rand = g_rand_new_with_seed (work->seed);

  for (guint i = 0; i < 6; i++)
    compare_expert (work->model, i % 2, work->experts[i % 2], sizes[(i + work->seed) % G_N_ELEMENTS (sizes)], rand);
  return NULL;
}

static void
test_gpu_concurrent_lanes (void)
{
  g_autoptr(SmGpu) gpu = gpu_or_skip ();
  g_autoptr(SmPool) pool = NULL;
  g_autoptr(SmModel) model = NULL;
  g_autoptr(SmGpuModel) on_gpu = NULL;
  SmExpert *experts[2];
  ConcurrentWork work[6];
  GThread *threads[G_N_ELEMENTS (work)];

  if (gpu == NULL)
    return;
  pool = sm_pool_new (SM_POOL_DEFAULT_LIMIT, NULL);
  on_gpu = two_experts_on_gpu (gpu, pool, &model, experts);
  for (guint t = 0; t < G_N_ELEMENTS (work); t++)
    {
      work[t] = (ConcurrentWork) { on_gpu, experts, t + 1 };
      threads[t] = g_thread_new ("forwards", concurrent_forwards, &work[t]);
    }
  for (guint t = 0; t < G_N_ELEMENTS (work); t++)
    g_thread_join (threads[t]);
}

/* Tensor cores (VK_KHR_ or VK_NV_cooperative_matrix): a model in reduced precision
 * runs the fp16 GEMM, within the NMSE bound of the FP32 one on the presets'
 * experts; back in f32 it runs the FP32 one; one whose weights fp16 cannot
 * hold is declined and stays right.  Lavapipe has none: skipped,
 * saying what the device lacks. */
static void
test_gpu_matrix_cores (void)
{
  g_autoptr(SmGpu) gpu = gpu_or_skip ();
  g_autoptr(GRand) rand = g_rand_new_with_seed (19);
  g_autoptr(SmPool) pool = NULL;
  g_autoptr(SmModel) model = NULL;
  g_autoptr(SmGpuModel) on_gpu = NULL;
  g_autoptr(SmGpuModel) beyond_fp16 = NULL;
  g_autoptr(SmExpert) large = NULL;
  g_autoptr(GError) error = NULL;
  SmExpert *experts[2];

  if (gpu == NULL)
    return;
  g_assert_nonnull (sm_gpu_get_info (gpu)->matrix_cores_status);
  g_test_message ("tensor cores: %s", sm_gpu_get_info (gpu)->matrix_cores_status);
  if (!sm_gpu_get_info (gpu)->matrix_cores)
    {
      g_test_skip (sm_gpu_get_info (gpu)->matrix_cores_status);
      return;
    }
  pool = sm_pool_new (SM_POOL_DEFAULT_LIMIT, NULL);
  on_gpu = two_experts_on_gpu (gpu, pool, &model, experts);
  g_assert_true (sm_gpu_model_set_reduced_precision (on_gpu, TRUE, &error));
  g_assert_no_error (error);
  for (guint b = 0; b < G_N_ELEMENTS (batches); b++)
    compare_expert_within (on_gpu, b % 2, experts[b % 2], batches[b], rand, FP16_NMSE_LIMIT, FP16_MAX_ABS_LIMIT);
  g_assert_true (sm_gpu_model_set_reduced_precision (on_gpu, FALSE, &error));
  compare_expert (on_gpu, 0, experts[0], 17, rand);

  /* Weights past fp16's range (±65504): declined, the model left in FP32
   * and still right. */
  {
    SmLayerShape shape = { 64, 48, { SM_ACT_IDENTITY, 0 } };
    g_autofree float *weights = g_new (float, 64 * 48);
    float bias[48] = { 0 };
    const float *w = weights, *b = bias;

    fill_random (rand, weights, 64 * 48);
    for (guint i = 0; i < 64 * 48; i++)
      weights[i] *= 1e5f;
    large = sm_expert_new (pool, 1, &shape, &w, &b, &error);
    g_assert_no_error (error);
    beyond_fp16 = sm_gpu_model_new (gpu, &large, 1, &error);
    g_assert_no_error (error);
    g_assert_false (sm_gpu_model_set_reduced_precision (beyond_fp16, TRUE, &error));
    g_assert_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_NOT_SUPPORTED);
    g_test_message ("declined: %s", error->message);
    /* Outputs near 1e6: fp32's rounding, not the bound for unit values. */
    compare_expert_within (beyond_fp16, 0, large, 17, rand, NMSE_LIMIT, 10.0);
  }
}

/* The tile sweep: measured once, the rule follows the measurements (the
 * large tiles from the smallest size from which on they won), is applied,
 * and is remembered for the device in a 0600 key file that keeps other
 * devices' entries; a corrupt or forged file is measured over, and a
 * folder that cannot be written costs the memory, not the rule. */
static void
test_gpu_tile_sweep (void)
{
  g_autoptr(SmGpu) gpu = gpu_or_skip ();
  g_autoptr(SmGpu) again = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) points = g_array_new (FALSE, FALSE, sizeof (SmGpuTilePoint));
  g_autofree char *dir = NULL, *path = NULL, *unwritable = NULL, *contents = NULL;
  const SmGpuInfo *info;
  guint expected = G_MAXUINT, from;
  GStatBuf st;

  if (gpu == NULL)
    return;
  info = sm_gpu_get_info (gpu);
  dir = g_dir_make_tmp ("synmesh-tiles-XXXXXX", &error);
  g_assert_no_error (error);
  path = g_build_filename (dir, SM_GPU_TILES_FILE, NULL);
  g_assert_false (sm_gpu_tiles_load (gpu, path));
  g_assert_nonnull (strstr (info->tiles_status, "not measured"));

  /* Garbage, then a forged value: neither is taken. */
  g_assert_true (g_file_set_contents (path, "\xff[[[ \n=", -1, NULL));
  g_assert_false (sm_gpu_tiles_load (gpu, path));
  g_assert_true (sm_gpu_tiles_measure (gpu, path, points, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (points->len, >=, 1);
  for (guint i = 0; i < points->len; i++)
    {
      SmGpuTilePoint *p = &g_array_index (points, SmGpuTilePoint, i);

      g_test_message ("%u × 256 → %u (%u workgroups): small %.1f µs, large %.1f µs",
                      p->side, p->side, p->groups, p->small_us, p->large_us);
      g_assert_cmpfloat (p->small_us, >, 0);
      g_assert_cmpfloat (p->large_us, >, 0);
      g_assert_true (isfinite (p->small_us) && isfinite (p->large_us));
      g_assert_cmpuint (p->groups, ==, ((p->side + 127) / 128) * ((p->side + 127) / 128));
      if (i > 0)
        g_assert_cmpuint (p->side, ==, 2 * g_array_index (points, SmGpuTilePoint, i - 1).side);
    }
  for (guint i = points->len; i-- > 0 && g_array_index (points, SmGpuTilePoint, i).large_us
                                        < g_array_index (points, SmGpuTilePoint, i).small_us;)
    expected = g_array_index (points, SmGpuTilePoint, i).groups;
  from = info->large_tiles_from;
  g_assert_cmpuint (from, ==, expected);
  g_assert_nonnull (strstr (info->tiles_status, "remembered"));
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  /* The rule is applied: 128 × (128 · k) makes k large workgroups. */
  if (from == G_MAXUINT)
    g_assert_cmpuint (sm_gpu_gemm_tile (gpu, 4096, 4096), ==, 64);
  else
    {
      g_assert_cmpuint (sm_gpu_gemm_tile (gpu, 128, 128 * from), ==, 128);
      if (from > 1)
        g_assert_cmpuint (sm_gpu_gemm_tile (gpu, 128, 128 * (from - 1)), ==, 64);
    }

  /* Remembered: a device opened again takes it without measuring. */
  again = sm_gpu_new (&error);
  g_assert_no_error (error);
  g_assert_true (sm_gpu_tiles_load (again, path));
  g_assert_cmpuint (sm_gpu_get_info (again)->large_tiles_from, ==, from);

  /* Another device's entry survives a new measurement; a forged value
   * for this one is not taken. */
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  {
    g_autofree char *forged = g_strdup_printf ("[other device; driver; gemm 0]\nlarge-tiles-from-workgroups=7\n\n%s",
                                               contents);
    g_autoptr(GRegex) value = g_regex_new ("large-tiles-from-workgroups=.*", 0, 0, NULL);
    g_autofree char *banana = g_regex_replace_literal (value, contents, -1, 0, "large-tiles-from-workgroups=banana",
                                                       0, NULL);

    g_assert_true (g_file_set_contents (path, banana, -1, NULL));
    g_assert_false (sm_gpu_tiles_load (again, path));
    g_assert_true (g_file_set_contents (path, forged, -1, NULL));
    g_assert_true (sm_gpu_tiles_measure (again, path, NULL, &error));
    g_assert_no_error (error);
    g_clear_pointer (&contents, g_free);
    g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
    g_assert_nonnull (strstr (contents, "[other device; driver; gemm 0]\nlarge-tiles-from-workgroups=7"));
  }

  /* Nowhere to write: measured all the same, the failure said. */
  unwritable = g_build_filename (dir, "missing", SM_GPU_TILES_FILE, NULL);
  g_assert_false (sm_gpu_tiles_measure (again, unwritable, NULL, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (sm_gpu_get_info (again)->tiles_status, "not remembered"));
  g_assert_cmpuint (sm_gpu_get_info (again)->large_tiles_from, !=, 0);

  g_assert_cmpint (g_remove (path), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

/* The FP32 ceiling: a finite rate, and the model that lent its buffers
 * still answers as the CPU does. */
static void
test_gpu_peak (void)
{
  g_autoptr(SmGpu) gpu = gpu_or_skip ();
  g_autoptr(GRand) rand = g_rand_new_with_seed (11);
  g_autoptr(SmPool) pool = NULL;
  g_autoptr(SmModel) model = NULL;
  g_autoptr(SmGpuModel) on_gpu = NULL;
  g_autoptr(GError) error = NULL;
  SmExpert *expert;
  double gflops = 0;

  if (gpu == NULL)
    return;
  pool = sm_pool_new (SM_POOL_DEFAULT_LIMIT, NULL);
  model = sm_model_new_preset (SM_PRESET_STANDARD, pool, &error);
  g_assert_no_error (error);
  expert = sm_model_get_expert (model, SM_DOMAIN_CODING);
  on_gpu = sm_gpu_model_new (gpu, &expert, 1, &error);
  g_assert_no_error (error);
  g_assert_true (sm_gpu_model_measure_peak (on_gpu, &gflops, &error));
  g_assert_no_error (error);
  g_test_message ("FP32 ceiling of %s: %.1f GFLOP/s", sm_gpu_get_info (gpu)->device_name, gflops);
  g_assert_true (isfinite (gflops) && gflops > 0);
  compare_expert (on_gpu, 0, expert, 17, rand);

  /* The tensor cores' ceiling where there are some; a clear refusal
   * otherwise. */
  if (sm_gpu_get_info (gpu)->matrix_cores)
    {
      double matrix_gflops = 0;

      g_assert_true (sm_gpu_model_measure_matrix_peak (on_gpu, &matrix_gflops, &error));
      g_assert_no_error (error);
      g_test_message ("tensor-core ceiling: %.1f GFLOP/s", matrix_gflops);
      g_assert_true (isfinite (matrix_gflops) && matrix_gflops > 0);
      compare_expert (on_gpu, 0, expert, 17, rand);
    }
  else
    {
      g_assert_false (sm_gpu_model_measure_matrix_peak (on_gpu, &gflops, &error));
      g_assert_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_NOT_SUPPORTED);
    }
}

/* Widths that are no multiple of the tiles (16, 64), a depth over one K
 * block (256), each activation in turn, softmax at the end. */
static SmExpert *
odd_expert (SmPool       *pool,
            SmActivation  hidden,
            GRand        *rand)
{
  const SmLayerShape shapes[3] = {
    { 37, 300, hidden },
    { 300, 70, hidden },
    { 70, 19, { SM_ACT_SOFTMAX, 0 } },
  };
  float *weights[3], *biases[3];
  g_autoptr(GError) error = NULL;
  SmExpert *expert;

  for (guint l = 0; l < 3; l++)
    {
      weights[l] = g_new (float, (gsize) shapes[l].in * shapes[l].out);
      biases[l] = g_new (float, shapes[l].out);
      fill_random (rand, weights[l], (gsize) shapes[l].in * shapes[l].out);
      fill_random (rand, biases[l], shapes[l].out);
    }
  expert = sm_expert_new (pool, 3, shapes, (const float * const *) weights, (const float * const *) biases, &error);
  g_assert_no_error (error);
  for (guint l = 0; l < 3; l++)
    {
      g_free (weights[l]);
      g_free (biases[l]);
    }
  return expert;
}

static void
check_odd_shapes_and_activations (SmGpu *gpu)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (11);
  g_autoptr(SmPool) pool = sm_pool_new (64 * 1024 * 1024, NULL);
  const SmActivation activations[] = {
    { SM_ACT_IDENTITY, 0 }, { SM_ACT_RELU, 0 }, { SM_ACT_LEAKY_RELU, 0.1f },
    { SM_ACT_SIGMOID, 0 }, { SM_ACT_TANH, 0 }, { SM_ACT_GELU, 0 },
  };
  SmExpert *experts[G_N_ELEMENTS (activations)];
  g_autoptr(SmGpuModel) on_gpu = NULL;
  g_autoptr(GError) error = NULL;

  for (guint a = 0; a < G_N_ELEMENTS (activations); a++)
    experts[a] = odd_expert (pool, activations[a], rand);
  on_gpu = sm_gpu_model_new (gpu, experts, G_N_ELEMENTS (experts), &error);
  g_assert_no_error (error);
  for (guint a = 0; a < G_N_ELEMENTS (activations); a++)
    for (guint b = 0; b < G_N_ELEMENTS (batches); b++)
      compare_expert (on_gpu, a, experts[a], batches[b], rand);

  /* An index without an expert is an error, not a crash. */
  g_assert_false (sm_gpu_model_forward (on_gpu, 99, NULL, 1, NULL, NULL, &error));
  g_assert_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT);
  g_clear_pointer (&on_gpu, sm_gpu_model_free);
  for (guint a = 0; a < G_N_ELEMENTS (activations); a++)
    sm_expert_free (experts[a]);
}

static void
test_gpu_odd_shapes_and_activations (void)
{
  g_autoptr(SmGpu) gpu = gpu_or_skip ();

  if (gpu == NULL)
    return;
  /* Products this small run in the small tiles, large ones in the large
   * (the rule before any sweep). */
  g_assert_cmpuint (sm_gpu_gemm_tile (gpu, 256, 512), ==, 64);
  g_assert_cmpuint (sm_gpu_gemm_tile (gpu, 4096, 4096), ==, 128);
  check_odd_shapes_and_activations (gpu);
}

/* Whether this is the process of its own that the calling test runs in
 * with @variable set to @value (read when the device opens): then it is
 * set.  In the test's own process, runs that one and asserts it passed
 * (where there is a device), and returns FALSE. */
static gboolean
in_subprocess_with (const char *variable,
                    const char *value)
{
  if (g_test_subprocess ())
    {
      g_setenv (variable, value, TRUE);
      return TRUE;
    }
  {
    g_autoptr(SmGpu) gpu = gpu_or_skip ();

    if (gpu == NULL)
      return FALSE;
  }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
  return FALSE;
}

/* The same with the large tiles (128×128, 8×8 per invocation), which
 * otherwise serve only products too large for a test's CPU reference. */
static void
test_gpu_large_tiles (void)
{
  g_autoptr(SmGpu) gpu = NULL;

  if (!in_subprocess_with ("SM_GPU_TILES", "large"))
    return;
  gpu = gpu_or_skip ();
  g_assert_nonnull (gpu);
  if (sm_gpu_gemm_tile (gpu, 1, 1) != 128)
    {
      g_test_skip ("the device's limits leave out the large tiles");
      return;
    }
  check_odd_shapes_and_activations (gpu);
}

/* Batches copied into device memory first (the way of a device without
 * host-mapped device memory; SM_GPU_STAGING=copy makes any device take
 * it), rather than the first layer reading them in place. */
static void
test_gpu_staged_copies (void)
{
  g_autoptr(SmGpu) gpu = NULL;

  if (!in_subprocess_with ("SM_GPU_STAGING", "copy"))
    return;
  gpu = gpu_or_skip ();
  g_assert_nonnull (gpu);
  g_assert_false (sm_gpu_get_info (gpu)->reads_batch_in_place);
  check_odd_shapes_and_activations (gpu);
}

/* With the loader pointed at no driver there is no device: a clear error
 * (the engine then runs on the CPU), no crash. */
static void
test_gpu_no_driver (void)
{
  if (!sm_gpu_is_built ())
    {
      g_test_skip ("GPU support not built");
      return;
    }
  if (g_test_subprocess ())
    {
      g_autoptr(GError) error = NULL;
      SmGpu *gpu;

      g_setenv ("VK_ICD_FILENAMES", "/nonexistent/icd.json", TRUE);
      g_setenv ("VK_DRIVER_FILES", "/nonexistent/icd.json", TRUE);
      gpu = sm_gpu_new (&error);
      g_assert_null (gpu);
      g_assert_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_NOT_SUPPORTED);
      g_printerr ("%s\n", error->message);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("*Vulkan*");
}

/* A submission that does not finish in time, or a device lost, marks the
 * device lost: the call fails at once with the reason, and so does every
 * later one.  The fault is injected (SM_GPU_FAULT), so that the test holds
 * on a GPU fast enough to beat any timeout; the weights' upload is not
 * failed by it. */
static void
test_gpu_fault (gconstpointer data)
{
  const char *fault = data;

  if (!sm_gpu_is_built ())
    {
      g_test_skip ("GPU support not built");
      return;
    }
  if (g_test_subprocess ())
    {
      g_autoptr(SmGpu) gpu = NULL;
      g_autoptr(SmPool) pool = sm_pool_new (SM_POOL_DEFAULT_LIMIT, NULL);
      g_autoptr(SmModel) model = NULL;
      g_autoptr(SmGpuModel) on_gpu = NULL;
      g_autoptr(GError) error = NULL;
      SmExpert *expert;
      g_autofree float *input = NULL, *output = NULL;
      guint batch = 17;

#ifdef __SANITIZE_ADDRESS__
      /* Mesa's lavapipe leaks a little on a submission abandoned this way,
       * from code it has unloaded by exit (so no suppression can name it). */
      __lsan_disable ();
#endif
      g_setenv ("SM_GPU_FAULT", fault, TRUE);
      gpu = sm_gpu_new (&error);
      g_assert_no_error (error);
      model = sm_model_new_preset (SM_PRESET_STANDARD, pool, &error);
      g_assert_no_error (error);
      expert = sm_model_get_expert (model, SM_DOMAIN_CONTEXT);
      on_gpu = sm_gpu_model_new (gpu, &expert, 1, &error);
      g_assert_no_error (error);
      input = g_new0 (float, (gsize) batch * sm_expert_get_input_width (expert));
      output = g_new0 (float, (gsize) batch * sm_expert_get_output_width (expert));
      g_assert_false (sm_gpu_model_forward (on_gpu, 0, input, batch, output, NULL, &error));
      g_assert_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_NOT_SUPPORTED);
      g_printerr ("lost: %s\n", error->message);
      g_clear_error (&error);
      /* Never submitted again: the same reason. */
      g_assert_false (sm_gpu_model_forward (on_gpu, 0, input, 1, output, NULL, &error));
      g_printerr ("then: %s\n", error->message);
      return;
    }
  {
    g_autoptr(SmGpu) probe = gpu_or_skip ();

    if (probe == NULL)
      return;
  }
  g_test_trap_subprocess (NULL, 120 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  if (g_str_equal (fault, "hang"))
    g_test_trap_assert_stderr ("*lost: *did not finish within*injected by SM_GPU_FAULT*"
                               "then: *did not finish within*");
  else
    g_test_trap_assert_stderr ("*lost: *failed: VK_ERROR_DEVICE_LOST*injected by SM_GPU_FAULT*"
                               "then: *VK_ERROR_DEVICE_LOST*");
}

typedef struct
{
  gint answered;
  gint failed;
} Tally;

static void
count_done (SmResult     *result,
            const GError *error,
            gpointer      user_data)
{
  Tally *tally = user_data;

  if (error != NULL)
    g_atomic_int_inc (&tally->failed);
  else
    g_atomic_int_inc (&tally->answered);
  if (result != NULL)
    sm_result_free (result);
}

/* One answer of the pipelined run: where it goes. */
typedef struct
{
  guint    argmax;
  float    confidence;
  gint     done;        /* 1: answered, -1: failed */
} Answer;

static void
keep_answer (SmResult     *result,
             const GError *error,
             gpointer      user_data)
{
  Answer *answer = user_data;

  if (result != NULL)
    {
      answer->argmax = result->argmax;
      answer->confidence = result->confidence;
      sm_result_free (result);
    }
  g_atomic_int_set (&answer->done, error != NULL ? -1 : 1);
}

/* Thousands of queries with the GPU on, each worker preparing its next
 * batch while the GPU runs its last, the precision changed and the GPU
 * switched off and on under them (writers waiting while batches are in
 * flight): every answer arrives once, each the CPU's own. */
static void
test_gpu_engine_pipelined (void)
{
  g_autoptr(SmGpu) probe = gpu_or_skip ();
  g_autoptr(GError) error = NULL;
  g_autoptr(SmEngine) engine = NULL;
  const guint n = 3000;
  g_autofree Answer *cpu = g_new0 (Answer, n);
  g_autofree Answer *gpu = g_new0 (Answer, n);
  g_autofree char **texts = g_new0 (char *, n + 1);
  g_auto(GStrv) owned = NULL;

  if (probe == NULL)
    return;
  for (guint q = 0; q < n; q++)
    texts[q] = g_strdup_printf ("query %u: %s %u", q, q % 3 == 0 ? "integrate a polynomial of degree"
                                                   : q % 3 == 1 ? "sort a list of length" : "translate sentence", q * 13);
  owned = texts;
  texts = NULL;
  engine = sm_engine_new (256 * 1024 * 1024, 2, &error);
  g_assert_no_error (error);
  sm_engine_set_cache_size (engine, 0);

  for (guint q = 0; q < n; q++)
    sm_engine_submit (engine, owned[q], -1, 0, keep_answer, &cpu[q]);
  sm_engine_drain (engine);

  g_assert_true (sm_engine_set_gpu_mode (engine, SM_GPU_ON, &error));
  g_assert_no_error (error);
  for (guint q = 0; q < n; q++)
    {
      sm_engine_submit (engine, owned[q], -1, 0, keep_answer, &gpu[q]);
      if (q == n / 3)
        {
          g_assert_true (sm_engine_set_precision (engine, SM_PRECISION_F32, &error));
          g_assert_no_error (error);
        }
      else if (q == 2 * n / 3)
        {
          g_assert_true (sm_engine_set_gpu_mode (engine, SM_GPU_OFF, &error));
          g_assert_true (sm_engine_set_gpu_mode (engine, SM_GPU_ON, &error));
          g_assert_no_error (error);
        }
    }
  sm_engine_drain (engine);

  for (guint q = 0; q < n; q++)
    {
      g_assert_cmpint (cpu[q].done, ==, 1);
      g_assert_cmpint (gpu[q].done, ==, 1);
      g_assert_cmpuint (gpu[q].argmax, ==, cpu[q].argmax);
      g_assert_cmpfloat_with_epsilon (gpu[q].confidence, cpu[q].confidence, 1e-4);
    }
  {
    SmMonitor *monitor = sm_engine_get_monitor (engine);
    g_autoptr(SmMonitorSnapshot) snapshot = sm_monitor_tick (monitor);

    g_assert_cmpfloat (snapshot->values[sm_monitor_find_metric (monitor, "stage.gpu.count")], >, 0);
  }
  {
    g_autofree char *status = sm_engine_dup_gpu_status (engine);

    g_assert_true (g_str_has_prefix (status, "GPU on: "));
  }
}

/* The engine with the GPU switched on and off while queries run: every
 * query answered, the same answer as the CPU's, the GPU's batches
 * counted. */
static void
test_gpu_engine_live_switch (void)
{
  g_autoptr(SmGpu) probe = gpu_or_skip ();
  g_autoptr(GError) error = NULL;
  g_autoptr(SmEngine) engine = NULL;
  g_autoptr(SmResult) cpu = NULL, gpu = NULL;
  g_autofree char *status = NULL;
  Tally tally = { 0, 0 };
  const guint rounds = 6, per_round = 200;

  if (probe == NULL)
    return;
  engine = sm_engine_new (64 * 1024 * 1024, 2, &error);
  g_assert_no_error (error);
  sm_engine_set_cache_size (engine, 0);
  cpu = sm_engine_infer (engine, "integrate x squared from zero to one", &error);
  g_assert_no_error (error);

  for (guint r = 0; r < rounds; r++)
    {
      for (guint q = 0; q < per_round; q++)
        {
          g_autofree char *text = g_strdup_printf ("query %u of round %u: sort a list of %u numbers", q, r, q * 7);

          sm_engine_submit (engine, text, -1, 0, count_done, &tally);
        }
      /* Switched while those are in the queues. */
      g_assert_true (sm_engine_set_gpu_mode (engine, r % 2 == 0 ? SM_GPU_ON : SM_GPU_OFF, &error));
      g_assert_no_error (error);
    }
  g_assert_true (sm_engine_set_gpu_mode (engine, SM_GPU_ON, &error));
  gpu = sm_engine_infer (engine, "integrate x squared from zero to one", &error);
  g_assert_no_error (error);
  sm_engine_drain (engine);
  g_assert_cmpint (g_atomic_int_get (&tally.answered), ==, rounds * per_round);
  g_assert_cmpint (g_atomic_int_get (&tally.failed), ==, 0);

  g_assert_cmpuint (gpu->argmax, ==, cpu->argmax);
  g_assert_cmpfloat_with_epsilon (gpu->confidence, cpu->confidence, 1e-4);
  status = sm_engine_dup_gpu_status (engine);
  g_assert_true (g_str_has_prefix (status, "GPU on: "));
  {
    SmMonitor *monitor = sm_engine_get_monitor (engine);
    g_autoptr(SmMonitorSnapshot) snapshot = sm_monitor_tick (monitor);

    g_assert_cmpfloat (snapshot->values[sm_monitor_find_metric (monitor, "stage.gpu.count")], >, 0);
  }

  /* Auto: calibrated against the CPU kernels, a crossover (or none). */
  g_assert_true (sm_engine_set_gpu_mode (engine, SM_GPU_AUTO, &error));
  g_assert_no_error (error);
  g_clear_pointer (&status, g_free);
  status = sm_engine_dup_gpu_status (engine);
  g_test_message ("%s (crossover %u)", status, sm_engine_get_gpu_crossover (engine));
  g_assert_true (g_str_has_prefix (status, "GPU auto: "));
  g_assert_true (sm_engine_set_gpu_mode (engine, SM_GPU_OFF, &error));
}

/* A GPU that stops answering mid-run: the batch it held is rerun on the
 * CPU, every query is answered, the GPU is off with the reason. */
static void
test_gpu_engine_hang (void)
{
  {
    g_autoptr(SmGpu) probe = gpu_or_skip ();

    if (probe == NULL)
      return;
  }
  if (g_test_subprocess ())
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(SmEngine) engine = NULL;
      g_autofree char *status = NULL;
      Tally tally = { 0, 0 };

#ifdef __SANITIZE_ADDRESS__
      __lsan_disable ();
#endif
      /* The weights upload, then every forward pass hangs (injected, so
       * that a GPU fast enough to beat any timeout hangs too). */
      g_setenv ("SM_GPU_FAULT", "hang", TRUE);
      engine = sm_engine_new (SM_POOL_DEFAULT_LIMIT, 2, &error);
      g_assert_true (sm_engine_set_gpu_mode (engine, SM_GPU_ON, &error));
      g_assert_no_error (error);
      for (guint q = 0; q < 64; q++)
        {
          g_autofree char *text = g_strdup_printf ("query %u: prove that the square root of two is irrational", q);

          sm_engine_submit (engine, text, -1, 0, count_done, &tally);
        }
      sm_engine_drain (engine);
      g_assert_cmpint (g_atomic_int_get (&tally.answered), ==, 64);
      g_assert_cmpint (g_atomic_int_get (&tally.failed), ==, 0);
      g_assert_cmpint (sm_engine_get_gpu_mode (engine), ==, SM_GPU_OFF);
      status = sm_engine_dup_gpu_status (engine);
      g_printerr ("%s\n", status);
      return;
    }
  g_test_trap_subprocess (NULL, 120 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("*GPU off:*did not finish*injected by SM_GPU_FAULT*");
}

/* The advisor against the measured crossover: with the GPU on for batches
 * below it, it recommends auto (or off, where the GPU never won), and the
 * recommendation applied changes the mode. */
static void
test_gpu_advisor_overhead (void)
{
  g_autoptr(SmGpu) probe = gpu_or_skip ();
  g_autoptr(GError) error = NULL;
  g_autoptr(SmEngine) engine = NULL;
  g_autoptr(SmAdvisor) advisor = NULL;
  g_autoptr(GPtrArray) list = NULL;
  SmMonitor *monitor;
  SmMonitorSnapshot snapshot = { 1, 0, 0, NULL, -1, NAN };
  SmRecommendation *rec = NULL;
  guint crossover;

  if (probe == NULL)
    return;
  engine = sm_engine_new (64 * 1024 * 1024, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sm_engine_get_gpu_crossover (engine), ==, 0);
  g_assert_true (sm_engine_set_gpu_mode (engine, SM_GPU_AUTO, &error));
  g_assert_no_error (error);
  crossover = sm_engine_get_gpu_crossover (engine);
  g_assert_cmpuint (crossover, >, 0);
  g_assert_true (sm_engine_set_gpu_mode (engine, SM_GPU_ON, &error));
  /* Measured once per model: on again, the same crossover. */
  g_assert_cmpuint (sm_engine_get_gpu_crossover (engine), ==, crossover);

  monitor = sm_engine_get_monitor (engine);
  advisor = sm_advisor_new (engine);
  sm_advisor_set_window (advisor, 3);
  snapshot.n_values = sm_monitor_get_n_metrics (monitor);
  snapshot.values = g_new (double, snapshot.n_values);
  for (guint i = 0; i < snapshot.n_values; i++)
    snapshot.values[i] = NAN;
  snapshot.values[sm_monitor_find_metric (monitor, "engine.mean_batch")] = 1;
  for (guint t = 0; t < 6; t++)
    {
      snapshot.t_ms += 250;
      sm_advisor_evaluate (advisor, &snapshot);
    }
  list = sm_advisor_list (advisor);
  for (guint i = 0; i < list->len; i++)
    if (g_str_equal (((SmRecommendation *) g_ptr_array_index (list, i))->rule, "gpu-overhead"))
      rec = g_ptr_array_index (list, i);
  g_assert_nonnull (rec);
  g_test_message ("%s: %s", rec->evidence, rec->action);
  g_assert_true (sm_advisor_apply (advisor, rec->id, &error));
  g_assert_no_error (error);
  g_assert_cmpint (sm_engine_get_gpu_mode (engine), ==, crossover == G_MAXUINT ? SM_GPU_OFF : SM_GPU_AUTO);
  g_free (snapshot.values);
}

/* No driver: turning the GPU on fails with the reason, it stays off, and
 * queries are answered on the CPU as before. */
static void
test_gpu_engine_fallback (void)
{
  if (!sm_gpu_is_built ())
    {
      g_test_skip ("GPU support not built");
      return;
    }
  if (g_test_subprocess ())
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(SmEngine) engine = NULL;
      g_autoptr(SmResult) result = NULL;
      g_autofree char *status = NULL;

      g_setenv ("VK_ICD_FILENAMES", "/nonexistent/icd.json", TRUE);
      g_setenv ("VK_DRIVER_FILES", "/nonexistent/icd.json", TRUE);
      engine = sm_engine_new (64 * 1024 * 1024, 1, &error);
      g_assert_false (sm_engine_set_gpu_mode (engine, SM_GPU_ON, &error));
      g_assert_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_NOT_SUPPORTED);
      g_clear_error (&error);
      g_assert_cmpint (sm_engine_get_gpu_mode (engine), ==, SM_GPU_OFF);
      status = sm_engine_dup_gpu_status (engine);
      g_assert_true (g_str_has_prefix (status, "GPU off: "));
      result = sm_engine_infer (engine, "what is the capital of france", &error);
      g_assert_no_error (error);
      g_assert_nonnull (result);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

int
main (int   argc,
      char *argv[])
{
#ifdef __SANITIZE_ADDRESS__
  /* Mesa's lavapipe leaks a few bytes per device; the loader unloads it
   * with the instance, and LeakSanitizer cannot name (or be told to ignore)
   * code that is gone.  Kept loaded, build-aux/lsan.supp names it. */
  (void) dlopen ("libvulkan_lvp.so", RTLD_LAZY | RTLD_NODELETE);
#endif
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/engine/gpu/presets", test_gpu_presets);
  g_test_add_func ("/engine/gpu/odd-shapes-and-activations", test_gpu_odd_shapes_and_activations);
  g_test_add_func ("/engine/gpu/large-tiles", test_gpu_large_tiles);
  g_test_add_func ("/engine/gpu/staged-copies", test_gpu_staged_copies);
  g_test_add_func ("/engine/gpu/recorded-forwards", test_gpu_recorded_forwards);
  g_test_add_func ("/engine/gpu/concurrent-lanes", test_gpu_concurrent_lanes);
  g_test_add_func ("/engine/gpu/matrix-cores", test_gpu_matrix_cores);
  g_test_add_func ("/engine/gpu/no-driver", test_gpu_no_driver);
  g_test_add_func ("/engine/gpu/peak", test_gpu_peak);
  g_test_add_func ("/engine/gpu/tile-sweep", test_gpu_tile_sweep);
  g_test_add_data_func ("/engine/gpu/fault/hang", "hang", test_gpu_fault);
  g_test_add_data_func ("/engine/gpu/fault/lost", "lost", test_gpu_fault);
  g_test_add_func ("/engine/gpu/engine-live-switch", test_gpu_engine_live_switch);
  g_test_add_func ("/engine/gpu/engine-pipelined", test_gpu_engine_pipelined);
  g_test_add_func ("/engine/gpu/engine-fallback", test_gpu_engine_fallback);
  g_test_add_func ("/engine/gpu/advisor-overhead", test_gpu_advisor_overhead);
  g_test_add_func ("/engine/gpu/engine-hang", test_gpu_engine_hang);

  return g_test_run ();
}
