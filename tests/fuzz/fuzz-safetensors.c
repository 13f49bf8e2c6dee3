/* SPDX-License-Identifier: GPL-3.0-or-later */

/* libFuzzer target for the safetensors loader: any bytes must give a model
 * or a GError, never a crash, a leak or a read outside the input.
 *
 *   CC=clang meson setup _build-fuzz -Dfuzzing=true -Db_sanitize=address,undefined
 *   _build-fuzz/tests/fuzz/fuzz-safetensors CORPUS
 *
 * with CORPUS a copy of the seeds in tests/data/safetensors: libFuzzer adds
 * what it finds to that directory.
 *
 * Built without -Dfuzzing, the same file gets a main() that runs the
 * target once per file named on the command line: the test suite runs it
 * over the corpus, so the target itself cannot rot. */

#include "config.h"

#include <stdint.h>

#include "sm-safetensors.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  static SmPool *pool;
  g_autoptr(GBytes) bytes = g_bytes_new_static (data, size);

  if (pool == NULL)
    pool = sm_pool_new (SM_POOL_DEFAULT_LIMIT, NULL);

  /* Loaded for f32, and for bf16, where BF16 weights stay as they are. */
  for (SmPrecision precision = SM_PRECISION_F32; precision <= SM_PRECISION_BF16; precision++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(SmModel) model = sm_safetensors_load_bytes (bytes, pool, precision, &error);

      g_assert ((model == NULL) != (error == NULL));
    }

  return 0;
}

#include "fuzz-standalone.h"
