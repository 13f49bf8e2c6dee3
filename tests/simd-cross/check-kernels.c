/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The kernel checks (../kernel-checks.c) as a TAP program without GLib, so
 * that they can be cross-built for AArch64 and run under qemu-user
 * (build-aux/test-cross-neon.sh): the generic kernels, and NEON there. */

#include <stdio.h>

#include "../kernel-checks.h"
#include "sm-simd-private.h"

static void
say_line (void       *data,
          const char *line)
{
  (void) data;
  printf ("# %s\n", line);
}

int
main (void)
{
  const SmKernels *sets[] = {
    &sm_kernels_generic,
#if defined(__aarch64__)
    &sm_kernels_neon,
#endif
  };
  const size_t n_sets = sizeof sets / sizeof sets[0];
  int number = 0, failed = 0;

  printf ("1..%zu\n", n_sets * kernel_check_n_cases);
  for (size_t s = 0; s < n_sets; s++)
    for (size_t i = 0; i < kernel_check_n_cases; i++)
      {
        const KernelCheckCase *check = &kernel_check_cases[i];
        unsigned failures = kernel_check_run (check, sets[s], say_line, NULL);

        printf ("%s %d /engine/simd/cross/%s/%s/%s\n", failures ? "not ok" : "ok", ++number,
                check->area, sets[s]->name, check->name);
        failed |= failures > 0;
      }

  return failed;
}
