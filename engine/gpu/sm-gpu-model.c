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
 * the layers ping-pong between, and one host-visible staging buffer that
 * carries a batch in and its answer out.  The buffers grow with the largest
 * batch seen and are never allocated per call.
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

struct _SmGpuModel
{
  SmGpu           *gpu;
  GpuExpert       *experts;
  guint            n_experts;
  guint            max_width;       /* the widest row a layer reads or writes */
  SmGpuBuffer      weights;
  SmGpuBuffer      ping, pong;      /* activations, capacity × max_width floats each */
  SmGpuBuffer      staging;
  guint            capacity;        /* rows the activation and staging buffers hold */
  VkDescriptorPool pool;
  VkDescriptorSet  sets[2];         /* ping → pong, pong → ping */
  GHashTable      *recorded;        /* forward_key () → VkCommandBuffer, for these buffers */
};

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
forget_recorded (SmGpuModel *model)
{
  GHashTableIter iter;
  gpointer commands;

  g_hash_table_iter_init (&iter, model->recorded);
  while (g_hash_table_iter_next (&iter, NULL, &commands))
    sm_gpu_commands_free (model->gpu, (VkCommandBuffer) commands);
  g_hash_table_remove_all (model->recorded);
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

  if (!sm_gpu_buffer_create (gpu, total * sizeof (float), VK_BUFFER_USAGE_TRANSFER_SRC_BIT, TRUE, &staging, error))
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
                             VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT, FALSE,
                             &model->weights, error);
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

static gboolean
create_sets (SmGpuModel  *model,
             GError     **error)
{
  SmGpu *gpu = model->gpu;
  VkDescriptorPoolSize size = { VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 6 };
  VkDescriptorPoolCreateInfo pool_info = {
    .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
    .maxSets = 2,
    .poolSizeCount = 1,
    .pPoolSizes = &size,
  };
  VkDescriptorSetLayout layouts[2] = { gpu->set_layout, gpu->set_layout };
  VkDescriptorSetAllocateInfo allocate = {
    .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
    .descriptorSetCount = 2,
    .pSetLayouts = layouts,
  };

  if (!sm_gpu_check (gpu->vk.vkCreateDescriptorPool (gpu->device, &pool_info, NULL, &model->pool),
                     "Creating a descriptor pool", error))
    return FALSE;
  allocate.descriptorPool = model->pool;
  return sm_gpu_check (gpu->vk.vkAllocateDescriptorSets (gpu->device, &allocate, model->sets),
                       "Allocating descriptor sets", error);
}

/* Room for @batch rows; the descriptor sets follow new buffers.  Under the
 * device's lock, with nothing in flight. */
static gboolean
ensure_capacity (SmGpuModel  *model,
                 guint        batch,
                 GError     **error)
{
  SmGpu *gpu = model->gpu;
  guint rows = MAX (batch, MAX (64, model->capacity * 2));
  VkDeviceSize bytes;
  VkDescriptorBufferInfo buffers[2][3];
  VkWriteDescriptorSet writes[2];

  if (batch <= model->capacity)
    return TRUE;
  if (!sm_gpu_check_alive (gpu, error))
    return FALSE;
  /* What was recorded names the buffers that go. */
  forget_recorded (model);
  sm_gpu_buffer_destroy (gpu, &model->ping);
  sm_gpu_buffer_destroy (gpu, &model->pong);
  sm_gpu_buffer_destroy (gpu, &model->staging);
  model->capacity = 0;
  bytes = (VkDeviceSize) rows * model->max_width * sizeof (float);
  if (!sm_gpu_buffer_create (gpu, bytes, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT
                             | VK_BUFFER_USAGE_TRANSFER_DST_BIT, FALSE, &model->ping, error)
      || !sm_gpu_buffer_create (gpu, bytes, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT
                                | VK_BUFFER_USAGE_TRANSFER_DST_BIT, FALSE, &model->pong, error)
      || !sm_gpu_buffer_create (gpu, bytes, VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                TRUE, &model->staging, error))
    return FALSE;
  model->capacity = rows;

  for (guint s = 0; s < 2; s++)
    {
      SmGpuBuffer *from = s == 0 ? &model->ping : &model->pong;
      SmGpuBuffer *to = s == 0 ? &model->pong : &model->ping;

      buffers[s][0] = (VkDescriptorBufferInfo) { from->buffer, 0, VK_WHOLE_SIZE };
      buffers[s][1] = (VkDescriptorBufferInfo) { model->weights.buffer, 0, VK_WHOLE_SIZE };
      buffers[s][2] = (VkDescriptorBufferInfo) { to->buffer, 0, VK_WHOLE_SIZE };
      writes[s] = (VkWriteDescriptorSet) {
        .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
        .dstSet = model->sets[s],
        .dstBinding = 0,
        .descriptorCount = 3,
        .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
        .pBufferInfo = buffers[s],
      };
    }
  gpu->vk.vkUpdateDescriptorSets (gpu->device, 2, writes, 0, NULL);
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
  model->recorded = g_hash_table_new (NULL, NULL);
  if (!upload_weights (model, experts, error) || !create_sets (model, error))
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
  forget_recorded (model);
  sm_gpu_buffer_retire (gpu, &model->staging);
  sm_gpu_buffer_retire (gpu, &model->ping);
  sm_gpu_buffer_retire (gpu, &model->pong);
  sm_gpu_buffer_retire (gpu, &model->weights);
  if (model->pool != VK_NULL_HANDLE && gpu->lost)
    g_array_append_val (gpu->orphan_pools, model->pool);
  else if (model->pool != VK_NULL_HANDLE)
    gpu->vk.vkDestroyDescriptorPool (gpu->device, model->pool, NULL);
  g_mutex_unlock (&gpu->lock);
  g_hash_table_unref (model->recorded);
  for (guint e = 0; e < model->n_experts; e++)
    g_free (model->experts[e].layers);
  g_free (model->experts);
  g_free (model);
}

/* Records the expert's layers into @commands: a GEMM with its bias and
 * activation per layer (softmax as a second dispatch over whole rows), a
 * barrier between each. */
static void
record_layers (SmGpuModel      *model,
               VkCommandBuffer  commands,
               const GpuExpert *expert,
               guint            rows)
{
  SmGpu *gpu = model->gpu;
  guint stamps = 0;

  if (gpu->timestamps != VK_NULL_HANDLE)
    gpu->vk.vkCmdWriteTimestamp (commands, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, gpu->timestamps, stamps++);
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
                                       &model->sets[l % 2], 0, NULL);
      gpu->vk.vkCmdPushConstants (commands, gpu->pipeline_layout, VK_SHADER_STAGE_COMPUTE_BIT, 0,
                                  sizeof args, &args);
      gemm = sm_gpu_gemm_for (gpu, rows, layer->shape.out, &tile);
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
        gpu->vk.vkCmdWriteTimestamp (commands, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, gpu->timestamps, stamps++);
      sm_gpu_barrier (gpu, commands, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
                      VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                      VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_TRANSFER_READ_BIT);
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
                  guint        index,
                  guint        rows,
                  GError     **error)
{
  SmGpu *gpu = model->gpu;
  const GpuExpert *expert = &model->experts[index];
  guint in = expert->layers[0].shape.in;
  guint out = expert->layers[expert->n_layers - 1].shape.out;
  /* The answer is in whichever buffer the last layer wrote. */
  SmGpuBuffer *result = expert->n_layers % 2 == 1 ? &model->pong : &model->ping;
  VkBufferCopy copy_in = { 0, 0, (VkDeviceSize) rows * in * sizeof (float) };
  VkBufferCopy copy_out = { 0, 0, (VkDeviceSize) rows * out * sizeof (float) };
  VkCommandBufferBeginInfo begin = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO };
  VkCommandBuffer commands = g_hash_table_lookup (model->recorded, forward_key (index, rows));

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
    gpu->vk.vkCmdResetQueryPool (commands, gpu->timestamps, 0, SM_GPU_MAX_TIMESTAMPS);
  gpu->vk.vkCmdCopyBuffer (commands, model->staging.buffer, model->ping.buffer, 1, &copy_in);
  sm_gpu_barrier (gpu, commands, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                  VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_READ_BIT);
  record_layers (model, commands, expert, rows);
  gpu->vk.vkCmdCopyBuffer (commands, result->buffer, model->staging.buffer, 1, &copy_out);
  sm_gpu_barrier (gpu, commands, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                  VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
  if (!sm_gpu_check (gpu->vk.vkEndCommandBuffer (commands), "Recording commands", error))
    {
      sm_gpu_commands_free (gpu, commands);
      return NULL;
    }
  g_hash_table_insert (model->recorded, forward_key (index, rows), commands);
  return commands;
}

static double
read_dispatch_us (SmGpu *gpu,
                  guint  stamps)
{
  guint64 ticks[SM_GPU_MAX_TIMESTAMPS];

  if (stamps < 2
      || gpu->vk.vkGetQueryPoolResults (gpu->device, gpu->timestamps, 0, stamps, sizeof ticks, ticks, sizeof ticks[0],
                                        VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT) != VK_SUCCESS)
    return NAN;
  return (double) (ticks[stamps - 1] - ticks[0]) * gpu->info.timestamp_period_ns / 1e3;
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
  SmGpu *gpu = model->gpu;
  const GpuExpert *expert = index < model->n_experts ? &model->experts[index] : NULL;
  gint64 start = g_get_monotonic_time ();
  VkCommandBuffer commands = NULL;
  guint in, out, rows;
  gboolean ok;

  if (expert == NULL || expert->n_layers == 0)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT, _("No expert %u on the GPU"), index);
      return FALSE;
    }
  if (batch == 0)
    return TRUE;
  in = expert->layers[0].shape.in;
  out = expert->layers[expert->n_layers - 1].shape.out;
  rows = forward_rows (batch);

  g_mutex_lock (&gpu->lock);
  ok = ensure_capacity (model, rows, error) && (commands = recorded_forward (model, index, rows, error)) != NULL;
  if (ok)
    {
      memcpy (model->staging.mapped, input, (gsize) batch * in * sizeof (float));
      ok = sm_gpu_run (gpu, commands, gpu->timeout_ns, TRUE, error);
      if (ok)
        memcpy (output, model->staging.mapped, (gsize) batch * out * sizeof (float));
    }
  if (ok && timing != NULL)
    {
      timing->dispatch_us = gpu->timestamps != VK_NULL_HANDLE ? read_dispatch_us (gpu, forward_stamps (expert)) : NAN;
      timing->dispatches = expert->n_layers;
      for (guint l = 0; l < expert->n_layers; l++)
        timing->dispatches += expert->layers[l].shape.act.kind == SM_ACT_SOFTMAX;
    }
  g_mutex_unlock (&gpu->lock);
  if (ok && timing != NULL)
    timing->total_us = (double) (g_get_monotonic_time () - start);
  return ok;
}

/* The FP32 ceiling (sm-peak.comp): the dispatch grows until it runs for a
 * few milliseconds, then the best of three counts.  Uses the model's
 * activation buffer for the shader's output. */
#define PEAK_MIN_US 2000.0
#define PEAK_MAX_GROUPS 16384u

gboolean
sm_gpu_model_measure_peak (SmGpuModel  *model,
                           double      *gflops,
                           GError     **error)
{
  SmGpu *gpu = model->gpu;
  guint groups = 64, steps = 1024, tries = 0;
  gboolean ok = TRUE;
  double best = INFINITY;

  while (ok && tries < 3)
    {
      SmGpuArgs args = { .k = steps, .alpha = 0.999f };
      guint rows = (guint) (((guint64) groups * 256 + model->max_width - 1) / model->max_width);
      gint64 start;
      double us;

      g_mutex_lock (&gpu->lock);
      ok = ensure_capacity (model, rows, error) && sm_gpu_begin (gpu, error);
      if (ok)
        {
          if (gpu->timestamps != VK_NULL_HANDLE)
            {
              gpu->vk.vkCmdResetQueryPool (gpu->commands, gpu->timestamps, 0, SM_GPU_MAX_TIMESTAMPS);
              gpu->vk.vkCmdWriteTimestamp (gpu->commands, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, gpu->timestamps, 0);
            }
          gpu->vk.vkCmdBindPipeline (gpu->commands, VK_PIPELINE_BIND_POINT_COMPUTE, gpu->peak);
          gpu->vk.vkCmdBindDescriptorSets (gpu->commands, VK_PIPELINE_BIND_POINT_COMPUTE, gpu->pipeline_layout, 0, 1,
                                           &model->sets[0], 0, NULL);
          gpu->vk.vkCmdPushConstants (gpu->commands, gpu->pipeline_layout, VK_SHADER_STAGE_COMPUTE_BIT, 0,
                                      sizeof args, &args);
          gpu->vk.vkCmdDispatch (gpu->commands, groups, 1, 1);
          if (gpu->timestamps != VK_NULL_HANDLE)
            gpu->vk.vkCmdWriteTimestamp (gpu->commands, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, gpu->timestamps, 1);
          start = g_get_monotonic_time ();
          ok = sm_gpu_submit_and_wait (gpu, MAX (gpu->timeout_ns, SM_GPU_UPLOAD_TIMEOUT_NS), FALSE, error);
          us = gpu->timestamps != VK_NULL_HANDLE ? read_dispatch_us (gpu, 2) : NAN;
          if (isnan (us))
            us = (double) (g_get_monotonic_time () - start);
        }
      g_mutex_unlock (&gpu->lock);
      if (!ok)
        break;

      if (us < PEAK_MIN_US && tries == 0)
        {
          if (groups < PEAK_MAX_GROUPS)
            groups *= 4;
          else
            steps *= 4;
          continue;
        }
      best = MIN (best, us / ((double) groups * 256 * steps * 16));
      tries++;
    }
  if (ok)
    *gflops = 1e-3 / best;
  return ok;
}
