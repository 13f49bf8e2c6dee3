/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  gboolean present;      /* libvulkan.so.1 could be opened */
  guint32  api_version;  /* VK_MAKE_API_VERSION of the loader, 0 when unknown */
  char    *error;        /* why it is absent, for the user; NULL when present */
} SmVulkanLoader;

/* Looks for the system's Vulkan loader without creating an instance, so it
 * is cheap and safe to call from `synmesh doctor` on any machine.  The loader
 * is opened at run time: a build with the backend still starts where no
 * Vulkan is installed. */
SmVulkanLoader *sm_vulkan_loader_probe (void);
void            sm_vulkan_loader_free  (SmVulkanLoader *loader);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SmVulkanLoader, sm_vulkan_loader_free)

G_END_DECLS
