/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "sm-gpu.h"
#include "sm-vk.h"

G_BEGIN_DECLS

/* The GEMM shader's tiling (its specialisation constants): 64×64 tiles of
 * C, 4×4 outputs per invocation (256 invocations), 16 deep. */
#define SM_GPU_TILE            64u
#define SM_GPU_WORK_PER_THREAD 4u
#define SM_GPU_TILE_K          16u
/* A forward pass not done by then is taken as a hung device (SM_GPU_TIMEOUT_MS
 * changes it: a slow device may need longer, a test much less).  Uploading
 * a model's weights may take longer: it gets at least a minute. */
#define SM_GPU_TIMEOUT_NS        (G_GUINT64_CONSTANT (10) * 1000000000u)
#define SM_GPU_UPLOAD_TIMEOUT_NS (G_GUINT64_CONSTANT (60) * 1000000000u)
/* Timestamps per submission: one before the first dispatch, one after each. */
#define SM_GPU_MAX_TIMESTAMPS  64u

/* The shaders' push constants (data/shaders/sm-args.glsl), in order. */
typedef struct
{
  guint32 m, n, k, lda, ldc;
  guint32 w_offset, bias_offset, has_bias;
  guint32 act;
  float   alpha;
} SmGpuArgs;

typedef struct
{
  VkBuffer       buffer;
  VkDeviceMemory memory;
  VkDeviceSize   size;
  void          *mapped;   /* host-visible buffers stay mapped */
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
  VkPipeline                       gemm;
  VkPipeline                       softmax;
  VkPipeline                       peak;         /* sm-peak.comp: the FP32 ceiling */
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
  GMutex                           lock;         /* one recording and submission at a time */
  gboolean                         lost;         /* a submission failed or hung: nothing more runs */
  char                            *lost_reason;  /* what happened then, for every later refusal */
};

/* FALSE, with @what and the result's name in @error, unless VK_SUCCESS. */
gboolean sm_gpu_check            (VkResult          result,
                                  const char       *what,
                                  GError          **error);
gboolean sm_gpu_buffer_create    (SmGpu            *gpu,
                                  VkDeviceSize      size,
                                  VkBufferUsageFlags usage,
                                  gboolean          host_visible,
                                  SmGpuBuffer      *buffer,
                                  GError          **error);
void     sm_gpu_buffer_destroy   (SmGpu            *gpu,
                                  SmGpuBuffer      *buffer);
/* Destroys @buffer, or once the device is lost keeps it until sm_gpu_free()
 * has waited for the device: a hung submission may still read it. */
void     sm_gpu_buffer_retire    (SmGpu            *gpu,
                                  SmGpuBuffer      *buffer);
/* FALSE, saying so, once a submission failed or hung. */
gboolean sm_gpu_check_alive      (SmGpu            *gpu,
                                  GError          **error);
/* Under @gpu->lock: starts recording the command buffer. */
gboolean sm_gpu_begin            (SmGpu            *gpu,
                                  GError          **error);
/* Under @gpu->lock: submits what was recorded and waits for it, at most
 * @timeout_ns; a failure or a timeout marks the device lost.  A @forward
 * pass (not an upload) ends in the injected fault, if any. */
gboolean sm_gpu_submit_and_wait  (SmGpu            *gpu,
                                  guint64           timeout_ns,
                                  gboolean          forward,
                                  GError          **error);
/* A barrier making @src_access in @src_stage visible to @dst_access in
 * @dst_stage, for every buffer. */
void     sm_gpu_barrier          (SmGpu            *gpu,
                                  VkPipelineStageFlags src_stage,
                                  VkAccessFlags     src_access,
                                  VkPipelineStageFlags dst_stage,
                                  VkAccessFlags     dst_access);

G_END_DECLS
