/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <glib/gstdio.h>

#include "sm-error.h"
#include "sm-paths.h"

char *
sm_paths_get_data_dir (void)
{
  const char *override = g_getenv (SM_DATA_DIR_ENV);

  if (override != NULL && override[0] != '\0')
    return g_strdup (override);

  return g_build_filename (g_get_user_data_dir (), "synaptic-mesh", NULL);
}

char *
sm_paths_ensure_data_dir (GError **error)
{
  g_autofree char *dir = sm_paths_get_data_dir ();

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_IO,
                   _("Cannot create the data directory %s: %s"),
                   dir, g_strerror (saved_errno));
      return NULL;
    }

  return g_steal_pointer (&dir);
}
