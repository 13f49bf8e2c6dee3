/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

/* What is the same for every kernel set: the packed weight layout, FLOP
 * counting and dispatch.  The kernels themselves: test-simd-kernels.c. */

#include "sm-cpu.h"
#include "sm-simd.h"

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

  g_test_add_func ("/engine/simd/gemm/pack-layout", test_pack_layout);
  g_test_add_func ("/engine/simd/gemm/pack-blocks", test_pack_blocks);
  g_test_add_func ("/engine/simd/flop-counters", test_flop_counters);
  g_test_add_func ("/engine/simd/dispatch/best", test_dispatch_best);
  g_test_add_func ("/engine/simd/dispatch/disable", test_dispatch_disable);
  g_test_add_func ("/engine/simd/dispatch/lookup", test_dispatch_lookup);

  return g_test_run ();
}
