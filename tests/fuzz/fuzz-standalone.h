/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Without libFuzzer (-Dfuzzing=false), a fuzz target gets this main(): it
 * runs LLVMFuzzerTestOneInput() once per file named on the command line,
 * which is how the test suite runs each target over its seed corpus. */

#ifndef SM_LIBFUZZER
#include <glib.h>
#include <stdint.h>

int
main (int    argc,
      char **argv)
{
  for (int i = 1; i < argc; i++)
    {
      g_autofree char *contents = NULL;
      gsize length;

      if (!g_file_get_contents (argv[i], &contents, &length, NULL))
        return 1;
      LLVMFuzzerTestOneInput ((const uint8_t *) contents, length);
    }
  g_print ("%d inputs, no crash\n", argc - 1);

  return 0;
}
#endif
