/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Tensor cores: whether the device can run sm-gemm-coop.comp, in which
 * cooperative-matrix dialect, what to enable for it, and the check that
 * turns it on.  The KHR dialect is preferred (it is the standard one, and
 * AMD and Intel drivers offer only it); the NV one serves older NVIDIA
 * drivers and builds whose compiler or headers predate the KHR extension
 * (Debian 12: glslang 11, Vulkan headers 1.3.239). */
#include "config.h"

#include <gio/gio.h>

#include "sm-gpu-private.h"

#define NV_EXTENSION     "VK_NV_cooperative_matrix"
#define KHR_EXTENSION    "VK_KHR_cooperative_matrix"
/* The instance asks for Vulkan 1.1, so the fp16 arithmetic and the memory
 * model the shader's SPIR-V declares (Float16, VulkanMemoryModel) come as
 * extensions, even on 1.2+ devices where they are core. */
#define F16_EXTENSION    "VK_KHR_shader_float16_int8"
#define MEMORY_EXTENSION "VK_KHR_vulkan_memory_model"

typedef struct
{
  const char *extension;
  const char *shader;        /* the GEMM's SPIR-V among the resources */
  const char *peak_shader;   /* the ceiling's */
  const char *glsl;          /* the GLSL extension the shader is built with */
  /* Looks for 16×16×16 fp16 × fp16 + fp32 matrices in subgroup scope. */
  gboolean  (*has_shape) (SmGpu *gpu);
  VkStructureType features_type;
} Dialect;

static gboolean
nv_has_shape (SmGpu *gpu)
{
  PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesNV get_shapes = (PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesNV)
    gpu->vk.vkGetInstanceProcAddr (gpu->instance, "vkGetPhysicalDeviceCooperativeMatrixPropertiesNV");
  g_autofree VkCooperativeMatrixPropertiesNV *shapes = NULL;
  guint32 n = 0;

  if (get_shapes == NULL || get_shapes (gpu->physical, &n, NULL) != VK_SUCCESS)
    return FALSE;
  shapes = g_new0 (VkCooperativeMatrixPropertiesNV, MAX (n, 1));
  for (guint32 i = 0; i < n; i++)
    shapes[i].sType = VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_NV;
  if (get_shapes (gpu->physical, &n, shapes) != VK_SUCCESS)
    return FALSE;
  for (guint32 i = 0; i < n; i++)
    if (shapes[i].MSize == 16 && shapes[i].NSize == 16 && shapes[i].KSize == 16
        && shapes[i].AType == VK_COMPONENT_TYPE_FLOAT16_NV && shapes[i].BType == VK_COMPONENT_TYPE_FLOAT16_NV
        && shapes[i].CType == VK_COMPONENT_TYPE_FLOAT32_NV && shapes[i].DType == VK_COMPONENT_TYPE_FLOAT32_NV
        && shapes[i].scope == VK_SCOPE_SUBGROUP_NV)
      return TRUE;
  return FALSE;
}

#ifdef VK_KHR_cooperative_matrix
static gboolean
khr_has_shape (SmGpu *gpu)
{
  PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR get_shapes = (PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR)
    gpu->vk.vkGetInstanceProcAddr (gpu->instance, "vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR");
  g_autofree VkCooperativeMatrixPropertiesKHR *shapes = NULL;
  guint32 n = 0;

  if (get_shapes == NULL || get_shapes (gpu->physical, &n, NULL) != VK_SUCCESS)
    return FALSE;
  shapes = g_new0 (VkCooperativeMatrixPropertiesKHR, MAX (n, 1));
  for (guint32 i = 0; i < n; i++)
    shapes[i].sType = VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_KHR;
  if (get_shapes (gpu->physical, &n, shapes) != VK_SUCCESS)
    return FALSE;
  for (guint32 i = 0; i < n; i++)
    if (shapes[i].MSize == 16 && shapes[i].NSize == 16 && shapes[i].KSize == 16
        && shapes[i].AType == VK_COMPONENT_TYPE_FLOAT16_KHR && shapes[i].BType == VK_COMPONENT_TYPE_FLOAT16_KHR
        && shapes[i].CType == VK_COMPONENT_TYPE_FLOAT32_KHR && shapes[i].ResultType == VK_COMPONENT_TYPE_FLOAT32_KHR
        && !shapes[i].saturatingAccumulation && shapes[i].scope == VK_SCOPE_SUBGROUP_KHR)
      return TRUE;
  return FALSE;
}
#endif

/* In order of preference. */
static const Dialect dialects[] = {
#ifdef VK_KHR_cooperative_matrix
  { KHR_EXTENSION, "sm-gemm-coop-khr.spv", "sm-peak-coop-khr.spv", "GL_KHR_cooperative_matrix", khr_has_shape, VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_KHR },
#endif
  { NV_EXTENSION, "sm-gemm-coop-nv.spv", "sm-peak-coop-nv.spv", "GL_NV_cooperative_matrix", nv_has_shape, VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV },
};

static gboolean
has_extension (const VkExtensionProperties *extensions,
               guint32                      n,
               const char                  *name)
{
  for (guint32 i = 0; i < n; i++)
    if (g_str_equal (extensions[i].extensionName, name))
      return TRUE;
  return FALSE;
}

static gboolean
has_shader (const Dialect *dialect)
{
  g_autofree char *path = g_strconcat (SM_GPU_SHADER_PREFIX, dialect->shader, NULL);

  return g_resources_get_info (path, G_RESOURCE_LOOKUP_FLAGS_NONE, NULL, NULL, NULL);
}

/* Chains @setup's feature structures, coop → fp16 → memory model, the
 * cooperative-matrix one typed for @dialect. */
static VkPhysicalDeviceCooperativeMatrixFeaturesNV *
chain_features (SmGpuMatrixSetup *setup,
                const Dialect    *dialect)
{
  setup->memory = (VkPhysicalDeviceVulkanMemoryModelFeatures) {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_MEMORY_MODEL_FEATURES,
  };
  setup->f16 = (VkPhysicalDeviceShaderFloat16Int8Features) {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES,
    .pNext = &setup->memory,
  };
  /* The KHR structure has the NV one's members, in the same order. */
  setup->coop = (VkPhysicalDeviceCooperativeMatrixFeaturesNV) { .sType = dialect->features_type, .pNext = &setup->f16 };
  return &setup->coop;
}

/* Which dialect the device can run (the shader built for it, its
 * extension, fp16 arithmetic and the memory model with their features, the
 * 16×16×16 shape, 32-wide subgroups), or NULL, with what is missing for the
 * preferred one the device offers in @missing (to free). */
static const Dialect *
pick_dialect (SmGpu             *gpu,
              SmGpuMatrixSetup  *setup,
              char             **missing)
{
  g_autofree VkExtensionProperties *extensions = NULL;
  guint32 n = 0;

  *missing = NULL;
  if (gpu->vk.vkEnumerateDeviceExtensionProperties (gpu->physical, NULL, &n, NULL) == VK_SUCCESS)
    {
      extensions = g_new0 (VkExtensionProperties, MAX (n, 1));
      if (gpu->vk.vkEnumerateDeviceExtensionProperties (gpu->physical, NULL, &n, extensions) != VK_SUCCESS)
        n = 0;
    }
  for (guint i = 0; i < G_N_ELEMENTS (dialects); i++)
    {
      const Dialect *dialect = &dialects[i];
      VkPhysicalDeviceFeatures2 features = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
        .pNext = chain_features (setup, dialect),
      };
      g_autofree char *lacks = NULL;

      if (!has_extension (extensions, n, dialect->extension))
        continue;
      if (!has_shader (dialect))
        lacks = g_strdup_printf ("the build's shader compiler lacks %s", dialect->glsl);
      else if (!has_extension (extensions, n, F16_EXTENSION))
        lacks = g_strdup ("no fp16 arithmetic (" F16_EXTENSION ")");
      else if (!has_extension (extensions, n, MEMORY_EXTENSION))
        lacks = g_strdup ("no " MEMORY_EXTENSION);
      else if (gpu->info.subgroup_size != 32)
        lacks = g_strdup ("subgroups are not 32 wide");
      else
        {
          gpu->vk.vkGetPhysicalDeviceFeatures2 (gpu->physical, &features);
          if (!setup->coop.cooperativeMatrix || !setup->f16.shaderFloat16 || !setup->memory.vulkanMemoryModel)
            lacks = g_strdup ("the cooperative-matrix, fp16 or memory-model feature is off");
          else if (!dialect->has_shape (gpu))
            lacks = g_strdup ("no 16×16×16 fp16 matrices summed in fp32");
          else
            return dialect;
        }
      /* The first dialect the device offers says why it cannot be used. */
      if (*missing == NULL)
        *missing = g_steal_pointer (&lacks);
    }
  if (*missing == NULL)
    *missing = g_strdup (has_extension (extensions, n, KHR_EXTENSION)
                         ? "this build's Vulkan headers predate " KHR_EXTENSION
                         : "no " KHR_EXTENSION " or " NV_EXTENSION);
  return NULL;
}

gboolean
sm_gpu_matrix_cores_probe (SmGpu            *gpu,
                           SmGpuMatrixSetup *setup)
{
  g_autofree char *missing = NULL;
  const Dialect *dialect = pick_dialect (gpu, setup, &missing);

  g_free (gpu->info.matrix_cores_status);
  if (dialect == NULL)
    {
      gpu->info.matrix_cores_status = g_strdup_printf ("none: %s", missing);
      return FALSE;
    }
  /* What the device is created with: the features on. */
  chain_features (setup, dialect);
  setup->coop.cooperativeMatrix = VK_TRUE;
  setup->f16.shaderFloat16 = VK_TRUE;
  setup->memory.vulkanMemoryModel = VK_TRUE;
  setup->extensions[0] = dialect->extension;
  setup->extensions[1] = F16_EXTENSION;
  setup->extensions[2] = MEMORY_EXTENSION;
  setup->shader = dialect->shader;
  setup->peak_shader = dialect->peak_shader;
  gpu->info.matrix_cores_status = g_strdup_printf ("%s, fp16 × fp16 + fp32, 16×16×16", dialect->extension);
  return TRUE;
}

void
sm_gpu_matrix_cores_enable (SmGpuMatrixSetup   *setup,
                            VkDeviceCreateInfo *device_info)
{
  device_info->enabledExtensionCount = G_N_ELEMENTS (setup->extensions);
  device_info->ppEnabledExtensionNames = setup->extensions;
  device_info->pNext = &setup->coop;
}

void
sm_gpu_matrix_cores_create (SmGpu                  *gpu,
                            const SmGpuMatrixSetup *setup)
{
  g_autoptr(GError) error = NULL;

  if (!sm_gpu_create_pipeline (gpu, setup->shader, NULL, &gpu->gemm_coop, &error)
      || !sm_gpu_create_pipeline (gpu, setup->peak_shader, NULL, &gpu->peak_coop, &error)
      || !sm_gpu_check_matrix_cores (gpu, &error))
    {
      if (gpu->gemm_coop != VK_NULL_HANDLE)
        gpu->vk.vkDestroyPipeline (gpu->device, gpu->gemm_coop, NULL);
      if (gpu->peak_coop != VK_NULL_HANDLE)
        gpu->vk.vkDestroyPipeline (gpu->device, gpu->peak_coop, NULL);
      gpu->gemm_coop = VK_NULL_HANDLE;
      gpu->peak_coop = VK_NULL_HANDLE;
      g_free (gpu->info.matrix_cores_status);
      gpu->info.matrix_cores_status = g_strdup_printf ("off: %s", error->message);
      return;
    }
  gpu->info.matrix_cores = TRUE;
}
