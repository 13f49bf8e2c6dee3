/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

/* Every check of kernel-checks.c on every kernel set, as
 * /engine/simd/<area>/<set>/<check>; a set this machine or build lacks is
 * skipped, not passed. */

#include "kernel-checks.h"
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

  return g_test_run ();
}
