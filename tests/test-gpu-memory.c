/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "sm-gpu-private.h"

/* Where the GPU's buffers go, from a device's memory types alone (no
 * device needed): a discrete GPU's usual four, with and without a
 * resizable BAR, and an integrated GPU's or lavapipe's single one. */

#define DEVICE_LOCAL VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT
#define HOST         (VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT)
#define CACHED       VK_MEMORY_PROPERTY_HOST_CACHED_BIT

static VkPhysicalDeviceMemoryProperties
memory_of (const VkMemoryPropertyFlags *flags,
           guint                        n)
{
  VkPhysicalDeviceMemoryProperties properties = { .memoryTypeCount = n, .memoryHeapCount = 1 };

  for (guint i = 0; i < n; i++)
    properties.memoryTypes[i].propertyFlags = flags[i];
  return properties;
}

static void
assert_candidates (const VkPhysicalDeviceMemoryProperties *properties,
                   guint32                                 allowed,
                   SmGpuMemory                             memory,
                   int                                     first,
                   int                                     second)
{
  int types[SM_GPU_MEMORY_CANDIDATES];
  guint n = sm_gpu_memory_candidates (properties, allowed, memory, types);

  g_assert_cmpuint (n, ==, (first >= 0) + (second >= 0));
  if (first >= 0)
    g_assert_cmpint (types[0], ==, first);
  if (second >= 0)
    g_assert_cmpint (types[1], ==, second);
}

/* Device-local, write-combined host, cached host, then the BAR. */
static void
test_discrete_with_bar (void)
{
  const VkMemoryPropertyFlags flags[] = { DEVICE_LOCAL, HOST, HOST | CACHED, DEVICE_LOCAL | HOST };
  VkPhysicalDeviceMemoryProperties properties = memory_of (flags, G_N_ELEMENTS (flags));

  assert_candidates (&properties, G_MAXUINT32, SM_GPU_MEMORY_DEVICE, 0, -1);
  assert_candidates (&properties, G_MAXUINT32, SM_GPU_MEMORY_HOST, 1, -1);
  /* Batches in through the BAR, else host memory; answers back through
   * cached memory, else the write-combined kind. */
  assert_candidates (&properties, G_MAXUINT32, SM_GPU_MEMORY_UPLOAD, 3, 1);
  assert_candidates (&properties, G_MAXUINT32, SM_GPU_MEMORY_READBACK, 2, 1);
  /* Only the types the buffer allows. */
  assert_candidates (&properties, 1u << 1 | 1u << 3, SM_GPU_MEMORY_READBACK, 1, -1);
  assert_candidates (&properties, 1u << 1, SM_GPU_MEMORY_UPLOAD, 1, -1);
  assert_candidates (&properties, 1u << 2, SM_GPU_MEMORY_DEVICE, 2, -1);
  assert_candidates (&properties, 1u << 0, SM_GPU_MEMORY_HOST, -1, -1);
}

static void
test_discrete_without_bar (void)
{
  const VkMemoryPropertyFlags flags[] = { DEVICE_LOCAL, HOST, HOST | CACHED };
  VkPhysicalDeviceMemoryProperties properties = memory_of (flags, G_N_ELEMENTS (flags));

  assert_candidates (&properties, G_MAXUINT32, SM_GPU_MEMORY_UPLOAD, 1, -1);
  assert_candidates (&properties, G_MAXUINT32, SM_GPU_MEMORY_READBACK, 2, 1);
}

/* One type that is everything: every kind goes there, once. */
static void
test_unified (void)
{
  const VkMemoryPropertyFlags flags[] = { DEVICE_LOCAL | HOST | CACHED };
  VkPhysicalDeviceMemoryProperties properties = memory_of (flags, G_N_ELEMENTS (flags));

  for (SmGpuMemory memory = SM_GPU_MEMORY_DEVICE; memory <= SM_GPU_MEMORY_READBACK; memory++)
    assert_candidates (&properties, G_MAXUINT32, memory, 0, -1);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/gpu-memory/discrete-with-bar", test_discrete_with_bar);
  g_test_add_func ("/engine/gpu-memory/discrete-without-bar", test_discrete_without_bar);
  g_test_add_func ("/engine/gpu-memory/unified", test_unified);
  return g_test_run ();
}
