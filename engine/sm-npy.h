/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* NumPy .npy files of float32, 1-D or 2-D, C order: what `synmesh infer`
 * reads and writes.  Anything else (another dtype, Fortran order, more
 * dimensions, a truncated or malformed header) is a clear error. */

typedef struct
{
  guint   rows;       /* 1 for a 1-D array */
  guint   cols;
  gboolean one_d;
  float  *data;       /* rows × cols, owned */
} SmNpyArray;

gboolean sm_npy_load  (const char        *path,
                       SmNpyArray        *array,
                       GError           **error);
gboolean sm_npy_parse (const guint8      *bytes,
                       gsize              length,
                       SmNpyArray        *array,
                       GError           **error);
gboolean sm_npy_save  (const char        *path,
                       const SmNpyArray  *array,
                       GError           **error);
void     sm_npy_array_clear (SmNpyArray  *array);

G_END_DECLS
