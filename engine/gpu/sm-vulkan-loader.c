/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <gmodule.h>

#include "sm-vulkan-loader.h"

/* Declared by hand so that the probe builds without Vulkan headers; these
 * match the Vulkan ABI (VkResult is a 32-bit enum, VkInstance a pointer). */
typedef void    (*SmVkVoidFunction)               (void);
typedef SmVkVoidFunction (*SmVkGetInstanceProcAddr) (void *instance, const char *name);
typedef gint32  (*SmVkEnumerateInstanceVersion)   (guint32 *api_version);

SmVulkanLoader *
sm_vulkan_loader_probe (void)
{
  SmVulkanLoader *loader = g_new0 (SmVulkanLoader, 1);
  SmVkGetInstanceProcAddr get_proc = NULL;
  SmVkEnumerateInstanceVersion enumerate_version;
  GModule *module;

  module = g_module_open ("libvulkan.so.1", G_MODULE_BIND_LAZY | G_MODULE_BIND_LOCAL);
  if (module == NULL)
    {
      loader->error = g_strdup (g_module_error ());
      return loader;
    }

  loader->present = TRUE;

  /* vkEnumerateInstanceVersion exists from Vulkan 1.1 on; a 1.0 loader lacks
   * it, and that is the answer then. */
  if (g_module_symbol (module, "vkGetInstanceProcAddr", (gpointer *) &get_proc) &&
      get_proc != NULL)
    {
      enumerate_version = (SmVkEnumerateInstanceVersion)
        get_proc (NULL, "vkEnumerateInstanceVersion");
      if (enumerate_version == NULL || enumerate_version (&loader->api_version) != 0)
        loader->api_version = 1u << 22;
    }

  g_module_close (module);

  return loader;
}

void
sm_vulkan_loader_free (SmVulkanLoader *loader)
{
  if (loader == NULL)
    return;

  g_free (loader->error);
  g_free (loader);
}
