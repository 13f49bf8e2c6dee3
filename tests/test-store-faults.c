/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <signal.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/resource.h>
#include <glib/gstdio.h>
#include <gio/gio.h>

#include "sm-store.h"
#include "subprocess-test-util.h"

/* Fault injection the way SQLite tests itself: a VFS over the default one,
 * registered as the default (so the store needs no hook to use it), that
 * fails the Nth write, sync or open counted from the start of a session —
 * once (a moment of trouble), or every one from then on until the test
 * "frees space".  Every run must end with a readable database that holds
 * the session, and the store must say what it could not save meanwhile. */

typedef enum { FAULT_WRITE, FAULT_SYNC, FAULT_OPEN, N_FAULTS } FaultKind;
static const char * const fault_names[] = { "write", "sync", "open" };

static struct
{
  sqlite3_vfs *real;
  gint         armed;        /* atomic */
  FaultKind    kind;
  gint         count;        /* atomic: operations of that kind since armed */
  gint         fail_at;
  gboolean     lasting;
  gint         fired;        /* atomic */
} faults;

typedef struct
{
  sqlite3_file  base;
  sqlite3_file *real;        /* follows this struct in the same block */
} ShimFile;

static gboolean
should_fail (FaultKind kind)
{
  int n;

  if (!g_atomic_int_get (&faults.armed) || faults.kind != kind)
    return FALSE;
  n = g_atomic_int_add (&faults.count, 1) + 1;
  if (n == faults.fail_at || (faults.lasting && n > faults.fail_at))
    {
      g_atomic_int_inc (&faults.fired);
      return TRUE;
    }
  return FALSE;
}

#define REAL(f) (((ShimFile *) (f))->real)

static int shim_close (sqlite3_file *f) { return REAL (f)->pMethods->xClose (REAL (f)); }
static int shim_read (sqlite3_file *f, void *b, int n, sqlite3_int64 o) { return REAL (f)->pMethods->xRead (REAL (f), b, n, o); }
static int
shim_write (sqlite3_file *f, const void *b, int n, sqlite3_int64 o)
{
  if (should_fail (FAULT_WRITE))
    return SQLITE_FULL;
  return REAL (f)->pMethods->xWrite (REAL (f), b, n, o);
}
static int shim_truncate (sqlite3_file *f, sqlite3_int64 s) { return REAL (f)->pMethods->xTruncate (REAL (f), s); }
static int
shim_sync (sqlite3_file *f, int flags)
{
  if (should_fail (FAULT_SYNC))
    return SQLITE_IOERR_FSYNC;
  return REAL (f)->pMethods->xSync (REAL (f), flags);
}
static int shim_size (sqlite3_file *f, sqlite3_int64 *s) { return REAL (f)->pMethods->xFileSize (REAL (f), s); }
static int shim_lock (sqlite3_file *f, int l) { return REAL (f)->pMethods->xLock (REAL (f), l); }
static int shim_unlock (sqlite3_file *f, int l) { return REAL (f)->pMethods->xUnlock (REAL (f), l); }
static int shim_check (sqlite3_file *f, int *r) { return REAL (f)->pMethods->xCheckReservedLock (REAL (f), r); }
static int shim_control (sqlite3_file *f, int op, void *a) { return REAL (f)->pMethods->xFileControl (REAL (f), op, a); }
static int shim_sector (sqlite3_file *f) { return REAL (f)->pMethods->xSectorSize (REAL (f)); }
static int shim_device (sqlite3_file *f) { return REAL (f)->pMethods->xDeviceCharacteristics (REAL (f)); }
static int shim_shm_map (sqlite3_file *f, int i, int s, int e, void volatile **p) { return REAL (f)->pMethods->xShmMap (REAL (f), i, s, e, p); }
static int shim_shm_lock (sqlite3_file *f, int o, int n, int fl) { return REAL (f)->pMethods->xShmLock (REAL (f), o, n, fl); }
static void shim_shm_barrier (sqlite3_file *f) { REAL (f)->pMethods->xShmBarrier (REAL (f)); }
static int shim_shm_unmap (sqlite3_file *f, int d) { return REAL (f)->pMethods->xShmUnmap (REAL (f), d); }

/* Version 2: WAL's shared memory, no memory-mapped I/O (xFetch). */
static const sqlite3_io_methods shim_methods = {
  2, shim_close, shim_read, shim_write, shim_truncate, shim_sync, shim_size, shim_lock, shim_unlock,
  shim_check, shim_control, shim_sector, shim_device, shim_shm_map, shim_shm_lock, shim_shm_barrier,
  shim_shm_unmap, NULL, NULL,
};

static int
shim_open (sqlite3_vfs  *vfs,
           const char   *name,
           sqlite3_file *file,
           int           flags,
           int          *out_flags)
{
  ShimFile *shim = (ShimFile *) file;
  int rc;

  shim->base.pMethods = NULL;
  if (should_fail (FAULT_OPEN))
    return SQLITE_CANTOPEN;
  shim->real = (sqlite3_file *) (shim + 1);
  rc = faults.real->xOpen (faults.real, name, shim->real, flags, out_flags);
  if (rc == SQLITE_OK)
    shim->base.pMethods = &shim_methods;
  return rc;
}

static sqlite3_vfs shim_vfs;

static void
register_shim (void)
{
  faults.real = sqlite3_vfs_find (NULL);
  shim_vfs = *faults.real;
  shim_vfs.iVersion = MIN (shim_vfs.iVersion, 3);
  shim_vfs.zName = "sm-faults";
  shim_vfs.szOsFile = (int) sizeof (ShimFile) + faults.real->szOsFile;
  shim_vfs.xOpen = shim_open;
  shim_vfs.pAppData = NULL;
  g_assert_cmpint (sqlite3_vfs_register (&shim_vfs, 1), ==, SQLITE_OK);
}

static void
arm (FaultKind kind,
     int       fail_at,
     gboolean  lasting)
{
  faults.kind = kind;
  faults.fail_at = fail_at;
  faults.lasting = lasting;
  g_atomic_int_set (&faults.count, 0);
  g_atomic_int_set (&faults.fired, 0);
  g_atomic_int_set (&faults.armed, TRUE);
}

static void
disarm (void)
{
  g_atomic_int_set (&faults.armed, FALSE);
}

static double ramp;

static double
read_ramp (gpointer data)
{
  return ramp;
}

#define SECONDS       5
#define TICKS         4         /* a second at 4 Hz */

static int
count_rows (const char *path,
            const char *sql)
{
  sqlite3 *db;
  sqlite3_stmt *stmt;
  int n = -1;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  /* A writer in another process may hold the lock for a moment (its
   * commit, its checkpoint): wait for it as the product's readers do. */
  sqlite3_busy_timeout (db, 5000);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    n = sqlite3_column_int (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return n;
}

/* One session of SECONDS commits with a fault at the @fail_at-th @kind;
 * returns whether the fault fired (FALSE: @fail_at is past the session). */
static gboolean
run_session (FaultKind kind,
             int       fail_at,
             gboolean  lasting)
{
  g_autofree char *dir = g_dir_make_tmp ("synmesh-faults-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "synmesh.db", NULL);
  g_autoptr(SmMonitor) monitor = sm_monitor_new ();
  g_autoptr(GError) error = NULL;
  SmStoreStatus status;
  SmStore *store;
  gint64 session;
  gboolean fired, told = FALSE;

  sm_monitor_add_gauge (monitor, "test.ramp", "Ramp", "", read_ramp, NULL);
  store = sm_store_open (path, NULL, &error);
  g_assert_no_error (error);

  /* A lasting failure starts after the session's row: a session that
   * cannot even start is refused, and said so, by begin_session. */
  if (!lasting)
    arm (kind, fail_at, lasting);
  session = sm_store_begin_session (store, "faults", "m", "{}", &error);
  g_assert_no_error (error);
  g_assert_cmpint (session, >, 0);
  if (lasting)
    arm (kind, fail_at, lasting);

  for (guint s = 0; s < SECONDS; s++)
    {
      g_autoptr(GPtrArray) sessions = NULL;

      for (guint i = 0; i < TICKS; i++)
        {
          SmMonitorSnapshot *snapshot;

          ramp = s * TICKS + i;
          snapshot = sm_monitor_tick (monitor);
          snapshot->t_ms = 250 * (gint64) (s * TICKS + i);
          sm_store_add_snapshot (store, session, monitor, snapshot);
          sm_monitor_snapshot_unref (snapshot);
        }
      sm_store_add_event (store, session, 1000 * s, "knob", "second");
      sm_store_flush (store);
      sm_store_get_status (store, &status);
      if (!status.healthy)
        {
          /* What could not be saved is said, and kept for the retry. */
          g_assert_nonnull (strstr (status.error, "Cannot save the session"));
          g_assert_cmpuint (status.buffered, >, 0);
          told = TRUE;
        }
      sm_store_status_clear (&status);
      /* A reader, as the app's pages are: its own connection (an open). */
      sessions = sm_store_list_sessions (store, NULL);
      if (lasting && s == 2)
        disarm ();   /* space is freed */
    }
  sm_store_end_session (store, session);
  sm_store_flush (store);
  sm_store_get_status (store, &status);
  if (!status.healthy)
    {
      /* As synmesh run does: one more try for a commit that just failed. */
      told = TRUE;
      sm_store_status_clear (&status);
      sm_store_flush (store);
      sm_store_get_status (store, &status);
    }
  fired = g_atomic_int_get (&faults.fired) > 0;
  g_assert_true (status.healthy);
  g_assert_cmpuint (status.committed, ==, SECONDS * TICKS);
  g_assert_cmpuint (status.dropped, ==, 0);
  sm_store_status_clear (&status);
  sm_store_free (store);
  disarm ();

  /* Readable, and holding the whole session. */
  g_assert_cmpint (count_rows (path, "SELECT count (*) FROM pragma_integrity_check WHERE integrity_check = 'ok'"), ==, 1);
  g_assert_cmpint (count_rows (path, "SELECT count (*) FROM sessions WHERE ended_ms > 0"), ==, 1);
  g_assert_cmpint (count_rows (path, "SELECT sum (n) FROM samples"), ==, SECONDS * TICKS);
  g_assert_cmpint (count_rows (path, "SELECT count (*) FROM events"), ==, SECONDS);
  if (fired && told)
    g_test_message ("%s %d%s: reported, then saved", fault_names[kind], fail_at, lasting ? "+" : "");

  {
    g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
    const char *name;

    while ((name = g_dir_read_name (d)) != NULL)
      {
        g_autofree char *file = g_build_filename (dir, name, NULL);
        g_unlink (file);
      }
    g_rmdir (dir);
  }
  return fired;
}

static void
test_faults (gconstpointer data)
{
  FaultKind kind = GPOINTER_TO_INT (data) % N_FAULTS;
  gboolean lasting = GPOINTER_TO_INT (data) >= N_FAULTS;
  int n;

  for (n = 1; n < 2000 && run_session (kind, n, lasting); n++)
    ;
  g_test_message ("%s faults%s: every one of the first %d %ss of a session", fault_names[kind],
                  lasting ? " (lasting)" : "", n - 1, fault_names[kind]);
  g_assert_cmpint (n, <, 2000);
}

/* ---- synmesh run says so ---- */

static void
ignore_file_size_limit (gpointer user_data)
{
  struct rlimit limit = { *(rlim_t *) user_data, *(rlim_t *) user_data };

  signal (SIGXFSZ, SIG_IGN);
  setrlimit (RLIMIT_FSIZE, &limit);
}

static GSubprocess *
spawn_run (GSubprocessLauncher *launcher,
           const char          *path)
{
  g_autoptr(GError) error = NULL;
  GSubprocess *child = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("SYNMESH_BIN"), "run", "--db",
                                                    path, "--duration", "300", "--rate", "200", "--refresh-ms",
                                                    "100", NULL);

  g_assert_no_error (error);
  return child;
}

/* Writes that fail for good (a file size limit, as a full disk would):
 * synmesh run says when recording starts failing, says what it could not
 * save, exits non-zero, and the database stays readable. */
static void
test_run_cannot_save (void)
{
  g_autofree char *dir = g_dir_make_tmp ("synmesh-run-fail-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "synmesh.db", NULL);
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                                                        G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GSubprocess) child = NULL;
  g_autofree char *err = NULL;
  GStatBuf st;
  rlim_t limit;

  /* The database made beforehand; then room for a few pages of WAL only. */
  sm_store_free (sm_store_open (path, NULL, NULL));
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  limit = (rlim_t) st.st_size + 6 * 4096;
  g_subprocess_launcher_set_child_setup (launcher, ignore_file_size_limit, &limit, NULL);
  child = spawn_run (launcher, path);
  err = interrupt_when_told (child, g_subprocess_get_stderr_pipe (child), "recording fails: Cannot save the session");
  g_assert_cmpint (g_subprocess_get_exit_status (child), ==, 1);
  g_assert_nonnull (strstr (err, "could not be saved completely"));
  g_assert_cmpint (count_rows (path, "SELECT count (*) FROM pragma_integrity_check WHERE integrity_check = 'ok'"), ==, 1);
  g_assert_cmpint (count_rows (path, "SELECT count (*) FROM sessions"), ==, 1);
}

/* Writes that fail for a while (another process holds the write lock
 * longer than the 5 s busy timeout): synmesh run says when it fails and
 * when it works again, and, everything saved in the end, exits 0. */
static void
test_run_recovers (void)
{
  g_autofree char *dir = g_dir_make_tmp ("synmesh-run-lock-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "synmesh.db", NULL);
  g_autofree char *out_path = g_build_filename (dir, "stdout", NULL);
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GSubprocess) child = NULL;
  g_autofree char *out = NULL, *err = NULL;
  sqlite3 *db;

  sm_store_free (sm_store_open (path, NULL, NULL));
  g_subprocess_launcher_set_stdout_file_path (launcher, out_path);
  child = spawn_run (launcher, path);
  while (count_rows (path, "SELECT count (*) FROM sessions") < 1)
    g_usleep (50000);
  /* Once samples are being committed. */
  while (count_rows (path, "SELECT count (*) FROM samples") < 1)
    g_usleep (50000);

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE, faults.real->zName), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 5000);
  g_assert_cmpint (sqlite3_exec (db, "BEGIN EXCLUSIVE", NULL, NULL, NULL), ==, SQLITE_OK);
  g_usleep (7 * G_USEC_PER_SEC);
  sqlite3_exec (db, "COMMIT", NULL, NULL, NULL);
  sqlite3_close (db);
  g_test_message ("lock released");

  err = interrupt_when_told (child, g_subprocess_get_stderr_pipe (child), "recording works again");
  g_assert_true (g_file_get_contents (out_path, &out, NULL, NULL));
  g_test_message ("stdout: %s", out);
  g_assert_nonnull (strstr (err, "recording fails: Cannot save the session: database is locked"));
  g_assert_nonnull (strstr (out, "Recorded as session 1"));
  g_assert_cmpint (g_subprocess_get_exit_status (child), ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  register_shim ();

  for (int i = 0; i < 2 * N_FAULTS; i++)
    {
      g_autofree char *name = g_strdup_printf ("/engine/store/faults/%s%s", fault_names[i % N_FAULTS],
                                               i >= N_FAULTS ? "-lasting" : "");

      g_test_add_data_func (name, GINT_TO_POINTER (i), test_faults);
    }
  g_test_add_func ("/engine/store/faults/run-cannot-save", test_run_cannot_save);
  g_test_add_func ("/engine/store/faults/run-recovers", test_run_recovers);

  return g_test_run ();
}
