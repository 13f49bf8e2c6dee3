/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

/* Every check of kernel-checks.c on every kernel set, as
 * /engine/simd/<area>/<set>/<check>; a set this machine or build lacks is
 * skipped, not passed. */

#include "kernel-checks.h"
#include "sm-cpu.h"
#include "sm-simd.h"

typedef struct
{
  SmSimdLevel            level;
  const KernelCheckCase *check;
} Case;

static void
say_line (void       *data,
          const char *line)
{
  g_test_message ("%s", line);
}

#if SM_HAVE_AVX512_KERNELS
/* The AVX-512 set comes in two variants, with and without AVX512-VNNI for
 * the int8 GEMV, and dispatch takes only one: the reduced-precision checks
 * run on each by name, so that a VNNI machine tests both. */
typedef struct
{
  const char            *name;
  const SmKernels       *kernels;
  SmCpuFeatures          needs;
  const KernelCheckCase *check;
} VariantCase;

static void
run_variant_case (gconstpointer data)
{
  const VariantCase *c = data;
  const char *reason = NULL;
  unsigned failures;

  if (sm_simd_get_kernels_for (SM_SIMD_AVX512, &reason) == NULL)
    {
      g_autofree char *message = g_strdup_printf ("avx512 kernels unavailable: %s", reason);

      g_test_skip (message);
      return;
    }
  if ((sm_cpu_info_get ()->usable & c->needs) != c->needs)
    {
      g_test_skip ("the CPU has no AVX512-VNNI");
      return;
    }
  failures = kernel_check_run (c->check, c->kernels, say_line, NULL);
  if (failures > 0)
    g_test_fail_printf ("%u expectations failed (see the messages above)", failures);
}
#endif


static void
run_case (gconstpointer data)
{
  const Case *c = data;
  const char *reason = NULL;
  const SmKernels *kernels = sm_simd_get_kernels_for (c->level, &reason);
  unsigned failures;

  if (kernels == NULL)
    {
      g_autofree char *message = g_strdup_printf ("%s kernels unavailable: %s",
                                                  sm_simd_level_get_name (c->level), reason);
      g_test_skip (message);
      return;
    }

  failures = kernel_check_run (c->check, kernels, say_line, NULL);
  if (failures > 0)
    g_test_fail_printf ("%u expectations failed (see the messages above)", failures);
}

int
main (int   argc,
      char *argv[])
{
  /* Static: a test subprocess runs one case, and heap data of the others
   * would never be freed (LeakSanitizer would say so). */
  static Case cases[64 * SM_SIMD_N_LEVELS];
  guint n_cases = 0;

  g_test_init (&argc, &argv, NULL);

  g_assert_cmpuint (kernel_check_n_cases * SM_SIMD_N_LEVELS, <=, G_N_ELEMENTS (cases));
  for (gsize i = 0; i < kernel_check_n_cases; i++)
    for (SmSimdLevel level = 0; level < SM_SIMD_N_LEVELS; level++)
      {
        const KernelCheckCase *check = &kernel_check_cases[i];
        g_autofree char *path = g_strdup_printf ("/engine/simd/%s/%s/%s", check->area,
                                                 sm_simd_level_get_name (level), check->name);
        Case *c = &cases[n_cases++];

        c->level = level;
        c->check = check;
        g_test_add_data_func (path, c, run_case);
      }

#if SM_HAVE_AVX512_KERNELS
  {
    static VariantCase variants[2 * 8];
    guint n_variants = 0;

    for (gsize i = 0; i < kernel_check_n_cases; i++)
      if (g_str_equal (kernel_check_cases[i].area, "gemv-reduced"))
        for (guint v = 0; v < 2; v++)
          {
            VariantCase *c = &variants[n_variants++];
            g_autofree char *path = NULL;

            g_assert_cmpuint (n_variants, <=, G_N_ELEMENTS (variants));
            c->name = v == 0 ? "avx512-bw" : "avx512-vnni";
            c->kernels = v == 0 ? &sm_kernels_avx512 : &sm_kernels_avx512_vnni;
            c->needs = v == 0 ? 0 : SM_CPU_FEATURE_AVX512VNNI;
            c->check = &kernel_check_cases[i];
            path = g_strdup_printf ("/engine/simd/%s/%s/%s", c->check->area, c->name, c->check->name);
            g_test_add_data_func (path, c, run_variant_case);
          }
  }
#endif

  return g_test_run ();
}
