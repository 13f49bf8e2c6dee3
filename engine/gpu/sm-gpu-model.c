/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <math.h>
#include <string.h>

#include "sm-error.h"
#include "sm-gpu-private.h"
#include "sm-simd.h"

/* A model on the device: every expert's packed weights and biases in one
 * device-local buffer (uploaded once), two device-local activation buffers
 * the layers ping-pong between, and two mapped staging buffers: one the
 * batch goes in through (device memory the host maps, where there is some),
 * one its answer comes back through (cached host memory, where there is
 * some: the host reads it).  The buffers grow with the largest batch seen
 * and are never allocated per call.
 *
 * A forward pass is recorded once per expert and batch size class
 * (forward_rows()) and resubmitted as it is: the host then only copies the
 * batch in, submits, waits and copies the answer out, with no command
 * recorded per call.  A class rounds the batch up, and the rows past the
 * batch are computed for nothing: powers of two up to 64, then multiples of
 * 64, so that at most 64 rows, or half of a small batch, are spare. */

typedef struct
{
  SmLayerShape shape;
  guint32      w_offset;      /* floats into the weights buffer */
  guint32      bias_offset;
} GpuLayer;

typedef struct
{
  guint     n_layers;         /* 0: no expert at this index */
  GpuLayer *layers;
} GpuExpert;

/* The descriptor sets of a lane: which buffer a layer reads and which it
 * writes.  The layers ping-pong; the first reads the batch straight from
 * the upload buffer where that is device memory (else it is copied into
 * ping first), and the last writes the answer straight into the readback
 * buffer, so that a forward has no copy commands.  PING_TO_PONG is also
 * the ceiling's. */
typedef enum
{
  PING_TO_PONG,
  PONG_TO_PING,
  UPLOAD_TO_PONG,
  PING_TO_READBACK,
  PONG_TO_READBACK,
  UPLOAD_TO_READBACK,
  N_SETS
} FlowSet;

/* One forward in flight (see SM_GPU_LANES): its activation and staging
 * buffers, the sets binding them, the forwards recorded for them, the fence
 * it waits on and its timestamps. */
typedef struct
{
  guint            index;           /* its timestamps start at index × SM_GPU_MAX_TIMESTAMPS */
  SmGpuBuffer      ping, pong;      /* activations, capacity × max_width floats each */
  SmGpuBuffer      upload, readback; /* the batch in, its answer out */
  guint            capacity;        /* rows the activation and staging buffers hold */
  VkDescriptorSet  sets[N_SETS];    /* a layer's input → output (FlowSet) */
  GHashTable      *recorded;        /* forward_key () → VkCommandBuffer, for these buffers */
  VkFence          fence;
  /* The forward in flight in it (an SmGpuForward is its lane). */
  SmGpuModel      *model;
  const GpuExpert *expert;
  guint            batch;
  gint64           start;
} GpuLane;

struct _SmGpuModel
{
  SmGpu           *gpu;
  GpuExpert       *experts;
  guint            n_experts;
  guint            max_width;       /* the widest row a layer reads or writes */
  SmGpuBuffer      weights;
  VkDescriptorPool pool;
  gboolean         reduced;         /* products may run in fp16 (sm_gpu_model_set_reduced_precision()) */
  guint            forced_tile;     /* sm_gpu_model_force_tile(); 0: the device's rule */
  gboolean         copy_out;        /* sm_gpu_model_copy_answers() */
  GpuLane          lanes[SM_GPU_LANES];
  GMutex           lanes_lock;
  GCond            lane_freed;
  guint32          lanes_busy;      /* bit l: lane l runs a forward, under lanes_lock */
};

/* Takes a free lane, waiting for one if all are busy. */
static GpuLane *
take_lane (SmGpuModel *model)
{
  guint l;

  g_mutex_lock (&model->lanes_lock);
  while (model->lanes_busy == (1u << SM_GPU_LANES) - 1)
    g_cond_wait (&model->lane_freed, &model->lanes_lock);
  l = (guint) __builtin_ctz (~model->lanes_busy);
  model->lanes_busy |= 1u << l;
  g_mutex_unlock (&model->lanes_lock);
  return &model->lanes[l];
}

static void
give_lane (SmGpuModel *model,
           GpuLane    *lane)
{
  g_mutex_lock (&model->lanes_lock);
  model->lanes_busy &= ~(1u << lane->index);
  g_cond_signal (&model->lane_freed);
  g_mutex_unlock (&model->lanes_lock);
}

/* The rows a forward of @batch is recorded for (see above). */
static guint
forward_rows (guint batch)
{
  if (batch <= 1)
    return 1;   /* g_bit_storage (0) is 1 */
  return batch <= 64 ? 1u << g_bit_storage (batch - 1) : (batch + 63) / 64 * 64;
}

static gpointer
forward_key (guint index,
             guint rows)
{
  return GSIZE_TO_POINTER (((gsize) index << 20 | rows) + 1);
}

static void
forget_recorded (SmGpu   *gpu,
                 GpuLane *lane)
{
  GHashTableIter iter;
  gpointer commands;

  g_hash_table_iter_init (&iter, lane->recorded);
  while (g_hash_table_iter_next (&iter, NULL, &commands))
    sm_gpu_commands_free (gpu, (VkCommandBuffer) commands);
  g_hash_table_remove_all (lane->recorded);
}

static gboolean
upload_weights (SmGpuModel        *model,
                SmExpert * const  *experts,
                GError           **error)
{
  SmGpu *gpu = model->gpu;
  SmGpuBuffer staging;
  gsize total = 0;
  gboolean ok;

  /* Offsets first, then one staging copy of everything. */
  for (guint e = 0; e < model->n_experts; e++)
    {
      GpuExpert *expert = &model->experts[e];

      if (experts[e] == NULL)
        continue;
      expert->n_layers = sm_expert_get_n_layers (experts[e]);
      expert->layers = g_new0 (GpuLayer, expert->n_layers);
      for (guint l = 0; l < expert->n_layers; l++)
        {
          GpuLayer *layer = &expert->layers[l];

          layer->shape = *sm_expert_get_layer (experts[e], l);
          layer->w_offset = (guint32) total;
          total += sm_f32_packed_weights_size (layer->shape.in, layer->shape.out);
          layer->bias_offset = (guint32) total;
          total += layer->shape.out;
          model->max_width = MAX (model->max_width, MAX (layer->shape.in, layer->shape.out));
          if (total > G_MAXUINT32)
            {
              g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_NO_MEMORY, _("The model is too large for the GPU path"));
              return FALSE;
            }
        }
    }
  if (total == 0)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT, _("The model has no experts"));
      return FALSE;
    }

  if (!sm_gpu_buffer_create (gpu, total * sizeof (float), VK_BUFFER_USAGE_TRANSFER_SRC_BIT, SM_GPU_MEMORY_HOST,
                             &staging, error))
    return FALSE;
  for (guint e = 0; e < model->n_experts; e++)
    for (guint l = 0; l < model->experts[e].n_layers; l++)
      {
        GpuLayer *layer = &model->experts[e].layers[l];
        /* Weights and biases lie next to each other (their offsets above). */
        sm_expert_copy_packed_layer (experts[e], l, (float *) staging.mapped + layer->w_offset,
                                     (float *) staging.mapped + layer->bias_offset);
      }

  ok = sm_gpu_buffer_create (gpu, total * sizeof (float),
                             VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                             SM_GPU_MEMORY_DEVICE, &model->weights, error);
  if (ok)
    {
      VkBufferCopy copy = { 0, 0, total * sizeof (float) };

      g_mutex_lock (&gpu->lock);
      ok = sm_gpu_begin (gpu, error);
      if (ok)
        {
          gpu->vk.vkCmdCopyBuffer (gpu->commands, staging.buffer, model->weights.buffer, 1, &copy);
          ok = sm_gpu_submit_and_wait (gpu, MAX (gpu->timeout_ns, SM_GPU_UPLOAD_TIMEOUT_NS), FALSE, error);
        }
      g_mutex_unlock (&gpu->lock);
    }
  sm_gpu_buffer_retire (gpu, &staging);
  return ok;
}

/* Every lane's descriptor sets and fence. */
static gboolean
create_lanes (SmGpuModel  *model,
              GError     **error)
{
  SmGpu *gpu = model->gpu;
  VkDescriptorPoolSize size = { VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 3 * N_SETS * SM_GPU_LANES };
  VkDescriptorPoolCreateInfo pool_info = {
    .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
    .maxSets = N_SETS * SM_GPU_LANES,
    .poolSizeCount = 1,
    .pPoolSizes = &size,
  };
  VkDescriptorSetLayout layouts[N_SETS];
  VkDescriptorSetAllocateInfo allocate = {
    .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
    .descriptorSetCount = N_SETS,
    .pSetLayouts = layouts,
  };

  for (guint s = 0; s < N_SETS; s++)
    layouts[s] = gpu->set_layout;

  if (!sm_gpu_check (gpu->vk.vkCreateDescriptorPool (gpu->device, &pool_info, NULL, &model->pool),
                     "Creating a descriptor pool", error))
    return FALSE;
  allocate.descriptorPool = model->pool;
  for (guint l = 0; l < SM_GPU_LANES; l++)
    if (!sm_gpu_check (gpu->vk.vkAllocateDescriptorSets (gpu->device, &allocate, model->lanes[l].sets),
                       "Allocating descriptor sets", error)
        || !sm_gpu_fence_new (gpu, &model->lanes[l].fence, error))
      return FALSE;
  return TRUE;
}

/* Room in @lane for @batch rows; its descriptor sets follow new buffers.
 * Under the device's lock, with nothing of the lane in flight. */
static gboolean
ensure_capacity (SmGpuModel  *model,
                 GpuLane     *lane,
                 guint        batch,
                 GError     **error)
{
  SmGpu *gpu = model->gpu;
  guint rows = MAX (batch, MAX (64, lane->capacity * 2));
  VkDeviceSize bytes;
  VkDescriptorBufferInfo buffers[N_SETS][3];
  VkWriteDescriptorSet writes[N_SETS];

  if (batch <= lane->capacity)
    return TRUE;
  if (!sm_gpu_check_alive (gpu, error))
    return FALSE;
  /* What was recorded names the buffers that go. */
  forget_recorded (gpu, lane);
  sm_gpu_buffer_destroy (gpu, &lane->ping);
  sm_gpu_buffer_destroy (gpu, &lane->pong);
  sm_gpu_buffer_destroy (gpu, &lane->upload);
  sm_gpu_buffer_destroy (gpu, &lane->readback);
  lane->capacity = 0;
  bytes = (VkDeviceSize) rows * model->max_width * sizeof (float);
  if (!sm_gpu_buffer_create (gpu, bytes, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT
                             | VK_BUFFER_USAGE_TRANSFER_DST_BIT, SM_GPU_MEMORY_DEVICE, &lane->ping, error)
      || !sm_gpu_buffer_create (gpu, bytes, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT
                                | VK_BUFFER_USAGE_TRANSFER_DST_BIT, SM_GPU_MEMORY_DEVICE, &lane->pong, error)
      || !sm_gpu_buffer_create (gpu, bytes, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
                                SM_GPU_MEMORY_UPLOAD, &lane->upload, error)
      || !sm_gpu_buffer_create (gpu, bytes, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                SM_GPU_MEMORY_READBACK, &lane->readback, error))
    return FALSE;
  lane->capacity = rows;

  for (guint s = 0; s < N_SETS; s++)
    {
      SmGpuBuffer *from = s == PING_TO_PONG || s == PING_TO_READBACK ? &lane->ping
                          : s == PONG_TO_PING || s == PONG_TO_READBACK ? &lane->pong : &lane->upload;
      SmGpuBuffer *to = s == PONG_TO_PING ? &lane->ping
                        : s == PING_TO_PONG || s == UPLOAD_TO_PONG ? &lane->pong : &lane->readback;

      buffers[s][0] = (VkDescriptorBufferInfo) { from->buffer, 0, VK_WHOLE_SIZE };
      buffers[s][1] = (VkDescriptorBufferInfo) { model->weights.buffer, 0, VK_WHOLE_SIZE };
      buffers[s][2] = (VkDescriptorBufferInfo) { to->buffer, 0, VK_WHOLE_SIZE };
      writes[s] = (VkWriteDescriptorSet) {
        .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
        .dstSet = lane->sets[s],
        .dstBinding = 0,
        .descriptorCount = 3,
        .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
        .pBufferInfo = buffers[s],
      };
    }
  gpu->vk.vkUpdateDescriptorSets (gpu->device, N_SETS, writes, 0, NULL);
  return TRUE;
}

SmGpuModel *
sm_gpu_model_new (SmGpu             *gpu,
                  SmExpert * const  *experts,
                  guint              n_experts,
                  GError           **error)
{
  g_autoptr(SmGpuModel) model = g_new0 (SmGpuModel, 1);

  model->gpu = gpu;
  model->n_experts = n_experts;
  model->experts = g_new0 (GpuExpert, n_experts);
  g_mutex_init (&model->lanes_lock);
  g_cond_init (&model->lane_freed);
  for (guint l = 0; l < SM_GPU_LANES; l++)
    {
      model->lanes[l].index = l;
      model->lanes[l].model = model;
      model->lanes[l].recorded = g_hash_table_new (NULL, NULL);
    }
  if (!upload_weights (model, experts, error) || !create_lanes (model, error))
    return NULL;
  return g_steal_pointer (&model);
}

void
sm_gpu_model_free (SmGpuModel *model)
{
  SmGpu *gpu;

  if (model == NULL)
    return;
  gpu = model->gpu;
  /* Every submission was waited for, unless the device hung: then what it
   * may still use waits for sm_gpu_free(). */
  g_mutex_lock (&gpu->lock);
  for (guint l = 0; l < SM_GPU_LANES; l++)
    {
      GpuLane *lane = &model->lanes[l];

      forget_recorded (gpu, lane);
      sm_gpu_buffer_retire (gpu, &lane->upload);
      sm_gpu_buffer_retire (gpu, &lane->readback);
      sm_gpu_buffer_retire (gpu, &lane->ping);
      sm_gpu_buffer_retire (gpu, &lane->pong);
      sm_gpu_fence_retire (gpu, lane->fence);
      g_hash_table_unref (lane->recorded);
    }
  sm_gpu_buffer_retire (gpu, &model->weights);
  if (model->pool != VK_NULL_HANDLE && gpu->lost)
    g_array_append_val (gpu->orphan_pools, model->pool);
  else if (model->pool != VK_NULL_HANDLE)
    gpu->vk.vkDestroyDescriptorPool (gpu->device, model->pool, NULL);
  g_mutex_unlock (&gpu->lock);
  g_mutex_clear (&model->lanes_lock);
  g_cond_clear (&model->lane_freed);
  for (guint e = 0; e < model->n_experts; e++)
    g_free (model->experts[e].layers);
  g_free (model->experts);
  g_free (model);
}

/* Sets what @model's forwards are recorded with: the GEMM pipelines
 * (@reduced, @forced_tile) and where the answer goes (@copy_out); what was
 * recorded with other choices is forgotten. */
static void
set_recording (SmGpuModel *model,
               gboolean    reduced,
               guint       forced_tile,
               gboolean    copy_out)
{
  SmGpu *gpu = model->gpu;

  if (model->reduced == reduced && model->forced_tile == forced_tile && model->copy_out == copy_out)
    return;
  g_mutex_lock (&gpu->lock);
  for (guint l = 0; l < SM_GPU_LANES; l++)
    forget_recorded (gpu, &model->lanes[l]);
  model->reduced = reduced;
  model->forced_tile = forced_tile;
  model->copy_out = copy_out;
  g_mutex_unlock (&gpu->lock);
}

/* The same, for the GEMM pipelines only. */
static void
choose_gemm (SmGpuModel *model,
             gboolean    reduced,
             guint       forced_tile)
{
  set_recording (model, reduced, forced_tile, model->copy_out);
}

void
sm_gpu_model_copy_answers (SmGpuModel *model)
{
  set_recording (model, model->reduced, model->forced_tile, TRUE);
}

void
sm_gpu_model_force_tile (SmGpuModel *model,
                         guint       tile)
{
  choose_gemm (model, model->reduced, tile);
}

/* The tensor cores' checks: a random batch through the tensor-core GEMM
 * and the FP32 one must agree within CHECK_NMSE.  fp16 keeps 11 bits (its
 * error on values of unit size is some 1e-7 of the signal's power) but
 * only ±65504: weights or activations beyond that would be silently wrong,
 * so every model is checked before its products go to the tensor cores. */
#define CHECK_ROWS 70
#define CHECK_NMSE 1e-5

/* Expert @index of @model on @x (CHECK_ROWS rows) through both GEMMs;
 * FALSE, saying how far apart they were, when they disagree.  Leaves the
 * model on the FP32 GEMM. */
static gboolean
agrees_in_fp16 (SmGpuModel  *model,
                guint        index,
                const float *x,
                GError     **error)
{
  const GpuExpert *expert = &model->experts[index];
  guint out = expert->layers[expert->n_layers - 1].shape.out;
  g_autofree float *fp32 = g_new (float, (gsize) CHECK_ROWS * out);
  g_autofree float *fp16 = g_new (float, (gsize) CHECK_ROWS * out);
  double err = 0, ref = 0;
  gboolean ok;

  choose_gemm (model, FALSE, model->forced_tile);
  if (!sm_gpu_model_forward (model, index, x, CHECK_ROWS, fp32, NULL, error))
    return FALSE;
  choose_gemm (model, TRUE, model->forced_tile);
  ok = sm_gpu_model_forward (model, index, x, CHECK_ROWS, fp16, NULL, error);
  choose_gemm (model, FALSE, model->forced_tile);
  if (!ok)
    return FALSE;
  for (gsize i = 0; i < (gsize) CHECK_ROWS * out; i++)
    {
      err += ((double) fp16[i] - fp32[i]) * ((double) fp16[i] - fp32[i]);
      ref += (double) fp32[i] * fp32[i];
    }
  if (!(err <= CHECK_NMSE * ref))
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_NOT_SUPPORTED,
                   _("the tensor-core GEMM disagreed with the FP32 one on expert %u (NMSE %.2g, bound %.0e)"),
                   index, ref > 0 ? err / ref : err, CHECK_NMSE);
      return FALSE;
    }
  return TRUE;
}

gboolean
sm_gpu_model_set_reduced_precision (SmGpuModel  *model,
                                    gboolean     reduced,
                                    GError     **error)
{
  g_autoptr(GRand) rand = NULL;

  if (!reduced || model->gpu->gemm_coop == VK_NULL_HANDLE)
    {
      choose_gemm (model, !!reduced, model->forced_tile);
      return TRUE;
    }
  if (model->reduced)
    return TRUE;
  rand = g_rand_new_with_seed (23);
  for (guint e = 0; e < model->n_experts; e++)
    if (model->experts[e].n_layers > 0)
      {
        guint in = model->experts[e].layers[0].shape.in;
        g_autofree float *x = g_new (float, (gsize) CHECK_ROWS * in);

        for (gsize i = 0; i < (gsize) CHECK_ROWS * in; i++)
          x[i] = (float) g_rand_double_range (rand, -1, 1);
        if (!agrees_in_fp16 (model, e, x, error))
          return FALSE;
      }
  choose_gemm (model, TRUE, model->forced_tile);
  return TRUE;
}

/* A 70 × 96 → 80 product with a leaky ReLU: odd edges on every side of the
 * 64-wide tiles. */
#define CHECK_IN   96
#define CHECK_OUT  80

gboolean
sm_gpu_check_matrix_cores (SmGpu   *gpu,
                           GError **error)
{
  SmLayerShape shape = { .in = CHECK_IN, .out = CHECK_OUT, .act = { SM_ACT_LEAKY_RELU, 0.1f } };
  g_autoptr(GRand) rand = g_rand_new_with_seed (17);
  g_autoptr(SmPool) pool = sm_pool_new (4 * 1024 * 1024, NULL);
  g_autoptr(SmExpert) expert = NULL;
  g_autoptr(SmGpuModel) model = NULL;
  g_autofree float *weights = g_new (float, CHECK_IN * CHECK_OUT);
  g_autofree float *x = g_new (float, CHECK_ROWS * CHECK_IN);
  float bias[CHECK_OUT];
  const float *w = weights, *b = bias;

  for (guint i = 0; i < CHECK_IN * CHECK_OUT; i++)
    weights[i] = (float) g_rand_double_range (rand, -0.1, 0.1);
  for (guint i = 0; i < CHECK_OUT; i++)
    bias[i] = (float) g_rand_double_range (rand, -0.5, 0.5);
  for (guint i = 0; i < CHECK_ROWS * CHECK_IN; i++)
    x[i] = (float) g_rand_double_range (rand, -1, 1);
  return pool != NULL
         && (expert = sm_expert_new (pool, 1, &shape, &w, &b, error)) != NULL
         && (model = sm_gpu_model_new (gpu, &expert, 1, error)) != NULL
         && agrees_in_fp16 (model, 0, x, error);
}

/* Where lane @index's timestamps start (SM_GPU_LANES: the one-off
 * submissions'). */
static guint
first_stamp (guint index)
{
  return index * SM_GPU_MAX_TIMESTAMPS;
}

/* Records the expert's layers into @commands: a GEMM with its bias and
 * activation per layer (softmax as a second dispatch over whole rows), a
 * barrier between each. */
/* Whether @lane's first layer reads the batch where the host wrote it:
 * only from device memory (from host memory every workgroup would read it
 * across the bus again), and not when SM_GPU_STAGING=copy says otherwise
 * (to test the copy on any device). */
static gboolean
direct_in (const SmGpu   *gpu,
           const GpuLane *lane)
{
  return !gpu->copy_in && (lane->upload.properties & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT) != 0;
}

/* What layer @l of @n reads and writes. */
static FlowSet
layer_flow (guint    l,
            guint    n,
            gboolean from_upload,
            gboolean to_readback)
{
  gboolean last = l + 1 == n && to_readback;

  if (l == 0 && from_upload)
    return last ? UPLOAD_TO_READBACK : UPLOAD_TO_PONG;
  if (l % 2 == 0)
    return last ? PING_TO_READBACK : PING_TO_PONG;
  return last ? PONG_TO_READBACK : PONG_TO_PING;
}

static void
record_layers (SmGpuModel      *model,
               const GpuLane   *lane,
               VkCommandBuffer  commands,
               const GpuExpert *expert,
               guint            rows)
{
  SmGpu *gpu = model->gpu;
  guint first = first_stamp (lane->index), stamps = 0;

  if (gpu->timestamps != VK_NULL_HANDLE)
    gpu->vk.vkCmdWriteTimestamp (commands, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, gpu->timestamps, first + stamps++);
  for (guint l = 0; l < expert->n_layers; l++)
    {
      const GpuLayer *layer = &expert->layers[l];
      gboolean softmax = layer->shape.act.kind == SM_ACT_SOFTMAX;
      VkPipeline gemm;
      guint tile;
      SmGpuArgs args = {
        .m = rows, .n = layer->shape.out, .k = layer->shape.in,
        .lda = layer->shape.in, .ldc = layer->shape.out,
        .w_offset = layer->w_offset, .bias_offset = layer->bias_offset, .has_bias = 1,
        .act = softmax ? SM_ACT_IDENTITY : layer->shape.act.kind,
        .alpha = layer->shape.act.alpha,
      };

      gpu->vk.vkCmdBindDescriptorSets (commands, VK_PIPELINE_BIND_POINT_COMPUTE, gpu->pipeline_layout, 0, 1,
                                       &lane->sets[layer_flow (l, expert->n_layers, direct_in (gpu, lane), !model->copy_out)], 0, NULL);
      gpu->vk.vkCmdPushConstants (commands, gpu->pipeline_layout, VK_SHADER_STAGE_COMPUTE_BIT, 0,
                                  sizeof args, &args);
      gemm = sm_gpu_gemm_for (gpu, rows, layer->shape.out, model->reduced, model->forced_tile, &tile);
      gpu->vk.vkCmdBindPipeline (commands, VK_PIPELINE_BIND_POINT_COMPUTE, gemm);
      gpu->vk.vkCmdDispatch (commands, (layer->shape.out + tile - 1) / tile, (rows + tile - 1) / tile, 1);
      if (softmax)
        {
          sm_gpu_barrier (gpu, commands, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
                          VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
          gpu->vk.vkCmdBindPipeline (commands, VK_PIPELINE_BIND_POINT_COMPUTE, gpu->softmax);
          gpu->vk.vkCmdDispatch (commands, rows, 1, 1);
        }
      if (gpu->timestamps != VK_NULL_HANDLE && stamps < SM_GPU_MAX_TIMESTAMPS)
        gpu->vk.vkCmdWriteTimestamp (commands, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, gpu->timestamps, first + stamps++);
      /* The next layer reads what this one wrote; after the last, the
       * host does, or the copy out. */
      if (l + 1 < expert->n_layers)
        sm_gpu_barrier (gpu, commands, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
                        VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_READ_BIT);
      else if (model->copy_out)
        sm_gpu_barrier (gpu, commands, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
                        VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_READ_BIT);
      else
        sm_gpu_barrier (gpu, commands, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
                        VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
    }
}

/* The timestamps a forward of @expert writes (see record_layers()). */
static guint
forward_stamps (const GpuExpert *expert)
{
  return MIN (1 + expert->n_layers, SM_GPU_MAX_TIMESTAMPS);
}

/* The forward of expert @index for @rows rows (a forward_rows() class):
 * recorded at its first use, then resubmitted.  Under the device's lock,
 * with the buffers holding @rows. */
static VkCommandBuffer
recorded_forward (SmGpuModel  *model,
                  GpuLane     *lane,
                  guint        index,
                  guint        rows,
                  GError     **error)
{
  SmGpu *gpu = model->gpu;
  const GpuExpert *expert = &model->experts[index];
  VkBufferCopy copy_in = { 0, 0, (VkDeviceSize) rows * expert->layers[0].shape.in * sizeof (float) };
  VkBufferCopy copy_out = { 0, 0, (VkDeviceSize) rows * expert->layers[expert->n_layers - 1].shape.out * sizeof (float) };
  /* With a copy out, the answer is in whichever buffer the last layer wrote. */
  SmGpuBuffer *result = expert->n_layers % 2 == 1 ? &lane->pong : &lane->ping;
  VkCommandBufferBeginInfo begin = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO };
  VkCommandBuffer commands = g_hash_table_lookup (lane->recorded, forward_key (index, rows));

  if (commands != NULL)
    return commands;
  if (!sm_gpu_commands_new (gpu, &commands, error))
    return NULL;
  if (!sm_gpu_check (gpu->vk.vkBeginCommandBuffer (commands, &begin), "Recording commands", error))
    {
      sm_gpu_commands_free (gpu, commands);
      return NULL;
    }
  if (gpu->timestamps != VK_NULL_HANDLE)
    gpu->vk.vkCmdResetQueryPool (commands, gpu->timestamps, first_stamp (lane->index), SM_GPU_MAX_TIMESTAMPS);
  if (!direct_in (gpu, lane))
    {
      gpu->vk.vkCmdCopyBuffer (commands, lane->upload.buffer, lane->ping.buffer, 1, &copy_in);
      sm_gpu_barrier (gpu, commands, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                      VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_READ_BIT);
    }
  record_layers (model, lane, commands, expert, rows);
  if (model->copy_out)
    {
      gpu->vk.vkCmdCopyBuffer (commands, result->buffer, lane->readback.buffer, 1, &copy_out);
      sm_gpu_barrier (gpu, commands, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                      VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
    }
  if (!sm_gpu_check (gpu->vk.vkEndCommandBuffer (commands), "Recording commands", error))
    {
      sm_gpu_commands_free (gpu, commands);
      return NULL;
    }
  g_hash_table_insert (lane->recorded, forward_key (index, rows), commands);
  return commands;
}

/* The dispatches' span from @stamps timestamps from @first on: into
 * @timing, or NaN and zeros without them. */
static void
read_dispatch_times (SmGpu       *gpu,
                     guint        first,
                     guint        stamps,
                     SmGpuTiming *timing)
{
  guint64 ticks[SM_GPU_MAX_TIMESTAMPS];

  timing->dispatch_us = NAN;
  timing->device_start_ns = timing->device_end_ns = 0;
  if (gpu->timestamps == VK_NULL_HANDLE || stamps < 2
      || gpu->vk.vkGetQueryPoolResults (gpu->device, gpu->timestamps, first, stamps, sizeof ticks, ticks, sizeof ticks[0],
                                        VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT) != VK_SUCCESS)
    return;
  timing->device_start_ns = (guint64) ((double) ticks[0] * gpu->info.timestamp_period_ns);
  timing->device_end_ns = (guint64) ((double) ticks[stamps - 1] * gpu->info.timestamp_period_ns);
  timing->dispatch_us = (double) (ticks[stamps - 1] - ticks[0]) * gpu->info.timestamp_period_ns / 1e3;
}

/* Takes a free lane, or NULL when all are busy. */
static GpuLane *
try_take_lane (SmGpuModel *model)
{
  GpuLane *lane = NULL;

  g_mutex_lock (&model->lanes_lock);
  if (model->lanes_busy != (1u << SM_GPU_LANES) - 1)
    {
      guint l = (guint) __builtin_ctz (~model->lanes_busy);

      model->lanes_busy |= 1u << l;
      lane = &model->lanes[l];
    }
  g_mutex_unlock (&model->lanes_lock);
  return lane;
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
  SmGpu *gpu = model->gpu;
  const GpuExpert *expert = index < model->n_experts ? &model->experts[index] : NULL;
  gint64 start = g_get_monotonic_time ();
  VkCommandBuffer commands = NULL;
  GpuLane *lane;
  gboolean ok;

  *forward = NULL;
  if (expert == NULL || expert->n_layers == 0 || batch == 0)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT,
                   batch == 0 ? _("An empty batch for the GPU") : _("No expert %u on the GPU"), index);
      return FALSE;
    }
  lane = wait_for_lane ? take_lane (model) : try_take_lane (model);
  if (lane == NULL)
    return TRUE;

  /* Recording takes the device's lock; the copies and the wait need only
   * the lane, so other workers' batches run meanwhile. */
  g_mutex_lock (&gpu->lock);
  ok = ensure_capacity (model, lane, forward_rows (batch), error)
       && (commands = recorded_forward (model, lane, index, forward_rows (batch), error)) != NULL;
  g_mutex_unlock (&gpu->lock);
  if (ok)
    {
      memcpy (lane->upload.mapped, input, (gsize) batch * expert->layers[0].shape.in * sizeof (float));
      ok = sm_gpu_submit (gpu, commands, lane->fence, error);
    }
  if (!ok)
    {
      give_lane (model, lane);
      return FALSE;
    }
  lane->expert = expert;
  lane->batch = batch;
  lane->start = start;
  *forward = (SmGpuForward *) lane;
  return TRUE;
}

gboolean
sm_gpu_forward_finish (SmGpuForward  *forward,
                       float         *output,
                       SmGpuTiming   *timing,
                       GError       **error)
{
  GpuLane *lane = (GpuLane *) forward;
  SmGpuModel *model = lane->model;
  SmGpu *gpu = model->gpu;
  const GpuExpert *expert = lane->expert;
  guint out = expert->layers[expert->n_layers - 1].shape.out;
  gboolean ok = sm_gpu_wait (gpu, lane->fence, gpu->timeout_ns, TRUE, error);

  if (ok)
    memcpy (output, lane->readback.mapped, (gsize) lane->batch * out * sizeof (float));
  if (ok && timing != NULL)
    {
      read_dispatch_times (gpu, first_stamp (lane->index), forward_stamps (expert), timing);
      timing->dispatches = expert->n_layers;
      for (guint l = 0; l < expert->n_layers; l++)
        timing->dispatches += expert->layers[l].shape.act.kind == SM_ACT_SOFTMAX;
    }
  give_lane (model, lane);
  if (ok && timing != NULL)
    timing->total_us = (double) (g_get_monotonic_time () - lane->start);
  return ok;
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
  SmGpuForward *forward;

  if (batch == 0 && index < model->n_experts && model->experts[index].n_layers > 0)
    return TRUE;
  return sm_gpu_model_submit (model, index, input, batch, TRUE, &forward, error)
         && sm_gpu_forward_finish (forward, output, timing, error);
}

/* A ceiling shader's rate (sm-peak.comp, sm-peak-coop.comp): the dispatch
 * grows until it runs for a few milliseconds, then the best of three
 * counts.  Uses a lane's activation buffer for the shader's output,
 * @outputs floats per workgroup; @flop per workgroup and step. */
#define PEAK_MIN_US 2000.0

static gboolean
measure_ceiling (SmGpuModel  *model,
                 VkPipeline   pipeline,
                 guint        outputs,
                 double       flop,
                 guint        max_groups,
                 double      *gflops,
                 GError     **error)
{
  SmGpu *gpu = model->gpu;
  guint groups = 64, steps = 1024, tries = 0, first = first_stamp (SM_GPU_LANES);
  GpuLane *lane;
  gboolean ok = TRUE;
  double best = INFINITY;

  while (ok && tries < 3)
    {
      SmGpuArgs args = { .k = steps, .alpha = 0.999f };
      SmGpuTiming span;
      guint rows = (guint) (((guint64) groups * outputs + model->max_width - 1) / model->max_width);
      gint64 start;
      double us;

      lane = take_lane (model);
      g_mutex_lock (&gpu->lock);
      ok = ensure_capacity (model, lane, rows, error) && sm_gpu_begin (gpu, error);
      if (ok)
        {
          if (gpu->timestamps != VK_NULL_HANDLE)
            {
              gpu->vk.vkCmdResetQueryPool (gpu->commands, gpu->timestamps, first, SM_GPU_MAX_TIMESTAMPS);
              gpu->vk.vkCmdWriteTimestamp (gpu->commands, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, gpu->timestamps, first);
            }
          gpu->vk.vkCmdBindPipeline (gpu->commands, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline);
          gpu->vk.vkCmdBindDescriptorSets (gpu->commands, VK_PIPELINE_BIND_POINT_COMPUTE, gpu->pipeline_layout, 0, 1,
                                           &lane->sets[PING_TO_PONG], 0, NULL);
          gpu->vk.vkCmdPushConstants (gpu->commands, gpu->pipeline_layout, VK_SHADER_STAGE_COMPUTE_BIT, 0,
                                      sizeof args, &args);
          gpu->vk.vkCmdDispatch (gpu->commands, groups, 1, 1);
          if (gpu->timestamps != VK_NULL_HANDLE)
            gpu->vk.vkCmdWriteTimestamp (gpu->commands, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, gpu->timestamps, first + 1);
          start = g_get_monotonic_time ();
          ok = sm_gpu_submit_and_wait (gpu, MAX (gpu->timeout_ns, SM_GPU_UPLOAD_TIMEOUT_NS), FALSE, error);
          read_dispatch_times (gpu, first, 2, &span);
          us = span.dispatch_us;
          if (isnan (us))
            us = (double) (g_get_monotonic_time () - start);
        }
      g_mutex_unlock (&gpu->lock);
      give_lane (model, lane);
      if (!ok)
        break;

      if (us < PEAK_MIN_US && tries == 0)
        {
          if (groups < max_groups)
            groups *= 4;
          else
            steps *= 4;
          continue;
        }
      best = MIN (best, us / ((double) groups * flop * steps));
      tries++;
    }
  if (ok)
    *gflops = 1e-3 / best;
  return ok;
}

gboolean
sm_gpu_model_measure_peak (SmGpuModel  *model,
                           double      *gflops,
                           GError     **error)
{
  /* 256 invocations, eight FMA chains each. */
  return measure_ceiling (model, model->gpu->peak, 256, 256 * 16, 16384, gflops, error);
}

gboolean
sm_gpu_model_measure_matrix_peak (SmGpuModel  *model,
                                  double      *gflops,
                                  GError     **error)
{
  if (model->gpu->peak_coop == VK_NULL_HANDLE)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_NOT_SUPPORTED, _("No tensor cores: %s"),
                   model->gpu->info.matrix_cores_status);
      return FALSE;
    }
  /* Four subgroups, four chains of 16×16×16 products each, storing 4 × 4
   * matrices: 2048 groups' output is 32 MiB. */
  return measure_ceiling (model, model->gpu->peak_coop, 4 * 4 * 256, 4 * 4 * 2.0 * 16 * 16 * 16, 2048, gflops, error);
}
