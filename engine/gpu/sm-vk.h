/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* The Vulkan entry points the GPU backend calls, loaded at run time from
 * the system's libvulkan.so.1: a build with the backend still starts (and
 * falls back to the CPU) where no Vulkan is installed. */

#define VK_NO_PROTOTYPES
#include <vulkan/vulkan.h>
#include <glib.h>

G_BEGIN_DECLS

#define SM_VK_INSTANCE_FUNCTIONS(X) \
  X (vkDestroyInstance) \
  X (vkEnumeratePhysicalDevices) \
  X (vkGetPhysicalDeviceProperties) \
  X (vkGetPhysicalDeviceProperties2) \
  X (vkGetPhysicalDeviceFeatures2) \
  X (vkEnumerateDeviceExtensionProperties) \
  X (vkGetPhysicalDeviceQueueFamilyProperties) \
  X (vkGetPhysicalDeviceMemoryProperties) \
  X (vkCreateDevice) \
  X (vkGetDeviceProcAddr)

#define SM_VK_DEVICE_FUNCTIONS(X) \
  X (vkDestroyDevice) \
  X (vkGetDeviceQueue) \
  X (vkDeviceWaitIdle) \
  X (vkCreateBuffer) \
  X (vkDestroyBuffer) \
  X (vkGetBufferMemoryRequirements) \
  X (vkAllocateMemory) \
  X (vkFreeMemory) \
  X (vkBindBufferMemory) \
  X (vkMapMemory) \
  X (vkUnmapMemory) \
  X (vkCreateShaderModule) \
  X (vkDestroyShaderModule) \
  X (vkCreateDescriptorSetLayout) \
  X (vkDestroyDescriptorSetLayout) \
  X (vkCreatePipelineLayout) \
  X (vkDestroyPipelineLayout) \
  X (vkCreateComputePipelines) \
  X (vkDestroyPipeline) \
  X (vkCreateDescriptorPool) \
  X (vkDestroyDescriptorPool) \
  X (vkAllocateDescriptorSets) \
  X (vkUpdateDescriptorSets) \
  X (vkCreateCommandPool) \
  X (vkDestroyCommandPool) \
  X (vkAllocateCommandBuffers) \
  X (vkFreeCommandBuffers) \
  X (vkBeginCommandBuffer) \
  X (vkEndCommandBuffer) \
  X (vkResetCommandBuffer) \
  X (vkCmdBindPipeline) \
  X (vkCmdBindDescriptorSets) \
  X (vkCmdPushConstants) \
  X (vkCmdDispatch) \
  X (vkCmdPipelineBarrier) \
  X (vkCmdCopyBuffer) \
  X (vkCmdWriteTimestamp) \
  X (vkCmdResetQueryPool) \
  X (vkCreateQueryPool) \
  X (vkDestroyQueryPool) \
  X (vkGetQueryPoolResults) \
  X (vkCreateFence) \
  X (vkDestroyFence) \
  X (vkResetFences) \
  X (vkWaitForFences) \
  X (vkQueueSubmit)

#define SM_VK_DECLARE(name) PFN_##name name;

typedef struct
{
  gpointer                  module;                 /* the GModule of libvulkan.so.1 */
  PFN_vkGetInstanceProcAddr vkGetInstanceProcAddr;
  PFN_vkCreateInstance      vkCreateInstance;
  SM_VK_INSTANCE_FUNCTIONS (SM_VK_DECLARE)
  SM_VK_DEVICE_FUNCTIONS (SM_VK_DECLARE)
} SmVk;

/* Opens the loader and its global entry points; FALSE with the reason when
 * there is no loader. */
gboolean     sm_vk_open            (SmVk        *vk,
                                    GError     **error);
/* The instance's and then the device's entry points; FALSE naming the first
 * one missing. */
gboolean     sm_vk_load_instance   (SmVk        *vk,
                                    VkInstance   instance,
                                    GError     **error);
gboolean     sm_vk_load_device     (SmVk        *vk,
                                    VkDevice     device,
                                    GError     **error);
void         sm_vk_close           (SmVk        *vk);

/* "VK_ERROR_OUT_OF_DEVICE_MEMORY" and so on, for messages. */
const char  *sm_vk_result_name     (VkResult     result);

G_END_DECLS
