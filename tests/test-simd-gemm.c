/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include "sm-cpu.h"
#include "sm-error.h"
#include "sm-simd.h"
#include "simd-test-util.h"

/* Sentinel for memory a kernel must not write. */
#define GUARD 12345.0f

typedef struct
{
  gsize         m, n, k;
  gsize         lda_pad, ldc_pad;   /* extra columns: leading dimension > width */
  gboolean      unaligned;          /* A and C start one float off alignment */
  gboolean      with_bias;
  SmActivation  act;
} Shape;

static double
act_double (SmActivation act,
            double       x)
{
  switch (act.kind)
    {
    case SM_ACT_RELU:
      return x > 0 ? x : 0;
    case SM_ACT_LEAKY_RELU:
      return x < 0 ? act.alpha * x : x;
    case SM_ACT_SIGMOID:
      return 1.0 / (1.0 + exp (-x));
    case SM_ACT_TANH:
      return tanh (x);
    case SM_ACT_GELU:
      return 0.5 * x * (1.0 + tanh (sqrt (2.0 / G_PI) * (x + 0.044715 * x * x * x)));
    case SM_ACT_IDENTITY:
    case SM_ACT_SOFTMAX:
    case SM_ACT_N_KINDS:
    default:
      return x;
    }
}

/* Runs one shape through @kernels and checks every element against a
 * double-precision reference, with a bound that scales with the sum of the
 * magnitudes it accumulated (normalised error), and checks that nothing
 * outside C's m×n window was written. */
static void
check_shape (const SmKernels *kernels,
             const Shape     *s)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (s->m * 7919 + s->n * 104729 + s->k);
  gsize lda = s->k + s->lda_pad, ldc = s->n + s->ldc_pad;
  gsize off = s->unaligned ? 1 : 0;
  g_autofree float *a_buf = g_new (float, s->m * lda + off);
  g_autofree float *w = g_new (float, s->k * s->n + 1);
  g_autofree float *bias = g_new (float, s->n + 1);
  g_autofree float *c_buf = g_new (float, (s->m + 1) * ldc + off);
  float *packed = g_aligned_alloc0 (sm_f32_packed_weights_size (s->k, s->n) + 1, sizeof (float), 64);
  float *a = a_buf + off, *c = c_buf + off;
  SmGemmArgs args;
  double worst = 0;

  simd_fill_random (rand, a_buf, s->m * lda + off, -1, 1);
  simd_fill_random (rand, w, s->k * s->n, -1, 1);
  simd_fill_random (rand, bias, s->n, -1, 1);
  for (gsize i = 0; i < (s->m + 1) * ldc + off; i++)
    c_buf[i] = GUARD;

  sm_f32_pack_weights (w, s->n, s->k, s->n, packed);

  args = (SmGemmArgs) {
    .m = s->m, .n = s->n, .k = s->k,
    .a = a, .lda = lda,
    .w = packed,
    .bias = s->with_bias ? bias : NULL,
    .c = c, .ldc = ldc,
    .act = s->act,
  };
  sm_simd_gemm (kernels, &args, 0, s->m, 0, sm_f32_packed_n_panels (s->n));

  for (gsize i = 0; i < s->m; i++)
    for (gsize j = 0; j < ldc; j++)
      {
        double sum = s->with_bias ? bias[j % s->n] : 0, magnitude = fabs (sum);
        double ref, err, bound;

        if (j >= s->n)
          {
            g_assert_cmpfloat (c[i * ldc + j], ==, GUARD);
            continue;
          }

        for (gsize kk = 0; kk < s->k; kk++)
          {
            double p = (double) a[i * lda + kk] * w[kk * s->n + j];

            sum += p;
            magnitude += fabs (p);
          }
        ref = act_double (s->act, sum);
        err = fabs (c[i * ldc + j] - ref);
        /* Float accumulation error grows with k and the magnitudes summed;
         * the activations add at most 1e-6 or a few ulp. */
        bound = 1e-6 * magnitude + 2e-6 + 4 * FLT_EPSILON * fabs (ref);
        worst = MAX (worst, err / bound);
        if (err > bound)
          g_error ("%s: C[%zu,%zu] = %.9g, reference %.9g (error %.3g > %.3g), m=%zu n=%zu k=%zu",
                   kernels->name, i, j, c[i * ldc + j], ref, err, bound, s->m, s->n, s->k);
      }

  /* The row after the last must be untouched. */
  for (gsize j = 0; j < ldc; j++)
    g_assert_cmpfloat (c[s->m * ldc + j], ==, GUARD);
  if (off)
    g_assert_cmpfloat (c_buf[0], ==, GUARD);

  g_test_message ("%s m=%zu n=%zu k=%zu: worst error %.3f of the bound",
                  kernels->name, s->m, s->n, s->k, worst);
  g_aligned_free (packed);
}

static void
test_tail_m (const SmKernels *kernels,
             const SimdCase  *c)
{
  /* Below, at and above every tile height in use (4, 6, 12). */
  for (gsize m = 1; m <= 26; m++)
    check_shape (kernels, &(Shape) { m, 33, 17, 0, 0, FALSE, TRUE, { SM_ACT_IDENTITY, 0 } });
  check_shape (kernels, &(Shape) { 33, 33, 17, 0, 0, FALSE, TRUE, { SM_ACT_IDENTITY, 0 } });
  check_shape (kernels, &(Shape) { 127, 20, 9, 0, 0, FALSE, TRUE, { SM_ACT_IDENTITY, 0 } });
}

static void
test_tail_n (const SmKernels *kernels,
             const SimdCase  *c)
{
  const gsize ns[] = { 1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 48, 49, 63, 64, 65, 127, 257 };

  for (guint i = 0; i < G_N_ELEMENTS (ns); i++)
    {
      check_shape (kernels, &(Shape) { 7, ns[i], 33, 0, 0, FALSE, TRUE, { SM_ACT_IDENTITY, 0 } });
      check_shape (kernels, &(Shape) { 1, ns[i], 33, 0, 0, FALSE, TRUE, { SM_ACT_IDENTITY, 0 } });
    }
}

static void
test_tail_k (const SmKernels *kernels,
             const SimdCase  *c)
{
  /* Across the K block (256) as well as the odd sizes. */
  const gsize ks[] = { 1, 3, 7, 17, 33, 127, 255, 256, 257, 511, 513, 1023 };

  for (guint i = 0; i < G_N_ELEMENTS (ks); i++)
    {
      check_shape (kernels, &(Shape) { 13, 40, ks[i], 0, 0, FALSE, TRUE, { SM_ACT_IDENTITY, 0 } });
      check_shape (kernels, &(Shape) { 1, 70, ks[i], 0, 0, FALSE, TRUE, { SM_ACT_IDENTITY, 0 } });
    }
}

static void
test_strides (const SmKernels *kernels,
              const SimdCase  *c)
{
  check_shape (kernels, &(Shape) { 17, 33, 19, 5, 3, TRUE, TRUE, { SM_ACT_IDENTITY, 0 } });
  check_shape (kernels, &(Shape) { 1, 33, 19, 5, 3, TRUE, TRUE, { SM_ACT_IDENTITY, 0 } });
  check_shape (kernels, &(Shape) { 80, 100, 300, 1, 7, TRUE, FALSE, { SM_ACT_RELU, 0 } });
}

static void
test_activations (const SmKernels *kernels,
                  const SimdCase  *c)
{
  for (SmActKind kind = 0; kind < SM_ACT_N_KINDS; kind++)
    {
      SmActivation act = { kind, 0.1f };

      if (kind == SM_ACT_SOFTMAX)
        continue;
      check_shape (kernels, &(Shape) { 13, 37, 45, 0, 0, TRUE, TRUE, act });
      check_shape (kernels, &(Shape) { 1, 37, 45, 0, 0, TRUE, TRUE, act });
      /* Large sums drive every activation into saturation. */
      check_shape (kernels, &(Shape) { 7, 19, 1023, 0, 0, FALSE, TRUE, act });
    }
}

static void
test_large (const SmKernels *kernels,
            const SimdCase  *c)
{
  check_shape (kernels, &(Shape) { 130, 300, 600, 0, 0, FALSE, TRUE, { SM_ACT_GELU, 0 } });
}

/* Splitting the work into disjoint tile ranges, as the worker threads do,
 * must give exactly the same bits as one call over everything. */
static void
test_tile_ranges (const SmKernels *kernels,
                  const SimdCase  *c)
{
  const gsize m = 29, n = 83, k = 300;
  const gsize panels = sm_f32_packed_n_panels (n);
  g_autoptr(GRand) rand = g_rand_new_with_seed (42);
  g_autofree float *a = g_new (float, m * k);
  g_autofree float *w = g_new (float, k * n);
  g_autofree float *bias = g_new (float, n);
  g_autofree float *whole = g_new0 (float, m * n);
  g_autofree float *split = g_new0 (float, m * n);
  float *packed = g_aligned_alloc (sm_f32_packed_weights_size (k, n), sizeof (float), 64);
  SmGemmArgs args = {
    .m = m, .n = n, .k = k, .a = a, .lda = k, .w = packed, .bias = bias,
    .c = whole, .ldc = n, .act = { SM_ACT_TANH, 0 },
  };

  simd_fill_random (rand, a, m * k, -1, 1);
  simd_fill_random (rand, w, k * n, -1, 1);
  simd_fill_random (rand, bias, n, -1, 1);
  sm_f32_pack_weights (w, n, k, n, packed);

  sm_simd_gemm (kernels, &args, 0, m, 0, panels);

  args.c = split;
  sm_simd_gemm (kernels, &args, 0, 11, 0, 2);
  sm_simd_gemm (kernels, &args, 11, m, 0, 2);
  sm_simd_gemm (kernels, &args, 0, 5, 2, panels);
  sm_simd_gemm (kernels, &args, 5, m, 2, panels);

  g_assert_cmpmem (whole, m * n * sizeof (float), split, m * n * sizeof (float));
  g_aligned_free (packed);
}

static void
test_pack_layout (void)
{
  const gsize k = 3, n = 20;
  float w[3 * 20];
  float *packed = g_aligned_alloc (sm_f32_packed_weights_size (k, n), sizeof (float), 64);

  g_assert_cmpuint (sm_f32_packed_weights_size (k, n), ==, 2 * 16 * 3);
  for (gsize i = 0; i < k * n; i++)
    w[i] = (float) i;
  sm_f32_pack_weights (w, n, k, n, packed);

  /* Panel 0, row 1, column 5 = w[1][5]; panel 1 holds columns 16..19, then zeros. */
  g_assert_cmpfloat (packed[1 * 16 + 5], ==, w[1 * n + 5]);
  g_assert_cmpfloat (packed[3 * 16 + 2 * 16 + 3], ==, w[2 * n + 19]);
  g_assert_cmpfloat (packed[3 * 16 + 2 * 16 + 4], ==, 0.0f);
  g_aligned_free (packed);
}

/* Every element lands where sm_f32_packed_block() says, across K blocks
 * and a partial last panel; padding is zero. */
static void
test_pack_blocks (void)
{
  const gsize k = 2 * SM_GEMM_KC + 3, n = 37;
  g_autofree float *w = g_new (float, k * n);
  float *packed = g_aligned_alloc (sm_f32_packed_weights_size (k, n), sizeof (float), 64);

  for (gsize i = 0; i < k * n; i++)
    w[i] = (float) i + 1;
  sm_f32_pack_weights (w, n, k, n, packed);

  for (gsize kk = 0; kk < k; kk++)
    for (gsize j = 0; j < sm_f32_packed_n_panels (n) * SM_GEMM_NR; j++)
      {
        gsize k0 = kk - kk % SM_GEMM_KC, p = j / SM_GEMM_NR;
        const float *row = sm_f32_packed_block (packed, k, n, k0, p) + (kk - k0) * SM_GEMM_NR;

        g_assert_cmpfloat (row[j % SM_GEMM_NR], ==, j < n ? w[kk * n + j] : 0.0f);
      }
  g_aligned_free (packed);
}

static void
test_flop_counters (void)
{
  const SmKernels *kernels = sm_simd_get_kernels ();
  const gsize m = 4, n = 40, k = 10;
  float a[4 * 10] = { 0 }, c[4 * 40];
  float *packed = g_aligned_alloc0 (sm_f32_packed_weights_size (k, n), sizeof (float), 64);
  SmGemmArgs args = { .m = m, .n = n, .k = k, .a = a, .lda = k, .w = packed, .c = c, .ldc = n };
  guint64 vector_before, scalar_before, vector_after, scalar_after;

  sm_simd_get_flop_counts (&vector_before, &scalar_before);
  sm_simd_gemm (kernels, &args, 0, m, 0, sm_f32_packed_n_panels (n));
  sm_simd_gemm (&sm_kernels_generic, &args, 1, 3, 1, 3);
  sm_simd_get_flop_counts (&vector_after, &scalar_after);

  /* Padding columns of the last panel are not useful work: 40, not 48. */
  if (kernels->is_vector)
    {
      g_assert_cmpuint (vector_after - vector_before, ==, 2 * m * n * k);
      g_assert_cmpuint (scalar_after - scalar_before, ==, 2 * 2 * (40 - 16) * k);
    }
  else
    g_assert_cmpuint (scalar_after - scalar_before, ==, 2 * m * n * k + 2 * 2 * (40 - 16) * k);
  g_aligned_free (packed);
}

static void
test_dispatch_best (void)
{
  const SmCpuInfo *cpu = sm_cpu_info_get ();
  SmSimdLevel best = sm_simd_get_best_level ();

  g_assert_nonnull (sm_simd_get_kernels_for (SM_SIMD_GENERIC, NULL));
  g_assert_nonnull (sm_simd_get_kernels_for (best, NULL));
  if (SM_HAVE_X86_KERNELS && (cpu->usable & SM_CPU_FEATURE_AVX2) && (cpu->usable & SM_CPU_FEATURE_FMA))
    g_assert_cmpint (best, >=, SM_SIMD_AVX2);
  if (SM_HAVE_AVX512_KERNELS && (cpu->usable & SM_CPU_FEATURE_AVX512BW) &&
      (cpu->usable & SM_CPU_FEATURE_AVX512VL) && (cpu->usable & SM_CPU_FEATURE_AVX512DQ))
    g_assert_cmpint (best, ==, SM_SIMD_AVX512);
}

static void
test_dispatch_disable (void)
{
  if (g_test_subprocess ())
    {
      const char *reason = NULL;

      /* Read once, at the first use of the kernels, in this fresh process. */
      g_setenv (SM_SIMD_DISABLE_ENV, "avx512,avx2,neon", TRUE);
      g_assert_cmpint (sm_simd_get_best_level (), ==, SM_SIMD_GENERIC);
      g_assert_true (sm_simd_get_kernels () == &sm_kernels_generic);
      if (SM_HAVE_X86_KERNELS && (sm_cpu_info_get ()->usable & SM_CPU_FEATURE_AVX2))
        {
          g_assert_null (sm_simd_get_kernels_for (SM_SIMD_AVX2, &reason));
          g_assert_cmpstr (reason, ==, "disabled by " SM_SIMD_DISABLE_ENV);
        }
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr_unmatched ("*ERROR*");
}

/* A set this machine lacks is refused with the reason; the best one is
 * what sm_simd_get_kernels() gives (engines choose theirs by their own
 * backend knob, tested in test-engine). */
static void
test_dispatch_lookup (void)
{
  SmSimdLevel missing = SM_ARCH_AARCH64 ? SM_SIMD_AVX2 : SM_SIMD_NEON;
  const char *reason = NULL;

  g_assert_true (sm_simd_get_kernels_for (SM_SIMD_GENERIC, NULL) == &sm_kernels_generic);
  g_assert_null (sm_simd_get_kernels_for (missing, &reason));
  g_assert_nonnull (reason);
  g_assert_true (sm_simd_get_kernels () == sm_simd_get_kernels_for (sm_simd_get_best_level (), NULL));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  simd_add_case ("gemm", "tail-m", test_tail_m);
  simd_add_case ("gemm", "tail-n", test_tail_n);
  simd_add_case ("gemm", "tail-k", test_tail_k);
  simd_add_case ("gemm", "strides-unaligned", test_strides);
  simd_add_case ("gemm", "activations", test_activations);
  simd_add_case ("gemm", "large", test_large);
  simd_add_case ("gemm", "tile-ranges", test_tile_ranges);
  g_test_add_func ("/engine/simd/gemm/pack-layout", test_pack_layout);
  g_test_add_func ("/engine/simd/gemm/pack-blocks", test_pack_blocks);
  g_test_add_func ("/engine/simd/flop-counters", test_flop_counters);
  g_test_add_func ("/engine/simd/dispatch/best", test_dispatch_best);
  g_test_add_func ("/engine/simd/dispatch/disable", test_dispatch_disable);
  g_test_add_func ("/engine/simd/dispatch/lookup", test_dispatch_lookup);

  return g_test_run ();
}
