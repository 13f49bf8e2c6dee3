/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "sm-gpu.h"
#include "sm-vk.h"

G_BEGIN_DECLS

/* Where the SPIR-V lies among the resources. */
#define SM_GPU_SHADER_PREFIX "/io/github/synmesh/SynapticMesh/gpu/"

/* The GEMM shader's tilings (its specialisation constants), 16 deep, 256
 * invocations each: 64×64 tiles of C with 4×4 outputs per invocation, and
 * 128×128 with 8×8, which reads shared memory half as often per FMA but
 * cuts a product into a quarter as many workgroups.  The large one serves
 * products that still make enough workgroups of it to occupy the device:
 * how many is measured per device (sm-gpu-tiles.c), SM_GPU_LARGE_MIN_GROUPS
 * until then.  SM_GPU_TILES=small or large forces one (for tests, and to
 * compare them on a device). */
#define SM_GPU_TILE_K          16u
#define SM_GPU_SMALL_TILE      64u
#define SM_GPU_SMALL_WORK      4u
#define SM_GPU_LARGE_TILE      128u
#define SM_GPU_LARGE_WORK      8u
#define SM_GPU_LARGE_MIN_GROUPS 128u
/* The tensor-core GEMM's tile (sm-gemm-coop.comp). */
#define SM_GPU_COOP_TILE       64u
/* A forward pass not done by then is taken as a hung device (SM_GPU_TIMEOUT_MS
 * changes it: a slow device may need longer, a test much less).  Uploading
 * a model's weights may take longer: it gets at least a minute. */
#define SM_GPU_TIMEOUT_NS        (G_GUINT64_CONSTANT (10) * 1000000000u)
#define SM_GPU_UPLOAD_TIMEOUT_NS (G_GUINT64_CONSTANT (60) * 1000000000u)
/* Timestamps per submission: one before the first dispatch, one after each. */
#define SM_GPU_MAX_TIMESTAMPS  64u
/* Forwards of one model in flight at once: each batch takes a lane (its
 * own buffers, descriptor sets, recorded commands, fence and timestamps),
 * so that workers prepare and wait for theirs while the GPU runs others;
 * a worker keeps two in flight (it prepares its next batch while the GPU
 * runs the last), so eight serve four workers.  More wait for a free one.
 * The one-off submissions (uploads, the ceiling) use timestamps after the
 * lanes'. */
#define SM_GPU_LANES           8u

/* The shaders' push constants (data/shaders/sm-args.glsl), in order. */
typedef struct
{
  guint32 m, n, k, lda, ldc;
  guint32 w_offset, bias_offset, has_bias;
  guint32 act;
  float   alpha;
} SmGpuArgs;

/* What a buffer is for, which says where it goes; all but DEVICE stay
 * mapped. */
typedef enum
{
  SM_GPU_MEMORY_DEVICE,    /* the device's own: weights, activations */
  SM_GPU_MEMORY_HOST,      /* large, written once by the host (the weights on their way) */
  SM_GPU_MEMORY_UPLOAD,    /* written by the host for every batch, read by the device */
  SM_GPU_MEMORY_READBACK,  /* written by the device for every batch, read by the host */
} SmGpuMemory;

typedef struct
{
  VkBuffer       buffer;
  VkDeviceMemory memory;
  VkDeviceSize   size;
  void          *mapped;   /* host-visible buffers stay mapped */
  VkMemoryPropertyFlags properties;   /* of the memory it got */
} SmGpuBuffer;

struct _SmGpu
{
  SmVk                             vk;
  VkInstance                       instance;
  VkPhysicalDevice                 physical;
  VkDevice                         device;
  VkQueue                          queue;
  guint32                          queue_family;
  VkPhysicalDeviceMemoryProperties memory;
  VkDeviceSize                     max_storage_range;
  SmGpuInfo                        info;

  VkDescriptorSetLayout            set_layout;
  VkPipelineLayout                 pipeline_layout;
  VkPipeline                       gemm;         /* 64×64 tiles */
  VkPipeline                       gemm_large;   /* 128×128 tiles; VK_NULL_HANDLE where they do not fit */
  guint                            large_from_groups; /* large tiles from this many of them on; G_MAXUINT: never; under lock */
  gboolean                         copy_in;      /* SM_GPU_STAGING=copy: batches are copied in even from device memory */
  VkPipeline                       softmax;
  VkPipeline                       peak;         /* sm-peak.comp: the FP32 ceiling */
  VkPipeline                       gemm_coop;    /* sm-gemm-coop.comp; VK_NULL_HANDLE without tensor cores */
  VkPipeline                       peak_coop;    /* sm-peak-coop.comp: their ceiling; the same */
  VkCommandPool                    command_pool;
  VkCommandBuffer                  commands;
  VkFence                          fence;
  VkQueryPool                      timestamps;   /* VK_NULL_HANDLE when the queue keeps none */

  guint64                          timeout_ns;
  /* SM_GPU_FAULT: what every forward pass's wait ends in instead of its
   * result (VK_TIMEOUT for "hang", VK_ERROR_DEVICE_LOST for "lost"), so
   * that tests of a failing GPU hold on a fast one; VK_SUCCESS normally. */
  VkResult                         injected_fault;
  GArray                          *orphans;      /* SmGpuBuffer a hung submission may still use */
  GArray                          *orphan_pools; /* VkDescriptorPool, the same */
  GArray                          *orphan_fences; /* VkFence, the same */
  /* The command pool, the queue, buffers made and retired, the one-off
   * command buffer and the lost state: held to record or submit, never
   * while a lane waits for its fence. */
  GMutex                           lock;
  gboolean                         lost;         /* a submission failed or hung: nothing more runs */
  char                            *lost_reason;  /* what happened then, for every later refusal */
};

/* What a device is created with for tensor cores: the cooperative-matrix
 * dialect's extension and the two sm-gemm-coop.comp needs, their features
 * chained from @coop (the KHR structure has the NV one's members), and the
 * shader built for that dialect. */
typedef struct
{
  const char                                 *extensions[3];
  VkPhysicalDeviceCooperativeMatrixFeaturesNV coop;
  VkPhysicalDeviceShaderFloat16Int8Features   f16;
  VkPhysicalDeviceVulkanMemoryModelFeatures   memory;
  const char                                 *shader;       /* the GEMM's SPIR-V */
  const char                                 *peak_shader;  /* the ceiling's */
} SmGpuMatrixSetup;

/* Before the device is made: whether it can run the tensor-core GEMM, in
 * the KHR or the NV dialect, saying what was found in the info either
 * way; fills @setup when it can. */
gboolean   sm_gpu_matrix_cores_probe  (SmGpu                  *gpu,
                                       SmGpuMatrixSetup       *setup);
/* Adds @setup's extensions and features to @device_info. */
void       sm_gpu_matrix_cores_enable (SmGpuMatrixSetup       *setup,
                                       VkDeviceCreateInfo     *device_info);
/* Once the device is made: builds the tensor-core GEMM and checks it
 * against the FP32 one; a failure turns it off, saying why in the info, and
 * leaves the backend as it was. */
void       sm_gpu_matrix_cores_create (SmGpu                  *gpu,
                                       const SmGpuMatrixSetup *setup);

gboolean   sm_gpu_create_pipeline (SmGpu                      *gpu,
                                   const char                 *shader,
                                   const VkSpecializationInfo *specialization,
                                   VkPipeline                 *pipeline,
                                   GError                    **error);
/* Under @gpu->lock: the GEMM pipeline for an @m × @n product, and its tile
 * side: the tensor-core one for a @reduced precision model where there is
 * one, else the @forced tile side (0: the device's rule). */
VkPipeline sm_gpu_gemm_for        (SmGpu            *gpu,
                                   guint             m,
                                   guint             n,
                                   gboolean          reduced,
                                   guint             forced,
                                   guint            *tile);
/* Makes @model's products run in @tile-wide tiles (0: the device's rule
 * again), for the tile sweep.  Not while a forward runs. */
void       sm_gpu_model_force_tile (SmGpuModel      *model,
                                    guint            tile);
/* Runs a random product through the tensor-core GEMM and the FP32 one;
 * FALSE, saying how far apart they were, when they disagree. */
gboolean   sm_gpu_check_matrix_cores (SmGpu      *gpu,
                                      GError    **error);

/* FALSE, with @what and the result's name in @error, unless VK_SUCCESS. */
gboolean sm_gpu_check            (VkResult          result,
                                  const char       *what,
                                  GError          **error);
gboolean sm_gpu_buffer_create    (SmGpu            *gpu,
                                  VkDeviceSize      size,
                                  VkBufferUsageFlags usage,
                                  SmGpuMemory       memory,
                                  SmGpuBuffer      *buffer,
                                  GError          **error);
/* The memory types a buffer of @memory's kind may go in (among @allowed,
 * a bit per type), best first, into @types; returns how many. */
#define SM_GPU_MEMORY_CANDIDATES 2
guint    sm_gpu_memory_candidates (const VkPhysicalDeviceMemoryProperties *properties,
                                   guint32                                 allowed,
                                   SmGpuMemory                             memory,
                                   int                                     types[SM_GPU_MEMORY_CANDIDATES]);
/* Where a buffer of @memory's kind goes on this device, in words. */
const char *sm_gpu_memory_describe (SmGpu          *gpu,
                                    SmGpuMemory     memory);
void     sm_gpu_buffer_destroy   (SmGpu            *gpu,
                                  SmGpuBuffer      *buffer);
/* Destroys @buffer, or once the device is lost keeps it until sm_gpu_free()
 * has waited for the device: a hung submission may still read it. */
void     sm_gpu_buffer_retire    (SmGpu            *gpu,
                                  SmGpuBuffer      *buffer);
/* FALSE, saying so, once a submission failed or hung. */
gboolean sm_gpu_check_alive      (SmGpu            *gpu,
                                  GError          **error);
/* Under @gpu->lock: starts recording the one-off command buffer. */
gboolean sm_gpu_begin            (SmGpu            *gpu,
                                  GError          **error);
/* Under @gpu->lock: submits what was recorded since sm_gpu_begin() and
 * waits for it, at most @timeout_ns; a failure or a timeout marks the device
 * lost.  A @forward pass (not an upload) ends in the injected fault, if any. */
gboolean sm_gpu_submit_and_wait  (SmGpu            *gpu,
                                  guint64           timeout_ns,
                                  gboolean          forward,
                                  GError          **error);
/* Under @gpu->lock: a command buffer of its own, to record once and run
 * many times; freed with sm_gpu_commands_free(). */
gboolean sm_gpu_commands_new     (SmGpu            *gpu,
                                  VkCommandBuffer  *commands,
                                  GError          **error);
void     sm_gpu_commands_free    (SmGpu            *gpu,
                                  VkCommandBuffer   commands);
gboolean sm_gpu_fence_new        (SmGpu            *gpu,
                                  VkFence          *fence,
                                  GError          **error);
/* Under @gpu->lock: destroys @fence, or keeps it until sm_gpu_free() once
 * the device is lost. */
void     sm_gpu_fence_retire     (SmGpu            *gpu,
                                  VkFence           fence);
/* Not under @gpu->lock (it takes it): submits @commands, recorded and
 * ended, to signal @fence; a failure marks the device lost. */
gboolean sm_gpu_submit           (SmGpu            *gpu,
                                  VkCommandBuffer   commands,
                                  VkFence           fence,
                                  GError          **error);
/* Not under @gpu->lock: waits for @fence, at most @timeout_ns, as
 * sm_gpu_submit_and_wait() does; a @forward pass's wait ends in the
 * injected fault, if any.  Lanes wait side by side. */
gboolean sm_gpu_wait             (SmGpu            *gpu,
                                  VkFence           fence,
                                  guint64           timeout_ns,
                                  gboolean          forward,
                                  GError          **error);
/* A barrier in @commands making @src_access in @src_stage visible to
 * @dst_access in @dst_stage, for every buffer. */
void     sm_gpu_barrier          (SmGpu            *gpu,
                                  VkCommandBuffer   commands,
                                  VkPipelineStageFlags src_stage,
                                  VkAccessFlags     src_access,
                                  VkPipelineStageFlags dst_stage,
                                  VkAccessFlags     dst_access);

G_END_DECLS
