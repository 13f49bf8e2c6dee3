/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "sm-error.h"
#include "sm-gpu.h"

/* The backend in a build without Vulkan (meson -Dvulkan=disabled): it says
 * so, and the engine runs on the CPU. */

gboolean
sm_gpu_is_built (void)
{
  return FALSE;
}

SmGpu *
sm_gpu_new (GError **error)
{
  g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_NOT_SUPPORTED,
               _("GPU support not built (configure with -Dvulkan=enabled and the Vulkan headers and glslc installed)"));
  return NULL;
}

void
sm_gpu_free (SmGpu *gpu)
{
  g_return_if_fail (gpu == NULL);
}

const SmGpuInfo *
sm_gpu_get_info (SmGpu *gpu)
{
  g_return_val_if_reached (NULL);
}

guint
sm_gpu_gemm_tile (SmGpu *gpu,
                  guint  m,
                  guint  n)
{
  g_return_val_if_reached (0);
}

gboolean
sm_gpu_tiles_load (SmGpu      *gpu,
                   const char *path)
{
  g_return_val_if_reached (FALSE);
}

gboolean
sm_gpu_tiles_measure (SmGpu       *gpu,
                      const char  *path,
                      GArray      *points,
                      GError     **error)
{
  g_return_val_if_reached (FALSE);
}

SmGpuModel *
sm_gpu_model_new (SmGpu             *gpu,
                  SmExpert * const  *experts,
                  guint              n_experts,
                  GError           **error)
{
  g_return_val_if_reached (NULL);
}

void
sm_gpu_model_free (SmGpuModel *model)
{
  g_return_if_fail (model == NULL);
}

gboolean
sm_gpu_model_forward (SmGpuModel   *model,
                      guint         index,
                      const float  *input,
                      guint         batch,
                      float        *output,
                      SmGpuTiming  *timing,
                      GError      **error)
{
  g_return_val_if_reached (FALSE);
}

gboolean
sm_gpu_model_submit (SmGpuModel    *model,
                     guint          index,
                     const float   *input,
                     guint          batch,
                     gboolean       wait_for_lane,
                     SmGpuForward **forward,
                     GError       **error)
{
  g_return_val_if_reached (FALSE);
}

gboolean
sm_gpu_forward_finish (SmGpuForward  *forward,
                       float         *output,
                       SmGpuTiming   *timing,
                       GError       **error)
{
  g_return_val_if_reached (FALSE);
}

void
sm_gpu_model_copy_answers (SmGpuModel *model)
{
  g_return_if_reached ();
}

gboolean
sm_gpu_model_measure_peak (SmGpuModel  *model,
                           double      *gflops,
                           GError     **error)
{
  g_return_val_if_reached (FALSE);
}

gboolean
sm_gpu_model_measure_matrix_peak (SmGpuModel  *model,
                                  double      *gflops,
                                  GError     **error)
{
  g_return_val_if_reached (FALSE);
}

gboolean
sm_gpu_model_set_reduced_precision (SmGpuModel  *model,
                                    gboolean     reduced,
                                    GError     **error)
{
  g_return_val_if_reached (FALSE);
}
