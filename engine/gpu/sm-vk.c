/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>
#include <gmodule.h>

#include "sm-error.h"
#include "sm-vk.h"

gboolean
sm_vk_open (SmVk    *vk,
            GError **error)
{
  GModule *module = g_module_open ("libvulkan.so.1", G_MODULE_BIND_LAZY | G_MODULE_BIND_LOCAL);

  memset (vk, 0, sizeof *vk);
  if (module == NULL)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_NOT_SUPPORTED,
                   _("No Vulkan loader (libvulkan.so.1): %s"), g_module_error ());
      return FALSE;
    }
  /* The loader and the drivers keep process-wide state (Mesa's includes
   * LLVM): loaded once, never unloaded.  It also lets LeakSanitizer name
   * them in reports. */
  g_module_make_resident (module);
  vk->module = module;
  if (!g_module_symbol (module, "vkGetInstanceProcAddr", (gpointer *) &vk->vkGetInstanceProcAddr)
      || vk->vkGetInstanceProcAddr == NULL)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_NOT_SUPPORTED,
                   _("The Vulkan loader has no vkGetInstanceProcAddr"));
      sm_vk_close (vk);
      return FALSE;
    }
  vk->vkCreateInstance = (PFN_vkCreateInstance) vk->vkGetInstanceProcAddr (NULL, "vkCreateInstance");
  if (vk->vkCreateInstance == NULL)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_NOT_SUPPORTED, _("The Vulkan loader has no vkCreateInstance"));
      sm_vk_close (vk);
      return FALSE;
    }
  return TRUE;
}

static gboolean
missing (const char  *name,
         GError     **error)
{
  g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_NOT_SUPPORTED, _("The Vulkan driver lacks %s"), name);
  return FALSE;
}

gboolean
sm_vk_load_instance (SmVk       *vk,
                     VkInstance  instance,
                     GError    **error)
{
#define SM_VK_LOAD_INSTANCE(name) \
  vk->name = (PFN_##name) vk->vkGetInstanceProcAddr (instance, #name); \
  if (vk->name == NULL) \
    return missing (#name, error);
  SM_VK_INSTANCE_FUNCTIONS (SM_VK_LOAD_INSTANCE)
#undef SM_VK_LOAD_INSTANCE
  return TRUE;
}

gboolean
sm_vk_load_device (SmVk      *vk,
                   VkDevice   device,
                   GError   **error)
{
#define SM_VK_LOAD_DEVICE(name) \
  vk->name = (PFN_##name) vk->vkGetDeviceProcAddr (device, #name); \
  if (vk->name == NULL) \
    return missing (#name, error);
  SM_VK_DEVICE_FUNCTIONS (SM_VK_LOAD_DEVICE)
#undef SM_VK_LOAD_DEVICE
  return TRUE;
}

void
sm_vk_close (SmVk *vk)
{
  if (vk->module != NULL)
    g_module_close (vk->module);
  memset (vk, 0, sizeof *vk);
}

const char *
sm_vk_result_name (VkResult result)
{
  switch (result)
    {
    case VK_SUCCESS: return "VK_SUCCESS";
    case VK_TIMEOUT: return "VK_TIMEOUT";
    case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY";
    case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
    case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED";
    case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST";
    case VK_ERROR_MEMORY_MAP_FAILED: return "VK_ERROR_MEMORY_MAP_FAILED";
    case VK_ERROR_LAYER_NOT_PRESENT: return "VK_ERROR_LAYER_NOT_PRESENT";
    case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT";
    case VK_ERROR_FEATURE_NOT_PRESENT: return "VK_ERROR_FEATURE_NOT_PRESENT";
    case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER";
    case VK_ERROR_TOO_MANY_OBJECTS: return "VK_ERROR_TOO_MANY_OBJECTS";
    case VK_ERROR_OUT_OF_POOL_MEMORY: return "VK_ERROR_OUT_OF_POOL_MEMORY";
    default: return "a Vulkan error";
    }
}
