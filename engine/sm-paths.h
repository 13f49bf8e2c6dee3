/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The environment variable that moves the data directory, for tests and for
 * several headless nodes on one machine. */
#define SM_DATA_DIR_ENV "SYNMESH_DATA_DIR"

/* The directory holding keys, the database and saved models: $SYNMESH_DATA_DIR
 * when set, else g_get_user_data_dir()/synaptic-mesh.  The caller frees it. */
char     *sm_paths_get_data_dir    (void);

/* Creates the data directory (mode 0700: it holds private keys) when it is
 * missing and returns its path, or NULL with @error set. */
char     *sm_paths_ensure_data_dir (GError **error);

/* rename() that never replaces what is at @to: -1 with errno EEXIST then
 * (two processes creating the same file: the first one's stays). */
int       sm_paths_rename_noreplace (const char *from,
                                     const char *to);

/* Whether @path may be written: nothing there, or a regular file when
 * @overwrite (else G_IO_ERROR_EXISTS, or G_IO_ERROR_NOT_REGULAR_FILE for
 * anything else: a FIFO, a device, a symlink, a folder). */
gboolean  sm_paths_check_destination (const char *path,
                                      gboolean    overwrite,
                                      GError    **error);

/* Writes @data to @path whole or not at all, created with @mode (never
 * readable by others for a moment when @mode says so), replacing only a
 * regular file and only when @overwrite (else G_IO_ERROR_EXISTS); nothing
 * temporary is left behind, not even by a kill while it writes (an
 * unnamed file, where the file system has O_TMPFILE). */
gboolean  sm_paths_write_file        (const char *path,
                                      const char *data,
                                      gsize       length,
                                      int         mode,
                                      gboolean    overwrite,
                                      GError    **error);

G_END_DECLS
