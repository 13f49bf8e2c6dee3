/* SPDX-License-Identifier: GPL-3.0-or-later */
/* renameat2 (RENAME_NOREPLACE), O_TMPFILE, linkat (AT_SYMLINK_FOLLOW) */
#define _GNU_SOURCE

#include "config.h"

#include <glib/gi18n-lib.h>
#include <gio/gio.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
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

/* Only a regular file may be replaced: a FIFO, a device node or a symlink
 * at @path is someone's plumbing, never a stale file of ours. */
gboolean
sm_paths_check_destination (const char  *path,
                   gboolean     overwrite,
                   GError     **error)
{
  GStatBuf st;

  if (g_lstat (path, &st) != 0)
    {
      int saved_errno = errno;

      if (saved_errno == ENOENT)
        return TRUE;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _("Cannot write %s: %s"), path, g_strerror (saved_errno));
      return FALSE;
    }
  if (!S_ISREG (st.st_mode))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE,
                   _("Cannot write %s: it is not a regular file, and only a regular file is replaced"), path);
      return FALSE;
    }
  if (!overwrite)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS, _("Cannot write %s: the file already exists"), path);
      return FALSE;
    }
  return TRUE;
}

static gboolean
write_all (int           fd,
           const char   *data,
           gsize         length)
{
  while (length > 0)
    {
      gssize n = write (fd, data, length);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      data += n;
      length -= (gsize) n;
    }
  return fsync (fd) == 0;
}

gboolean
sm_paths_write_file (const char  *path,
                     const char  *data,
                     gsize        length,
                     int          mode,
                     gboolean     overwrite,
                     GError     **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *temp = NULL;
  int fd, saved_errno = 0;
  gboolean named;

  if (!sm_paths_check_destination (path, overwrite, error))
    return FALSE;

  /* An unnamed file in the destination's folder: a kill while it is being
   * written leaves nothing behind.  Where the file system has no O_TMPFILE
   * a named DEST.XXXXXX is used, removed on every failure below. */
  fd = open (dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
  named = fd < 0;
  if (named)
    {
      temp = g_strconcat (path, ".XXXXXX", NULL);
      fd = g_mkstemp_full (temp, O_WRONLY | O_CLOEXEC, mode);
      if (fd < 0)
        {
          saved_errno = errno;
          g_clear_pointer (&temp, g_free);
        }
    }
  if (fd >= 0 && !write_all (fd, data, length))
    saved_errno = errno != 0 ? errno : EIO;

  if (saved_errno == 0 && !named)
    {
      g_autofree char *proc = g_strdup_printf ("/proc/self/fd/%d", fd);

      /* Gives the file a name: the destination itself when nothing may be
       * replaced (linkat fails if it exists), else a temporary one that
       * the rename below replaces the destination with. */
      if (!overwrite)
        saved_errno = linkat (AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0 ? 0 : errno;
      else
        for (guint attempt = 0; attempt < 100; attempt++)
          {
            g_free (temp);
            temp = g_strdup_printf ("%s.%06x", path, g_random_int_range (0, 0x1000000));
            saved_errno = linkat (AT_FDCWD, proc, AT_FDCWD, temp, AT_SYMLINK_FOLLOW) == 0 ? 0 : errno;
            if (saved_errno != EEXIST)
              break;
          }
      if (saved_errno != 0)
        g_clear_pointer (&temp, g_free);
    }
  if (fd >= 0)
    close (fd);

  if (saved_errno == 0 && temp != NULL)
    {
      if (!overwrite)
        saved_errno = sm_paths_rename_noreplace (temp, path) == 0 ? 0 : errno;
      /* Checked again just before: only a regular file is replaced. */
      else if (!sm_paths_check_destination (path, TRUE, error))
        saved_errno = -1;
      else
        saved_errno = g_rename (temp, path) == 0 ? 0 : errno;
    }

  if (saved_errno != 0 && temp != NULL)
    g_unlink (temp);
  if (saved_errno == EEXIST && !overwrite)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS, _("Cannot write %s: the file already exists"), path);
  else if (saved_errno > 0)
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                 _("Cannot write %s: %s"), path, g_strerror (saved_errno));
  return saved_errno == 0;
}
