/* SPDX-License-Identifier: GPL-3.0-or-later */

/* libFuzzer target for the .npy reader (synmesh infer --input): any bytes
 * give an array or a GError, never a crash or a read outside the input.
 * Without -Dfuzzing the suite runs it over tests/data/npy/ (see
 * fuzz-safetensors.c for how to fuzz). */

#include "config.h"

#include <stdint.h>

#include "sm-npy.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GError) error = NULL;
  SmNpyArray array;

  if (sm_npy_parse (data, size, &array, &error))
    {
      g_assert (error == NULL && (array.data != NULL));
      sm_npy_array_clear (&array);
    }
  else
    g_assert (error != NULL && array.data == NULL);

  return 0;
}

#ifndef SM_LIBFUZZER
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
