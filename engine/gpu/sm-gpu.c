/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <inttypes.h>

#include <string.h>
#include <gio/gio.h>

#include "sm-error.h"
#include "sm-gpu-private.h"
#include "sm-gpu-shaders.h"

gboolean
sm_gpu_is_built (void)
{
  return TRUE;
}

gboolean
sm_gpu_check (VkResult     result,
              const char  *what,
              GError     **error)
{
  if (result == VK_SUCCESS)
    return TRUE;
  g_set_error (error, SM_ENGINE_ERROR,
               result == VK_ERROR_OUT_OF_DEVICE_MEMORY || result == VK_ERROR_OUT_OF_HOST_MEMORY
               ? SM_ENGINE_ERROR_NO_MEMORY : SM_ENGINE_ERROR_NOT_SUPPORTED,
               "%s: %s (%d)", what, sm_vk_result_name (result), (int) result);
  return FALSE;
}

/* ---- choosing a device ---- */

static const char *
device_type_name (VkPhysicalDeviceType type)
{
  switch (type)
    {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:
      return "discrete";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU:
      return "integrated";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU:
      return "virtual";
    case VK_PHYSICAL_DEVICE_TYPE_CPU:
      return "cpu";
    case VK_PHYSICAL_DEVICE_TYPE_OTHER:
    default:
      return "other";
    }
}

/* Higher is better; negative is never. */
static int
device_rank (VkPhysicalDeviceType type,
             gboolean             allow_cpu)
{
  switch (type)
    {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:
      return 4;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU:
      return 3;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU:
      return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU:
      return allow_cpu ? 1 : -1;
    case VK_PHYSICAL_DEVICE_TYPE_OTHER:
    default:
      return 0;
    }
}

/* A queue family that computes, or -1. */
static int
compute_family (SmGpu            *gpu,
                VkPhysicalDevice  physical)
{
  guint32 n = 0;
  g_autofree VkQueueFamilyProperties *families = NULL;

  gpu->vk.vkGetPhysicalDeviceQueueFamilyProperties (physical, &n, NULL);
  families = g_new0 (VkQueueFamilyProperties, MAX (n, 1));
  gpu->vk.vkGetPhysicalDeviceQueueFamilyProperties (physical, &n, families);
  for (guint32 i = 0; i < n; i++)
    if (families[i].queueFlags & VK_QUEUE_COMPUTE_BIT)
      return (int) i;
  return -1;
}

static gboolean
pick_device (SmGpu   *gpu,
             GError **error)
{
  gboolean allow_cpu = g_strcmp0 (g_getenv ("SM_GPU_ALLOW_CPU"), "1") == 0;
  g_autoptr(GString) found = g_string_new (NULL);
  g_autofree VkPhysicalDevice *devices = NULL;
  guint32 n = 0;
  int best_rank = -1;

  if (!sm_gpu_check (gpu->vk.vkEnumeratePhysicalDevices (gpu->instance, &n, NULL), "Listing Vulkan devices", error))
    return FALSE;
  devices = g_new0 (VkPhysicalDevice, MAX (n, 1));
  if (!sm_gpu_check (gpu->vk.vkEnumeratePhysicalDevices (gpu->instance, &n, devices), "Listing Vulkan devices", error))
    return FALSE;

  for (guint32 i = 0; i < n; i++)
    {
      VkPhysicalDeviceProperties props;
      int family = compute_family (gpu, devices[i]);
      int rank;

      gpu->vk.vkGetPhysicalDeviceProperties (devices[i], &props);
      rank = device_rank (props.deviceType, allow_cpu);
      g_string_append_printf (found, "%s%s [%s]", found->len > 0 ? "; " : "", props.deviceName,
                              device_type_name (props.deviceType));
      if (family < 0 || props.apiVersion < VK_API_VERSION_1_1 || rank <= best_rank)
        continue;
      best_rank = rank;
      gpu->physical = devices[i];
      gpu->queue_family = (guint32) family;
    }

  if (gpu->physical == VK_NULL_HANDLE)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_NOT_SUPPORTED,
                   _("No usable Vulkan device (%s)%s"), n > 0 ? found->str : "none found",
                   allow_cpu ? "" : "; CPU implementations such as lavapipe need SM_GPU_ALLOW_CPU=1");
      return FALSE;
    }
  return TRUE;
}

static void
describe_device (SmGpu *gpu)
{
  VkPhysicalDeviceSubgroupProperties subgroup = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES };
  VkPhysicalDeviceDriverProperties driver = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES };
  VkPhysicalDeviceProperties2 props = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &subgroup };
  g_autofree VkQueueFamilyProperties *families = NULL;
  guint32 n_families = 0;
  VkPhysicalDeviceLimits *limits = &props.properties.limits;

  gpu->vk.vkGetPhysicalDeviceProperties (gpu->physical, &props.properties);
  /* Driver names are Vulkan 1.2's; a 1.1 device gets its version number. */
  if (props.properties.apiVersion >= VK_API_VERSION_1_2)
    subgroup.pNext = &driver;
  gpu->vk.vkGetPhysicalDeviceProperties2 (gpu->physical, &props);
  gpu->vk.vkGetPhysicalDeviceMemoryProperties (gpu->physical, &gpu->memory);

  gpu->info.device_name = g_strdup (props.properties.deviceName);
  gpu->info.driver = driver.driverName[0] != '\0'
                     ? g_strdup_printf ("%s %s", driver.driverName, driver.driverInfo)
                     : g_strdup_printf ("driver version %u", props.properties.driverVersion);
  gpu->info.device_type = device_type_name (props.properties.deviceType);
  gpu->info.api_version = props.properties.apiVersion;
  gpu->info.vendor_id = props.properties.vendorID;
  gpu->info.device_id = props.properties.deviceID;
  gpu->info.subgroup_size = subgroup.subgroupSize;
  gpu->info.max_workgroup_invocations = limits->maxComputeWorkGroupInvocations;
  gpu->info.max_shared_memory = limits->maxComputeSharedMemorySize;
  gpu->max_storage_range = limits->maxStorageBufferRange;
  for (guint32 h = 0; h < gpu->memory.memoryHeapCount; h++)
    if (gpu->memory.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)
      gpu->info.device_local_bytes = MAX (gpu->info.device_local_bytes, gpu->memory.memoryHeaps[h].size);

  gpu->vk.vkGetPhysicalDeviceQueueFamilyProperties (gpu->physical, &n_families, NULL);
  families = g_new0 (VkQueueFamilyProperties, MAX (n_families, 1));
  gpu->vk.vkGetPhysicalDeviceQueueFamilyProperties (gpu->physical, &n_families, families);
  if (families[gpu->queue_family].timestampValidBits > 0)
    gpu->info.timestamp_period_ns = limits->timestampPeriod;
}

/* ---- pipelines ---- */

static gboolean
create_shader (SmGpu           *gpu,
               const char      *name,
               VkShaderModule  *module,
               GError         **error)
{
  g_autofree char *path = g_strconcat (SM_GPU_SHADER_PREFIX, name, NULL);
  g_autoptr(GBytes) bytes = g_resources_lookup_data (path, G_RESOURCE_LOOKUP_FLAGS_NONE, error);
  g_autofree guint32 *code = NULL;
  gconstpointer data;
  gsize size;
  VkShaderModuleCreateInfo info = { .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO };

  if (bytes == NULL)
    return FALSE;
  /* SPIR-V is read as 32-bit words: a copy is aligned whatever the
   * resource's placement. */
  data = g_bytes_get_data (bytes, &size);
  code = g_memdup2 (data, size);
  info.codeSize = size;
  info.pCode = code;
  return sm_gpu_check (gpu->vk.vkCreateShaderModule (gpu->device, &info, NULL, module), name, error);
}

gboolean
sm_gpu_create_pipeline (SmGpu                      *gpu,
                        const char                 *shader,
                        const VkSpecializationInfo *specialization,
                        VkPipeline                 *pipeline,
                        GError                    **error)
{
  VkShaderModule module = VK_NULL_HANDLE;
  VkComputePipelineCreateInfo info = {
    .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
    .stage = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
      .stage = VK_SHADER_STAGE_COMPUTE_BIT,
      .pName = "main",
      .pSpecializationInfo = specialization,
    },
    .layout = gpu->pipeline_layout,
  };
  gboolean ok;

  if (!create_shader (gpu, shader, &module, error))
    return FALSE;
  info.stage.module = module;
  ok = sm_gpu_check (gpu->vk.vkCreateComputePipelines (gpu->device, VK_NULL_HANDLE, 1, &info, NULL, pipeline),
                     shader, error);
  gpu->vk.vkDestroyShaderModule (gpu->device, module, NULL);
  return ok;
}

/* The GEMM pipeline tiled @tile wide with @work × @work outputs per
 * invocation; a missing one where the device's limits rule it out (left
 * VK_NULL_HANDLE, with the reason in @error when @required). */
static gboolean
create_gemm (SmGpu      *gpu,
             guint32     tile,
             guint32     work,
             gboolean    required,
             VkPipeline *pipeline,
             GError    **error)
{
  /* Tile side, outputs per invocation, depth, then the workgroup's sides. */
  const guint32 constants[5] = { tile, work, SM_GPU_TILE_K, tile / work, tile / work };
  VkSpecializationMapEntry entries[5];
  VkSpecializationInfo specialization = { G_N_ELEMENTS (entries), entries, sizeof constants, constants };
  guint32 invocations = (tile / work) * (tile / work);
  gsize shared = ((tile + 4) + tile) * SM_GPU_TILE_K * sizeof (float);

  /* Each invocation loads a whole number of each tile's elements, and
   * reads its rows and columns in runs of four. */
  g_assert (tile * SM_GPU_TILE_K % invocations == 0 && work % 4 == 0);
  if (gpu->info.max_workgroup_invocations < invocations || gpu->info.max_shared_memory < shared)
    {
      if (required)
        g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_NOT_SUPPORTED,
                     _("%s allows %u invocations and %u bytes of shared memory per workgroup; the GEMM needs %u and %zu"),
                     gpu->info.device_name, gpu->info.max_workgroup_invocations, gpu->info.max_shared_memory,
                     invocations, shared);
      return !required;
    }
  for (guint i = 0; i < G_N_ELEMENTS (entries); i++)
    entries[i] = (VkSpecializationMapEntry) { i, i * sizeof (guint32), sizeof (guint32) };
  return sm_gpu_create_pipeline (gpu, "sm-gemm.spv", &specialization, pipeline, error);
}

VkPipeline
sm_gpu_gemm_for (SmGpu    *gpu,
                 guint     m,
                 guint     n,
                 gboolean  reduced,
                 guint     forced,
                 guint    *tile)
{
  guint64 large_groups = (guint64) ((m + SM_GPU_LARGE_TILE - 1) / SM_GPU_LARGE_TILE)
                         * ((n + SM_GPU_LARGE_TILE - 1) / SM_GPU_LARGE_TILE);
  gboolean large = forced != 0 ? forced == SM_GPU_LARGE_TILE
                   : gpu->info.forced_tiles != 0 ? gpu->info.forced_tiles == SM_GPU_LARGE_TILE
                   : large_groups >= gpu->large_from_groups;

  if (reduced && gpu->gemm_coop != VK_NULL_HANDLE)
    {
      *tile = SM_GPU_COOP_TILE;
      return gpu->gemm_coop;
    }
  if (large && gpu->gemm_large != VK_NULL_HANDLE)
    {
      *tile = SM_GPU_LARGE_TILE;
      return gpu->gemm_large;
    }
  *tile = SM_GPU_SMALL_TILE;
  return gpu->gemm;
}

guint
sm_gpu_gemm_tile (SmGpu *gpu,
                  guint  m,
                  guint  n)
{
  guint tile;

  g_mutex_lock (&gpu->lock);
  sm_gpu_gemm_for (gpu, m, n, FALSE, 0, &tile);
  g_mutex_unlock (&gpu->lock);
  return tile;
}

static gboolean
create_pipelines (SmGpu   *gpu,
                  GError **error)
{
  VkDescriptorSetLayoutBinding bindings[3];
  VkDescriptorSetLayoutCreateInfo set_info = {
    .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
    .bindingCount = G_N_ELEMENTS (bindings),
    .pBindings = bindings,
  };
  VkPushConstantRange push = { VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof (SmGpuArgs) };
  VkPipelineLayoutCreateInfo layout_info = {
    .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
    .setLayoutCount = 1,
    .pSetLayouts = &gpu->set_layout,
    .pushConstantRangeCount = 1,
    .pPushConstantRanges = &push,
  };

  /* The softmax's rows take 256 invocations. */
  if (gpu->info.max_workgroup_invocations < 256)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_NOT_SUPPORTED,
                   _("%s allows %u invocations per workgroup; the shaders need 256"),
                   gpu->info.device_name, gpu->info.max_workgroup_invocations);
      return FALSE;
    }
  for (guint i = 0; i < G_N_ELEMENTS (bindings); i++)
    bindings[i] = (VkDescriptorSetLayoutBinding) { i, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, NULL };

  return sm_gpu_check (gpu->vk.vkCreateDescriptorSetLayout (gpu->device, &set_info, NULL, &gpu->set_layout),
                       "Creating the descriptor set layout", error)
         && sm_gpu_check (gpu->vk.vkCreatePipelineLayout (gpu->device, &layout_info, NULL, &gpu->pipeline_layout),
                          "Creating the pipeline layout", error)
         && create_gemm (gpu, SM_GPU_SMALL_TILE, SM_GPU_SMALL_WORK, TRUE, &gpu->gemm, error)
         && create_gemm (gpu, SM_GPU_LARGE_TILE, SM_GPU_LARGE_WORK, FALSE, &gpu->gemm_large, error)
         && sm_gpu_create_pipeline (gpu, "sm-softmax.spv", NULL, &gpu->softmax, error)
         && sm_gpu_create_pipeline (gpu, "sm-peak.spv", NULL, &gpu->peak, error);
}

static gboolean
create_commands (SmGpu   *gpu,
                 GError **error)
{
  VkCommandPoolCreateInfo pool_info = {
    .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
    .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
    .queueFamilyIndex = gpu->queue_family,
  };
  VkCommandBufferAllocateInfo buffer_info = {
    .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
    .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
    .commandBufferCount = 1,
  };
  VkFenceCreateInfo fence_info = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
  VkQueryPoolCreateInfo query_info = {
    .sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
    .queryType = VK_QUERY_TYPE_TIMESTAMP,
    .queryCount = SM_GPU_MAX_TIMESTAMPS * (SM_GPU_LANES + 1),
  };

  if (!sm_gpu_check (gpu->vk.vkCreateCommandPool (gpu->device, &pool_info, NULL, &gpu->command_pool),
                     "Creating a command pool", error))
    return FALSE;
  buffer_info.commandPool = gpu->command_pool;
  if (!sm_gpu_check (gpu->vk.vkAllocateCommandBuffers (gpu->device, &buffer_info, &gpu->commands),
                     "Allocating a command buffer", error)
      || !sm_gpu_check (gpu->vk.vkCreateFence (gpu->device, &fence_info, NULL, &gpu->fence), "Creating a fence", error))
    return FALSE;
  if (gpu->info.timestamp_period_ns > 0
      && !sm_gpu_check (gpu->vk.vkCreateQueryPool (gpu->device, &query_info, NULL, &gpu->timestamps),
                        "Creating timestamp queries", error))
    return FALSE;
  return TRUE;
}

SmGpu *
sm_gpu_new (GError **error)
{
  g_autoptr(SmGpu) gpu = g_new0 (SmGpu, 1);
  VkApplicationInfo app = {
    .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
    .pApplicationName = "Synaptic Mesh",
    .pEngineName = "synmesh",
    .apiVersion = VK_API_VERSION_1_1,
  };
  VkInstanceCreateInfo instance_info = { .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, .pApplicationInfo = &app };
  float priority = 1.0f;
  VkDeviceQueueCreateInfo queue_info = {
    .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
    .queueCount = 1,
    .pQueuePriorities = &priority,
  };
  VkDeviceCreateInfo device_info = {
    .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
    .queueCreateInfoCount = 1,
    .pQueueCreateInfos = &queue_info,
  };
  SmGpuMatrixSetup matrix_setup;
  gboolean matrix_cores;

  g_mutex_init (&gpu->lock);
  gpu->orphans = g_array_new (FALSE, FALSE, sizeof (SmGpuBuffer));
  gpu->orphan_pools = g_array_new (FALSE, FALSE, sizeof (VkDescriptorPool));
  gpu->orphan_fences = g_array_new (FALSE, FALSE, sizeof (VkFence));
  gpu->timeout_ns = g_getenv ("SM_GPU_TIMEOUT_MS") != NULL
                    ? g_ascii_strtoull (g_getenv ("SM_GPU_TIMEOUT_MS"), NULL, 10) * 1000000u : SM_GPU_TIMEOUT_NS;
  gpu->injected_fault = g_strcmp0 (g_getenv ("SM_GPU_FAULT"), "hang") == 0 ? VK_TIMEOUT
                        : g_strcmp0 (g_getenv ("SM_GPU_FAULT"), "lost") == 0 ? VK_ERROR_DEVICE_LOST : VK_SUCCESS;
  gpu->info.forced_tiles = g_strcmp0 (g_getenv ("SM_GPU_TILES"), "small") == 0 ? SM_GPU_SMALL_TILE
                      : g_strcmp0 (g_getenv ("SM_GPU_TILES"), "large") == 0 ? SM_GPU_LARGE_TILE : 0;
  gpu->large_from_groups = SM_GPU_LARGE_MIN_GROUPS;
  gpu->info.large_tiles_from = SM_GPU_LARGE_MIN_GROUPS;
  gpu->info.tiles_status = g_strdup (_("not measured on this device yet"));
  sm_gpu_shaders_register_resource ();
  if (!sm_vk_open (&gpu->vk, error)
      || !sm_gpu_check (gpu->vk.vkCreateInstance (&instance_info, NULL, &gpu->instance), "Creating a Vulkan instance", error)
      || !sm_vk_load_instance (&gpu->vk, gpu->instance, error)
      || !pick_device (gpu, error))
    return NULL;

  queue_info.queueFamilyIndex = gpu->queue_family;
  describe_device (gpu);
  gpu->copy_in = g_strcmp0 (g_getenv ("SM_GPU_STAGING"), "copy") == 0;
  {
    int types[SM_GPU_MEMORY_CANDIDATES];

    gpu->info.reads_batch_in_place = !gpu->copy_in
                                     && sm_gpu_memory_candidates (&gpu->memory, G_MAXUINT32, SM_GPU_MEMORY_UPLOAD, types) > 0
                                     && (gpu->memory.memoryTypes[types[0]].propertyFlags & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
  }
  gpu->info.upload_memory = sm_gpu_memory_describe (gpu, SM_GPU_MEMORY_UPLOAD);
  gpu->info.readback_memory = sm_gpu_memory_describe (gpu, SM_GPU_MEMORY_READBACK);
  matrix_cores = sm_gpu_matrix_cores_probe (gpu, &matrix_setup);
  if (matrix_cores)
    sm_gpu_matrix_cores_enable (&matrix_setup, &device_info);
  if (!sm_gpu_check (gpu->vk.vkCreateDevice (gpu->physical, &device_info, NULL, &gpu->device),
                     "Creating the Vulkan device", error)
      || !sm_vk_load_device (&gpu->vk, gpu->device, error))
    return NULL;
  gpu->vk.vkGetDeviceQueue (gpu->device, gpu->queue_family, 0, &gpu->queue);
  if (!create_pipelines (gpu, error) || !create_commands (gpu, error))
    return NULL;
  if (matrix_cores)
    sm_gpu_matrix_cores_create (gpu, &matrix_setup);

  return g_steal_pointer (&gpu);
}

void
sm_gpu_free (SmGpu *gpu)
{
  SmVk *vk;

  if (gpu == NULL)
    return;
  vk = &gpu->vk;
  if (gpu->device != VK_NULL_HANDLE)
    {
      vk->vkDeviceWaitIdle (gpu->device);
      for (guint i = 0; i < gpu->orphans->len; i++)
        sm_gpu_buffer_destroy (gpu, &g_array_index (gpu->orphans, SmGpuBuffer, i));
      for (guint i = 0; i < gpu->orphan_pools->len; i++)
        vk->vkDestroyDescriptorPool (gpu->device, g_array_index (gpu->orphan_pools, VkDescriptorPool, i), NULL);
      for (guint i = 0; i < gpu->orphan_fences->len; i++)
        vk->vkDestroyFence (gpu->device, g_array_index (gpu->orphan_fences, VkFence, i), NULL);
      if (gpu->timestamps != VK_NULL_HANDLE)
        vk->vkDestroyQueryPool (gpu->device, gpu->timestamps, NULL);
      if (gpu->fence != VK_NULL_HANDLE)
        vk->vkDestroyFence (gpu->device, gpu->fence, NULL);
      if (gpu->command_pool != VK_NULL_HANDLE)
        vk->vkDestroyCommandPool (gpu->device, gpu->command_pool, NULL);
      if (gpu->gemm != VK_NULL_HANDLE)
        vk->vkDestroyPipeline (gpu->device, gpu->gemm, NULL);
      if (gpu->gemm_large != VK_NULL_HANDLE)
        vk->vkDestroyPipeline (gpu->device, gpu->gemm_large, NULL);
      if (gpu->gemm_coop != VK_NULL_HANDLE)
        vk->vkDestroyPipeline (gpu->device, gpu->gemm_coop, NULL);
      if (gpu->peak_coop != VK_NULL_HANDLE)
        vk->vkDestroyPipeline (gpu->device, gpu->peak_coop, NULL);
      if (gpu->softmax != VK_NULL_HANDLE)
        vk->vkDestroyPipeline (gpu->device, gpu->softmax, NULL);
      if (gpu->peak != VK_NULL_HANDLE)
        vk->vkDestroyPipeline (gpu->device, gpu->peak, NULL);
      if (gpu->pipeline_layout != VK_NULL_HANDLE)
        vk->vkDestroyPipelineLayout (gpu->device, gpu->pipeline_layout, NULL);
      if (gpu->set_layout != VK_NULL_HANDLE)
        vk->vkDestroyDescriptorSetLayout (gpu->device, gpu->set_layout, NULL);
      vk->vkDestroyDevice (gpu->device, NULL);
    }
  if (gpu->instance != VK_NULL_HANDLE)
    vk->vkDestroyInstance (gpu->instance, NULL);
  sm_vk_close (vk);
  g_free (gpu->info.device_name);
  g_free (gpu->info.driver);
  g_free (gpu->info.matrix_cores_status);
  g_free (gpu->info.tiles_status);
  g_free (gpu->lost_reason);
  g_clear_pointer (&gpu->orphans, g_array_unref);
  g_clear_pointer (&gpu->orphan_pools, g_array_unref);
  g_clear_pointer (&gpu->orphan_fences, g_array_unref);
  g_mutex_clear (&gpu->lock);
  g_free (gpu);
}

const SmGpuInfo *
sm_gpu_get_info (SmGpu *gpu)
{
  return &gpu->info;
}

/* ---- buffers and submissions ---- */

static int
memory_type (const VkPhysicalDeviceMemoryProperties *properties,
             guint32                                 allowed,
             VkMemoryPropertyFlags                   wanted)
{
  for (guint32 i = 0; i < properties->memoryTypeCount; i++)
    if ((allowed & (1u << i)) && (properties->memoryTypes[i].propertyFlags & wanted) == wanted)
      return (int) i;
  return -1;
}

#define HOST_MEMORY (VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT)

guint
sm_gpu_memory_candidates (const VkPhysicalDeviceMemoryProperties *properties,
                          guint32                                 allowed,
                          SmGpuMemory                             memory,
                          int                                     types[SM_GPU_MEMORY_CANDIDATES])
{
  /* What each kind asks for, best first: a buffer the host writes for the
   * device sits in device memory the host maps where there is some (a
   * resizable BAR), one the host reads back in cached memory (reads from
   * the write-combined kind are uncached, many times slower); device
   * buffers go anywhere rather than nowhere. */
  static const VkMemoryPropertyFlags wanted[][SM_GPU_MEMORY_CANDIDATES] = {
    [SM_GPU_MEMORY_DEVICE] = { VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0 },
    [SM_GPU_MEMORY_HOST] = { HOST_MEMORY },
    [SM_GPU_MEMORY_UPLOAD] = { HOST_MEMORY | VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, HOST_MEMORY },
    [SM_GPU_MEMORY_READBACK] = { HOST_MEMORY | VK_MEMORY_PROPERTY_HOST_CACHED_BIT, HOST_MEMORY },
  };
  const guint n_wanted[] = {
    [SM_GPU_MEMORY_DEVICE] = 2, [SM_GPU_MEMORY_HOST] = 1, [SM_GPU_MEMORY_UPLOAD] = 2, [SM_GPU_MEMORY_READBACK] = 2,
  };
  guint n = 0;

  g_return_val_if_fail (memory <= SM_GPU_MEMORY_READBACK, 0);
  for (guint w = 0; w < n_wanted[memory]; w++)
    {
      int type = memory_type (properties, allowed, wanted[memory][w]);
      gboolean seen = FALSE;

      for (guint i = 0; i < n; i++)
        seen |= types[i] == type;
      if (type >= 0 && !seen)
        types[n++] = type;
    }
  return n;
}

const char *
sm_gpu_memory_describe (SmGpu       *gpu,
                        SmGpuMemory  memory)
{
  int types[SM_GPU_MEMORY_CANDIDATES];
  VkMemoryPropertyFlags found;

  if (sm_gpu_memory_candidates (&gpu->memory, G_MAXUINT32, memory, types) == 0)
    return "none";
  found = gpu->memory.memoryTypes[types[0]].propertyFlags;
  if ((found & HOST_MEMORY) != HOST_MEMORY)
    return "device memory";
  if (found & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT)
    return found & VK_MEMORY_PROPERTY_HOST_CACHED_BIT ? "memory both share, cached"
           : g_str_equal (gpu->info.device_type, "discrete") ? "device memory the host maps (resizable BAR)"
           : "device memory the host maps";
  return found & VK_MEMORY_PROPERTY_HOST_CACHED_BIT ? "cached host memory" : "uncached host memory";
}

gboolean
sm_gpu_buffer_create (SmGpu              *gpu,
                      VkDeviceSize        size,
                      VkBufferUsageFlags  usage,
                      SmGpuMemory         memory,
                      SmGpuBuffer        *buffer,
                      GError            **error)
{
  VkBufferCreateInfo info = {
    .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
    .size = MAX (size, 4),
    .usage = usage,
    .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
  };
  VkMemoryAllocateInfo allocate = { .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO };
  gboolean mapped = memory != SM_GPU_MEMORY_DEVICE;
  int types[SM_GPU_MEMORY_CANDIDATES];
  guint n_types;
  VkMemoryRequirements needs;
  VkResult result = VK_ERROR_FEATURE_NOT_PRESENT;   /* no candidate: "no suitable memory" */

  memset (buffer, 0, sizeof *buffer);
  if (!mapped && size > gpu->max_storage_range)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_NO_MEMORY,
                   _("%s binds at most %" PRIu64 " bytes per buffer; %" PRIu64 " are needed"),
                   gpu->info.device_name, (guint64) gpu->max_storage_range, (guint64) size);
      return FALSE;
    }
  if (!sm_gpu_check (gpu->vk.vkCreateBuffer (gpu->device, &info, NULL, &buffer->buffer), "Creating a buffer", error))
    return FALSE;
  gpu->vk.vkGetBufferMemoryRequirements (gpu->device, buffer->buffer, &needs);
  allocate.allocationSize = needs.size;
  buffer->size = size;
  /* The candidates in turn: a BAR window of 256 MiB fills up, and then
   * the next kind serves. */
  n_types = sm_gpu_memory_candidates (&gpu->memory, needs.memoryTypeBits, memory, types);
  for (guint i = 0; i < n_types && buffer->memory == VK_NULL_HANDLE; i++)
    {
      allocate.memoryTypeIndex = (guint32) types[i];
      buffer->properties = gpu->memory.memoryTypes[types[i]].propertyFlags;
      result = gpu->vk.vkAllocateMemory (gpu->device, &allocate, NULL, &buffer->memory);
      if (result != VK_SUCCESS)
        buffer->memory = VK_NULL_HANDLE;
    }
  if (buffer->memory == VK_NULL_HANDLE)
    {
      if (result == VK_ERROR_OUT_OF_DEVICE_MEMORY || result == VK_ERROR_OUT_OF_HOST_MEMORY)
        sm_gpu_check (result, "Allocating GPU memory", error);
      else
        g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_NOT_SUPPORTED, _("%s has no suitable memory for a buffer"),
                     gpu->info.device_name);
      sm_gpu_buffer_destroy (gpu, buffer);
      return FALSE;
    }
  if (!sm_gpu_check (gpu->vk.vkBindBufferMemory (gpu->device, buffer->buffer, buffer->memory, 0),
                     "Binding GPU memory", error)
      || (mapped
          && !sm_gpu_check (gpu->vk.vkMapMemory (gpu->device, buffer->memory, 0, VK_WHOLE_SIZE, 0, &buffer->mapped),
                            "Mapping GPU memory", error)))
    {
      sm_gpu_buffer_destroy (gpu, buffer);
      return FALSE;
    }
  return TRUE;
}

void
sm_gpu_buffer_destroy (SmGpu       *gpu,
                       SmGpuBuffer *buffer)
{
  if (buffer->mapped != NULL)
    gpu->vk.vkUnmapMemory (gpu->device, buffer->memory);
  if (buffer->buffer != VK_NULL_HANDLE)
    gpu->vk.vkDestroyBuffer (gpu->device, buffer->buffer, NULL);
  if (buffer->memory != VK_NULL_HANDLE)
    gpu->vk.vkFreeMemory (gpu->device, buffer->memory, NULL);
  memset (buffer, 0, sizeof *buffer);
}

void
sm_gpu_buffer_retire (SmGpu       *gpu,
                      SmGpuBuffer *buffer)
{
  if (gpu->lost && buffer->buffer != VK_NULL_HANDLE)
    {
      g_array_append_val (gpu->orphans, *buffer);
      memset (buffer, 0, sizeof *buffer);
    }
  else
    sm_gpu_buffer_destroy (gpu, buffer);
}

gboolean
sm_gpu_check_alive (SmGpu   *gpu,
                    GError **error)
{
  if (!gpu->lost)
    return TRUE;
  g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_NOT_SUPPORTED, "%s", gpu->lost_reason);
  return FALSE;
}

gboolean
sm_gpu_begin (SmGpu   *gpu,
              GError **error)
{
  VkCommandBufferBeginInfo begin = {
    .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
    .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
  };

  return sm_gpu_check_alive (gpu, error)
         && sm_gpu_check (gpu->vk.vkResetCommandBuffer (gpu->commands, 0), "Resetting the command buffer", error)
         && sm_gpu_check (gpu->vk.vkBeginCommandBuffer (gpu->commands, &begin), "Recording commands", error);
}

/* Under @gpu->lock: marks the device lost after @result, saying why. */
static gboolean
fail_locked (SmGpu     *gpu,
             VkResult   result,
             guint64    timeout_ns,
             gboolean   injected,
             GError   **error)
{
  /* A hung or lost device never gets another submission: the engine runs
   * on the CPU from now on, and every refusal says why. */
  gpu->lost = TRUE;
  g_free (gpu->lost_reason);
  gpu->lost_reason = result == VK_TIMEOUT
                     ? g_strdup_printf ("%s did not finish within %" G_GUINT64_FORMAT " ms%s", gpu->info.device_name,
                                        timeout_ns / 1000000u, injected ? " (a hang injected by SM_GPU_FAULT)" : "")
                     : g_strdup_printf ("%s failed: %s%s", gpu->info.device_name, sm_vk_result_name (result),
                                        injected ? " (injected by SM_GPU_FAULT)" : "");
  g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_NOT_SUPPORTED, "%s", gpu->lost_reason);
  return FALSE;
}

/* Under @gpu->lock: submits @commands to signal @fence. */
static VkResult
submit_locked (SmGpu           *gpu,
               VkCommandBuffer  commands,
               VkFence          fence)
{
  VkSubmitInfo submit = {
    .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
    .commandBufferCount = 1,
    .pCommandBuffers = &commands,
  };
  VkResult result = gpu->vk.vkResetFences (gpu->device, 1, &fence);

  return result == VK_SUCCESS ? gpu->vk.vkQueueSubmit (gpu->queue, 1, &submit, fence) : result;
}

gboolean
sm_gpu_submit_and_wait (SmGpu    *gpu,
                        guint64   timeout_ns,
                        gboolean  forward,
                        GError  **error)
{
  gboolean injected = forward && gpu->injected_fault != VK_SUCCESS;
  VkResult result;

  if (!sm_gpu_check_alive (gpu, error)
      || !sm_gpu_check (gpu->vk.vkEndCommandBuffer (gpu->commands), "Recording commands", error))
    return FALSE;
  result = submit_locked (gpu, gpu->commands, gpu->fence);
  /* An injected fault leaves the submission running, unwaited for, as a
   * hung device would: what it uses is kept (see the orphans). */
  if (result == VK_SUCCESS && injected)
    result = gpu->injected_fault;
  else if (result == VK_SUCCESS)
    result = gpu->vk.vkWaitForFences (gpu->device, 1, &gpu->fence, VK_TRUE, timeout_ns);
  return result == VK_SUCCESS || fail_locked (gpu, result, timeout_ns, injected, error);
}

gboolean
sm_gpu_commands_new (SmGpu            *gpu,
                     VkCommandBuffer  *commands,
                     GError          **error)
{
  VkCommandBufferAllocateInfo info = {
    .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
    .commandPool = gpu->command_pool,
    .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
    .commandBufferCount = 1,
  };

  return sm_gpu_check_alive (gpu, error)
         && sm_gpu_check (gpu->vk.vkAllocateCommandBuffers (gpu->device, &info, commands),
                          "Allocating a command buffer", error);
}

void
sm_gpu_commands_free (SmGpu           *gpu,
                      VkCommandBuffer  commands)
{
  /* A hung submission may still run them: they go with the pool, after
   * sm_gpu_free() has waited for the device. */
  if (!gpu->lost)
    gpu->vk.vkFreeCommandBuffers (gpu->device, gpu->command_pool, 1, &commands);
}

gboolean
sm_gpu_fence_new (SmGpu    *gpu,
                  VkFence  *fence,
                  GError  **error)
{
  VkFenceCreateInfo info = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };

  return sm_gpu_check (gpu->vk.vkCreateFence (gpu->device, &info, NULL, fence), "Creating a fence", error);
}

void
sm_gpu_fence_retire (SmGpu   *gpu,
                     VkFence  fence)
{
  if (fence == VK_NULL_HANDLE)
    return;
  if (gpu->lost)
    g_array_append_val (gpu->orphan_fences, fence);
  else
    gpu->vk.vkDestroyFence (gpu->device, fence, NULL);
}

gboolean
sm_gpu_submit (SmGpu            *gpu,
               VkCommandBuffer   commands,
               VkFence           fence,
               GError          **error)
{
  VkResult result;

  /* The queue is the one thing lanes share: the lock covers the
   * submission, not the wait. */
  g_mutex_lock (&gpu->lock);
  if (!sm_gpu_check_alive (gpu, error))
    {
      g_mutex_unlock (&gpu->lock);
      return FALSE;
    }
  result = submit_locked (gpu, commands, fence);
  if (result != VK_SUCCESS)
    fail_locked (gpu, result, 0, FALSE, error);
  g_mutex_unlock (&gpu->lock);
  return result == VK_SUCCESS;
}

gboolean
sm_gpu_wait (SmGpu            *gpu,
             VkFence           fence,
             guint64           timeout_ns,
             gboolean          forward,
             GError          **error)
{
  gboolean injected = forward && gpu->injected_fault != VK_SUCCESS;
  VkResult result = injected ? gpu->injected_fault
                             : gpu->vk.vkWaitForFences (gpu->device, 1, &fence, VK_TRUE, timeout_ns);

  if (result == VK_SUCCESS)
    return TRUE;
  g_mutex_lock (&gpu->lock);
  fail_locked (gpu, result, timeout_ns, injected, error);
  g_mutex_unlock (&gpu->lock);
  return FALSE;
}

void
sm_gpu_barrier (SmGpu                *gpu,
                VkCommandBuffer       commands,
                VkPipelineStageFlags  src_stage,
                VkAccessFlags         src_access,
                VkPipelineStageFlags  dst_stage,
                VkAccessFlags         dst_access)
{
  VkMemoryBarrier barrier = {
    .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
    .srcAccessMask = src_access,
    .dstAccessMask = dst_access,
  };

  gpu->vk.vkCmdPipelineBarrier (commands, src_stage, dst_stage, 0, 1, &barrier, 0, NULL, 0, NULL);
}
