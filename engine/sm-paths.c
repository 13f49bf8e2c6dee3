/* SPDX-License-Identifier: GPL-3.0-or-later */
/* renameat2 (RENAME_NOREPLACE) */
#define _GNU_SOURCE

#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
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

int
sm_paths_rename_noreplace (const char *from,
                           const char *to)
{
  if (renameat2 (AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
    return 0;
  if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
    return -1;

  /* A file system without RENAME_NOREPLACE: link() fails on an existing
   * name just as surely. */
  if (link (from, to) != 0)
    return -1;
  g_unlink (from);
  return 0;
}
