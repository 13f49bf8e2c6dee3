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

#include "fuzz-standalone.h"
