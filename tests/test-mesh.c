/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <gio/gio.h>
#include <glib/gstdio.h>

#include "mesh-test-util.h"

/* Three nodes as three processes on loopback: this one (A, in the test)
 * and two `synmesh node` children, B with the same model and C with
 * another.  Ports are chosen by the system, so tests run in parallel. */

typedef struct
{
  GSubprocess      *process;
  GDataInputStream *output;
  char             *endpoint;
  char             *public_key;
} Child;

/* Reads the child's lines until "listening ENDPOINT as NAME". */
static void
child_wait_listening (Child *child)
{
  for (;;)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *line = g_data_input_stream_read_line (child->output, NULL, NULL, &error);

      g_assert_no_error (error);
      if (line == NULL)
        g_error ("synmesh node exited before it listened");
      if (g_str_has_prefix (line, "public key "))
        {
          g_free (child->public_key);
          child->public_key = g_strdup (line + strlen ("public key "));
        }
      else if (g_str_has_prefix (line, "listening "))
        {
          char *space = strchr (line + strlen ("listening "), ' ');

          g_assert_nonnull (space);
          g_free (child->endpoint);
          child->endpoint = g_strndup (line + strlen ("listening "), (gsize) (space - line) - strlen ("listening "));
          return;
        }
    }
}

static void
child_start (Child      *child,
             const char *dir,
             const char *name,
             const char *bind,
             const char *preset,
             TestNode   *a)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr(GError) error = NULL;
  g_autofree char *data_dir = g_build_filename (dir, name, NULL);
  g_autofree char *peer = g_strdup_printf ("a@%s=%s", sm_node_get_endpoint (a->node), a->identity.public_key);
  g_autofree char *heartbeat = g_strdup_printf ("%d", TEST_HEARTBEAT_MS);

  g_assert_cmpint (g_mkdir_with_parents (data_dir, 0700), ==, 0);
  g_subprocess_launcher_setenv (launcher, "SYNMESH_DATA_DIR", data_dir, TRUE);
  child->process = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("SYNMESH_BIN"), "node",
                                                "--bind", bind, "--name", name, "--preset", preset,
                                                "--heartbeat", heartbeat, "--threads", "1",
                                                "--peer", peer, NULL);
  g_assert_no_error (error);
  g_clear_object (&child->output);
  child->output = g_data_input_stream_new (g_subprocess_get_stdout_pipe (child->process));
  child_wait_listening (child);
}

static void
child_stop (Child *child)
{
  if (child->process != NULL)
    {
      g_subprocess_send_signal (child->process, SIGTERM);
      g_assert_true (g_subprocess_wait (child->process, NULL, NULL));
    }
  g_clear_object (&child->process);
  g_clear_object (&child->output);
}

typedef struct
{
  gint submitted;
  gint answered;
  gint remote;
  gint failed;
} Tally;

static void
tally_cb (SmResult     *result,
          const GError *error,
          gpointer      user_data)
{
  Tally *tally = user_data;

  if (error != NULL)
    g_atomic_int_inc (&tally->failed);
  else
    {
      if (result->remote)
        g_atomic_int_inc (&tally->remote);
      g_atomic_int_inc (&tally->answered);
    }
  sm_result_free (result);
}

/* Until /proc says every thread of the process is stopped: SIGSTOP
 * takes a moment to reach all the threads of a busy process. */
static gboolean
thread_stopped (const char *stat_path)
{
  g_autofree char *stat = NULL;
  const char *end;

  if (!g_file_get_contents (stat_path, &stat, NULL, NULL))
    return TRUE;   /* a thread that ended */
  end = strrchr (stat, ')');
  return end != NULL && end[1] == ' ' && end[2] == 'T';
}

static void
wait_stopped (int pid)
{
  g_autofree char *tasks = g_strdup_printf ("/proc/%d/task", pid);
  gboolean all;

  do
    {
      g_autoptr(GDir) dir = g_dir_open (tasks, 0, NULL);
      const char *name;

      g_assert_nonnull (dir);
      all = TRUE;
      while (all && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *path = g_build_filename (tasks, name, "stat", NULL);

          all = thread_stopped (path);
        }
      if (!all)
        g_usleep (1000);
    }
  while (!all);
}

static const char * const queries[] = {
  "prove that every bounded monotone sequence converges",
  "write a rust function that parses an ini file",
  "what is the german word for spoon",
  "solve x squared minus five x plus six equals zero",
  "search the flight api for a trip to lisbon",
  "recall what we said about the deadline earlier",
};

static void
test_mesh_three_processes (void)
{
  g_autofree char *dir = g_dir_make_tmp ("synmesh-mesh-XXXXXX", NULL);
  g_autoptr(GError) error = NULL;
  TestNode a = { 0 };
  Child b = { 0 }, c = { 0 };
  Tally tally = { 0 };
  SmResult *local[G_N_ELEMENTS (queries)];
  SmNodePeerInfo peer;
  g_autofree char *b_endpoint = NULL;
  gint64 killed, gone_ms;
  guint64 answered_before;

  test_node_start (&a, "node-a", NULL);
  child_start (&b, dir, "node-b", "tcp://127.0.0.1:*", "standard", &a);
  child_start (&c, dir, "node-c", "tcp://127.0.0.1:*", "micro", &a);

  /* Discovery by static list; HELLO tells B's model from C's. */
  g_assert_true (sm_node_add_peer (a.node, "b", b.endpoint, b.public_key, &error));
  g_assert_true (sm_node_add_peer (a.node, "c", c.endpoint, c.public_key, &error));
  g_assert_no_error (error);
  test_wait_for_peer (a.node, 0, SM_PEER_READY, 10000);
  test_wait_for_peer (a.node, 1, SM_PEER_MISMATCH, 10000);
  g_assert_cmpstr (test_node_get_peer (a.node, 0).hello.name, ==, "node-b");
  g_assert_cmpstr (test_node_get_peer (a.node, 1).hello.name, ==, "node-c");

  /* RTT is measured by the heartbeat. */
  while (test_node_get_peer (a.node, 0).rtt_count < 2)
    g_usleep (10000);
  g_assert_cmpuint (test_node_get_peer (a.node, 0).rtt_p50_ns, >, 0);

  /* Remote inference equals local inference, to the bit. */
  for (guint i = 0; i < G_N_ELEMENTS (queries); i++)
    local[i] = sm_engine_infer (a.engine, queries[i], &error);
  sm_engine_set_offload_share (a.engine, 100, 0);
  for (guint i = 0; i < G_N_ELEMENTS (queries); i++)
    {
      g_autoptr(SmResult) remote = sm_engine_infer (a.engine, queries[i], &error);

      g_assert_no_error (error);
      g_assert_true (remote->remote);
      g_assert_cmpmem (remote->output, remote->output_width * sizeof (float),
                       local[i]->output, local[i]->output_width * sizeof (float));
      sm_result_free (local[i]);
    }
  g_assert_cmpuint (test_node_get_peer (a.node, 1).offloaded, ==, 0);

  /* B dies with queries in flight: it is gone within three heartbeats
   * (plus the tick that notices) and every query is still answered. */
  for (guint i = 0; i < 200; i++)
    {
      g_atomic_int_inc (&tally.submitted);
      sm_engine_submit (a.engine, queries[i % G_N_ELEMENTS (queries)], -1, 0, tally_cb, &tally);
    }
  while (g_atomic_int_get (&tally.remote) < 20)
    g_usleep (1000);
  g_subprocess_force_exit (b.process);
  killed = g_get_monotonic_time ();
  for (guint i = 0; i < 200; i++)
    {
      g_atomic_int_inc (&tally.submitted);
      sm_engine_submit (a.engine, queries[i % G_N_ELEMENTS (queries)], -1, 0, tally_cb, &tally);
      g_usleep (500);
    }
  g_assert_true (g_subprocess_wait (b.process, NULL, NULL));
  test_wait_for_peer (a.node, 0, SM_PEER_GONE, 5000);
  gone_ms = (g_get_monotonic_time () - killed) / 1000;
  g_test_message ("B was killed; gone after %" G_GINT64_FORMAT " ms (heartbeat %d ms)", gone_ms, TEST_HEARTBEAT_MS);
  g_assert_cmpint (gone_ms, <=, (SM_NODE_MISSED_HEARTBEATS + 1) * TEST_HEARTBEAT_MS + 250);

  sm_engine_drain (a.engine);
  g_assert_cmpint (tally.failed, ==, 0);
  g_assert_cmpint (tally.answered, ==, tally.submitted);
  peer = test_node_get_peer (a.node, 0);
  g_assert_cmpuint (peer.in_flight, ==, 0);
  g_assert_cmpuint (peer.answered + peer.retried, ==, peer.offloaded);
  g_test_message ("of %d queries, %d answered by B, %" G_GUINT64_FORMAT " retried here after it died",
                  tally.submitted, tally.remote, peer.retried);

  /* B comes back on the same port with the same key and is used again. */
  b_endpoint = g_strdup (b.endpoint);
  g_clear_object (&b.process);
  child_start (&b, dir, "node-b", b_endpoint, "standard", &a);
  test_wait_for_peer (a.node, 0, SM_PEER_READY, 10000);
  answered_before = test_node_get_peer (a.node, 0).answered;
  for (guint i = 0; i < 10; i++)
    {
      g_autoptr(SmResult) result = sm_engine_infer (a.engine, queries[i % G_N_ELEMENTS (queries)], &error);

      g_assert_no_error (error);
      g_assert_true (result->remote);
    }
  g_assert_cmpuint (test_node_get_peer (a.node, 0).answered, ==, answered_before + 10);

  /* B stops answering but keeps its connection (SIGSTOP): the queries it
   * holds are retried here once it is gone, and none is lost; when it
   * wakes up, its late answers are dropped and it is used again. */
  memset (&tally, 0, sizeof tally);
  peer = test_node_get_peer (a.node, 0);
  g_assert_true (kill (atoi (g_subprocess_get_identifier (b.process)), SIGSTOP) == 0);
  wait_stopped (atoi (g_subprocess_get_identifier (b.process)));
  for (guint i = 0; i < 50; i++)
    {
      g_atomic_int_inc (&tally.submitted);
      sm_engine_submit (a.engine, queries[i % G_N_ELEMENTS (queries)], -1, 0, tally_cb, &tally);
    }
  test_wait_for_peer (a.node, 0, SM_PEER_GONE, 5000);
  sm_engine_drain (a.engine);
  g_assert_cmpint (tally.answered, ==, 50);
  g_assert_cmpint (tally.remote, ==, 0);
  g_assert_cmpuint (test_node_get_peer (a.node, 0).retried, ==, peer.retried + 50);
  g_assert_true (kill (atoi (g_subprocess_get_identifier (b.process)), SIGCONT) == 0);
  test_wait_for_peer (a.node, 0, SM_PEER_READY, 10000);
  {
    g_autoptr(SmResult) result = sm_engine_infer (a.engine, queries[0], &error);

    g_assert_no_error (error);
    g_assert_true (result->remote);
  }

  child_stop (&b);
  child_stop (&c);
  test_node_stop (&a);
  g_free (b.endpoint);
  g_free (b.public_key);
  g_free (c.endpoint);
  g_free (c.public_key);
  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *child_dir = g_build_filename (dir, i == 0 ? "node-b" : "node-c", NULL);
      g_autofree char *key = g_build_filename (child_dir, SM_IDENTITY_FILE_NAME, NULL);

      g_assert_cmpint (g_unlink (key), ==, 0);
      g_assert_cmpint (g_rmdir (child_dir), ==, 0);
    }
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

/* A node bound beyond loopback says so when it starts (issue 15). */
static void
test_mesh_public_bind_noted (void)
{
  g_autofree char *dir = g_dir_make_tmp ("sm-mesh-XXXXXX", NULL);
  TestNode a = { 0 };
  Child child = { 0 };
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;

  test_node_start (&a, "node-a", NULL);
  child_start (&child, dir, "public", "tcp://0.0.0.0:*", "micro", &a);
  line = g_data_input_stream_read_line (child.output, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (line);
  g_assert_true (g_str_has_prefix (line, "note: "));
  g_assert_nonnull (strstr (line, "reachable from the network"));
  child_stop (&child);
  g_free (child.endpoint);
  g_free (child.public_key);
  test_node_stop (&a);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/mesh/three-processes", test_mesh_three_processes);
  g_test_add_func ("/mesh/public-bind-noted", test_mesh_public_bind_noted);

  return g_test_run ();
}
