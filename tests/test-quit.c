/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <signal.h>
#include <string.h>
#include <glib/gstdio.h>
#include <gio/gio.h>

/* Quitting under load, from outside, as a user does: the app with its
 * built-in load and `synmesh run`, each interrupted at a random moment
 * (SIGINT or SIGTERM) several times.  Every thread that calls into the
 * engine must be stopped and joined before the engine is freed; under the
 * sanitizers (make asan) a use after free aborts the process, which fails
 * the test here, as does any exit other than a clean one. */

typedef struct
{
  gboolean done;
} Wait;

static void
waited_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Wait *wait = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  wait->done = TRUE;
}

static gboolean
timeout_cb (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Whether process @pid has a handler for @signum (its SigCgt mask). */
static gboolean
catches (const char *pid,
         int         signum)
{
  g_autofree char *path = g_strdup_printf ("/proc/%s/status", pid);
  g_autofree char *status = NULL;
  const char *line;

  if (pid == NULL || !g_file_get_contents (path, &status, NULL, NULL))
    return FALSE;
  line = strstr (status, "SigCgt:");
  if (line == NULL)
    return FALSE;
  return (g_ascii_strtoull (line + strlen ("SigCgt:"), NULL, 16) >> (signum - 1)) & 1;
}

/* Runs @argv for @run_s seconds once it handles @signum, sends @signum, and expects a clean exit
 * within @limit_s; on failure its standard error is shown. */
static void
run_and_interrupt (const char * const *argv,
                   double              run_s,
                   int                 signum,
                   double              limit_s)
{
  g_autofree char *dir = g_dir_make_tmp ("synmesh-quit-XXXXXX", NULL);
  g_autofree char *err_path = g_build_filename (dir, "stderr", NULL);
  g_autofree char *err_text = NULL;
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  gboolean ran = FALSE, expired = FALSE;
  Wait wait = { FALSE };
  guint timer;

  g_subprocess_launcher_setenv (launcher, "SYNMESH_DATA_DIR", dir, TRUE);
  g_subprocess_launcher_set_stderr_file_path (launcher, err_path);
  process = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);
  g_subprocess_wait_async (process, NULL, waited_cb, &wait);

  /* Measured from the moment it handles the signal: before that, the
   * kernel's default action ends any program, cleanly or not. */
  timer = g_timeout_add (60 * 1000, timeout_cb, &expired);
  while (!expired && !wait.done && !catches (g_subprocess_get_identifier (process), signum))
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (10000);
  g_source_remove (timer);
  timer = g_timeout_add ((guint) (run_s * 1000), timeout_cb, &ran);
  while (!ran && !wait.done)
    g_main_context_iteration (NULL, TRUE);
  if (!ran)
    g_source_remove (timer);
  expired = FALSE;
  if (!wait.done)
    g_subprocess_send_signal (process, signum);

  timer = g_timeout_add ((guint) (limit_s * 1000), timeout_cb, &expired);
  while (!wait.done && !expired)
    g_main_context_iteration (NULL, TRUE);
  if (!expired)
    g_source_remove (timer);
  if (!wait.done)
    {
      g_subprocess_force_exit (process);
      while (!wait.done)
        g_main_context_iteration (NULL, TRUE);
    }

  g_file_get_contents (err_path, &err_text, NULL, NULL);
  if (expired || !g_subprocess_get_if_exited (process) || g_subprocess_get_exit_status (process) != 0)
    {
      g_printerr ("%s, %.2f s after it handled signal %d: %s\n--- its standard error:\n%s\n", argv[0], run_s, signum,
                  expired ? "did not quit in time" : "did not exit cleanly", err_text ? err_text : "");
      g_test_fail ();
    }

  /* Whatever the session left in its data folder goes with it. */
  {
    g_autoptr(GDir) listing = g_dir_open (dir, 0, NULL);
    const char *name;

    while (listing != NULL && (name = g_dir_read_name (listing)) != NULL)
      {
        g_autofree char *path = g_build_filename (dir, name, NULL);
        g_unlink (path);
      }
    g_rmdir (dir);
  }
}

static double
random_seconds (double low,
                double high)
{
  return g_test_rand_double_range (low, high);
}

static void
test_quit_cli_under_load (void)
{
  const char *binary = g_getenv ("SYNMESH_BIN");
  const char *argv[] = { binary, "run", "--rate", "1500", "--refresh-ms", "100", NULL, NULL };

  g_assert_nonnull (binary);
  for (guint i = 0; i < 6; i++)
    {
      /* Half of the runs record into the database, half do not. */
      argv[6] = i % 2 ? "--no-store" : NULL;
      run_and_interrupt (argv, random_seconds (0, 1.5), i % 3 ? SIGINT : SIGTERM, 60);
    }
}

static void
test_quit_app_under_load (void)
{
  const char *binary = g_getenv ("SYNMESH_APP_BIN");
  const char * const argv[] = { binary, "--load", "1500", NULL };

  if (binary == NULL || !g_file_test (binary, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_skip ("the app is not built");
      return;
    }
  if (g_getenv ("DISPLAY") == NULL && g_getenv ("WAYLAND_DISPLAY") == NULL)
    {
      g_test_skip ("no display");
      return;
    }
  /* Early (the window still coming up) and late (charts and recording
   * running), each way a user quits from outside. */
  for (guint i = 0; i < 4; i++)
    run_and_interrupt (argv, i < 2 ? random_seconds (0, 1) : random_seconds (3, 6),
                       i % 2 ? SIGINT : SIGTERM, 120);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/quit/cli-under-load", test_quit_cli_under_load);
  g_test_add_func ("/quit/app-under-load", test_quit_app_under_load);

  return g_test_run ();
}
