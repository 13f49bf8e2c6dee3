/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gio/gio.h>
#include <glib/gstdio.h>

#include "sm-node.h"

/* The mesh from the command line only, every node a process of its own
 * (issue 20): `synmesh trust` changing whom a running `synmesh node`
 * serves, and `synmesh node --load` / `synmesh run --peer` offloading
 * through a peer that is killed, stopped and restarted under load.  The
 * oracle is what the commands print and their exit status: every query
 * submitted is answered once (submitted = answered, 0 failed), and every
 * query sent to a peer was answered there or rerun here. */

#define HEARTBEAT "100"

typedef struct
{
  GSubprocess      *process;
  GDataInputStream *output;
  char             *endpoint;
  char             *public_key;
  /* Lines child_start() passed over on the way to "listening": a node
   * may report a peer ready before that, and a later child_read_until()
   * must still find it. */
  GPtrArray        *backlog;
  gboolean          collecting;
} Child;

static GSubprocess *
spawn (const char         *data_dir,
       GSubprocessFlags    flags,
       const char * const *args)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (flags);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  GSubprocess *process;

  g_subprocess_launcher_setenv (launcher, "SYNMESH_DATA_DIR", data_dir, TRUE);
  g_ptr_array_add (argv, (gpointer) g_getenv ("SYNMESH_BIN"));
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  return process;
}

/* Runs synmesh to the end in @data_dir; its exit status, with its output. */
static int
run (const char         *data_dir,
     const char * const *args,
     char              **out,
     char              **err)
{
  g_autoptr(GSubprocess) process = spawn (data_dir, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, args);
  g_autoptr(GError) error = NULL;

  g_subprocess_communicate_utf8 (process, NULL, NULL, out, err, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (process));
  return g_subprocess_get_exit_status (process);
}

/* The next line of the child's output that starts with @prefix (the
 * lines before it are logged); NULL when the child ended first. */
static char *
child_read_until (Child      *child,
                  const char *prefix)
{
  /* First what the node said while it started. */
  for (guint i = 0; child->backlog != NULL && i < child->backlog->len; i++)
    if (g_str_has_prefix (g_ptr_array_index (child->backlog, i), prefix))
      return g_ptr_array_steal_index (child->backlog, i);

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      char *line = g_data_input_stream_read_line (child->output, NULL, NULL, &error);

      g_assert_no_error (error);
      if (line == NULL || g_str_has_prefix (line, prefix))
        return line;
      g_test_message ("  | %s", line);
      if (child->collecting)
        g_ptr_array_add (child->backlog, line);
      else
        g_free (line);
    }
}

static void
child_expect (Child      *child,
              const char *prefix)
{
  g_autofree char *line = child_read_until (child, prefix);

  if (line == NULL)
    g_error ("synmesh ended before it printed “%s”", prefix);
  g_test_message ("  > %s", line);
}

/* Starts `synmesh node` in @data_dir with @args, up to its "listening"
 * line: its endpoint and public key are then known. */
static void
child_start (Child              *child,
             const char         *data_dir,
             const char * const *args)
{
  g_autofree char *line = NULL;

  child->process = spawn (data_dir, G_SUBPROCESS_FLAGS_STDOUT_PIPE, args);
  child->output = g_data_input_stream_new (g_subprocess_get_stdout_pipe (child->process));
  g_clear_pointer (&child->backlog, g_ptr_array_unref);
  child->backlog = g_ptr_array_new_with_free_func (g_free);
  child->collecting = TRUE;
  line = child_read_until (child, "public key ");
  g_assert_nonnull (line);
  g_free (child->public_key);
  child->public_key = g_strdup (line + strlen ("public key "));
  g_clear_pointer (&line, g_free);
  line = child_read_until (child, "listening ");
  g_assert_nonnull (line);
  g_free (child->endpoint);
  child->endpoint = g_strndup (line + strlen ("listening "), strcspn (line + strlen ("listening "), " "));
  child->collecting = FALSE;
}

static int
child_pid (Child *child)
{
  return atoi (g_subprocess_get_identifier (child->process));
}

/* SIGTERM, then the rest of its output; its exit status. */
static int
child_stop (Child  *child,
            char  **rest)
{
  g_autoptr(GString) text = g_string_new (NULL);
  char *line;
  int status;

  g_subprocess_send_signal (child->process, SIGTERM);
  while ((line = g_data_input_stream_read_line (child->output, NULL, NULL, NULL)) != NULL)
    {
      g_string_append_printf (text, "%s\n", line);
      g_free (line);
    }
  g_assert_true (g_subprocess_wait (child->process, NULL, NULL));
  g_assert_true (g_subprocess_get_if_exited (child->process));
  status = g_subprocess_get_exit_status (child->process);
  g_clear_object (&child->output);
  g_clear_object (&child->process);
  if (rest != NULL)
    *rest = g_string_free (g_steal_pointer (&text), FALSE);
  return status;
}

static void
child_clear (Child *child)
{
  g_clear_object (&child->output);
  g_clear_object (&child->process);
  g_clear_pointer (&child->endpoint, g_free);
  g_clear_pointer (&child->public_key, g_free);
  g_clear_pointer (&child->backlog, g_ptr_array_unref);
}

/* What the summary says. */
typedef struct
{
  guint64 submitted, answered, failed, shed;
  guint64 sent, requests, remote, rerun, late;
} Totals;

static Totals
parse_totals (const char *out)
{
  Totals t = { 0 };
  const char *queries = strstr (out, "  queries    ");
  const char *mesh = strstr (out, "  mesh       ");

  g_assert_nonnull (queries);
  g_assert_nonnull (mesh);
  g_assert_cmpint (sscanf (queries, "  queries    %" G_GUINT64_FORMAT " submitted, %" G_GUINT64_FORMAT " answered, %"
                           G_GUINT64_FORMAT " failed, %" G_GUINT64_FORMAT, &t.submitted, &t.answered, &t.failed, &t.shed), ==, 4);
  g_assert_cmpint (sscanf (mesh, "  mesh       %" G_GUINT64_FORMAT " sent to peers in %" G_GUINT64_FORMAT
                           " requests, %" G_GUINT64_FORMAT " answered remotely, %" G_GUINT64_FORMAT
                           " rerun locally, %" G_GUINT64_FORMAT,
                           &t.sent, &t.requests, &t.remote, &t.rerun, &t.late), ==, 5);
  g_test_message ("queries: %" G_GUINT64_FORMAT " submitted, %" G_GUINT64_FORMAT " answered, %" G_GUINT64_FORMAT
                  " failed; to peers %" G_GUINT64_FORMAT ", answered there %" G_GUINT64_FORMAT ", rerun here %"
                  G_GUINT64_FORMAT ", late answers ignored %" G_GUINT64_FORMAT,
                  t.submitted, t.answered, t.failed, t.sent, t.remote, t.rerun, t.late);
  /* Every query ended once, and every query a peer took ended once. */
  g_assert_cmpuint (t.failed, ==, 0);
  g_assert_cmpuint (t.answered, ==, t.submitted);
  g_assert_cmpuint (t.remote + t.rerun, ==, t.sent);
  g_assert_cmpuint (t.requests, <=, t.sent);
  g_assert_true ((t.requests == 0) == (t.sent == 0));
  return t;
}

static char *
make_key (const char *data_dir)
{
  g_autofree char *out = NULL, *err = NULL;
  const char *line;

  g_assert_cmpint (run (data_dir, (const char *[]) { "keygen", NULL }, &out, &err), ==, 0);
  line = strstr (out, "Public key:");
  g_assert_nonnull (line);
  line += strlen ("Public key:");
  while (*line == ' ')
    line++;
  return g_strndup (line, 40);
}

static char *
make_dir (const char *parent,
          const char *name)
{
  char *dir = g_build_filename (parent, name, NULL);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  return dir;
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

/* A short `synmesh run` that offloads everything it can to @node. */
static Totals
run_through (const char *dir,
             Child      *node)
{
  g_autofree char *peer = g_strdup_printf ("n@%s=%s", node->endpoint, node->public_key);
  g_autofree char *out = NULL, *err = NULL;
  int status;

  status = run (dir, (const char *[]) { "run", "--peer", peer, "--offload", "100", "--heartbeat", HEARTBEAT,
                                        "--duration", "1.5", "--rate", "200", "--threads", "1",
                                        "--no-store", "--refresh-ms", "5000", NULL }, &out, &err);
  if (status != 0)
    g_test_message ("%s%s", out, err);
  g_assert_cmpint (status, ==, 0);
  return parse_totals (out);
}

/* `synmesh trust add` lets a running node's new peer in, `remove` shuts
 * it out again: three `synmesh run`s through one `synmesh node`. */
static void
test_mesh_cli_trust_live (void)
{
  g_autofree char *dir = g_dir_make_tmp ("synmesh-mesh-cli-XXXXXX", NULL);
  g_autofree char *node_dir = make_dir (dir, "node");
  g_autofree char *run_dir = make_dir (dir, "run");
  g_autofree char *run_key = make_key (run_dir);
  g_autofree char *out = NULL, *err = NULL, *rest = NULL;
  Child node = { 0 };
  Totals t;

  child_start (&node, node_dir, (const char *[]) { "node", "--bind", "tcp://127.0.0.1:*", "--name", "n",
                                                   "--heartbeat", HEARTBEAT, "--threads", "1", NULL });

  /* Not trusted: the node refuses the run's key, all runs here. */
  t = run_through (run_dir, &node);
  g_assert_cmpuint (t.sent, ==, 0);

  g_assert_cmpint (run (node_dir, (const char *[]) { "trust", "add", "runner", "--", run_key, NULL }, &out, &err), ==, 0);
  child_expect (&node, "event rejected -: Read ");
  t = run_through (run_dir, &node);
  g_assert_cmpuint (t.remote, >, 0);

  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run (node_dir, (const char *[]) { "trust", "remove", "runner", NULL }, &out, &err), ==, 0);
  child_expect (&node, "event rejected -: Read ");
  t = run_through (run_dir, &node);
  g_assert_cmpuint (t.sent, ==, 0);

  g_assert_cmpint (child_stop (&node, &rest), ==, 0);
  g_test_message ("%s", rest);
  /* Both untrusted runs' connections were refused by the node. */
  g_assert_nonnull (strstr (rest, "refused-connections="));
  g_assert_cmpint (atoi (strstr (rest, "refused-connections=") + strlen ("refused-connections=")), >=, 2);
  child_clear (&node);
  remove_tree (dir);
}

/* Until /proc says the process is stopped (every thread, for a busy one). */
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
          g_autofree char *stat = NULL;
          const char *end;

          if (!g_file_get_contents (path, &stat, NULL, NULL))
            continue;
          end = strrchr (stat, ')');
          all = end != NULL && end[1] == ' ' && end[2] == 'T';
        }
      if (!all)
        g_usleep (1000);
    }
  while (!all);
}

/* One `synmesh node --load` offloading all it can to a peer that is killed
 * with SIGKILL mid-load, restarted on the same key and port, stopped with
 * SIGSTOP and resumed: no query is lost nor answered twice, and the peer
 * is used again after each. */
static void
test_mesh_cli_failover (void)
{
  g_autofree char *dir = g_dir_make_tmp ("synmesh-mesh-cli-XXXXXX", NULL);
  g_autofree char *peer_dir = make_dir (dir, "peer");
  g_autofree char *load_dir = make_dir (dir, "load");
  g_autofree char *load_key = make_key (load_dir);
  g_autofree char *out = NULL, *err = NULL, *rest = NULL, *peer_arg = NULL, *endpoint = NULL;
  Child peer = { 0 }, load = { 0 };
  Totals t;

  /* The peer trusts the loaded node by file, the way a user would. */
  g_assert_cmpint (run (peer_dir, (const char *[]) { "trust", "add", "load", "--", load_key, NULL }, &out, &err), ==, 0);
  child_start (&peer, peer_dir, (const char *[]) { "node", "--bind", "tcp://127.0.0.1:*", "--name", "p",
                                                   "--heartbeat", HEARTBEAT, "--threads", "1", NULL });
  endpoint = g_strdup (peer.endpoint);
  peer_arg = g_strdup_printf ("p@%s=%s", peer.endpoint, peer.public_key);
  child_start (&load, load_dir, (const char *[]) { "node", "--bind", "tcp://127.0.0.1:*", "--name", "load",
                                                   "--heartbeat", HEARTBEAT, "--threads", "1", "--peer", peer_arg,
                                                   "--offload", "100", "--load", "300", NULL });
  child_expect (&load, "event ready p:");
  g_usleep (500000);

  /* Killed outright with queries out: they run here once it is gone. */
  g_subprocess_force_exit (peer.process);
  g_assert_true (g_subprocess_wait (peer.process, NULL, NULL));
  child_expect (&load, "event gone p:");
  g_usleep (200000);

  /* Back on the same port with the same key: used again. */
  child_clear (&peer);
  child_start (&peer, peer_dir, (const char *[]) { "node", "--bind", endpoint, "--name", "p",
                                                   "--heartbeat", HEARTBEAT, "--threads", "1", NULL });
  child_expect (&load, "event ready p:");
  g_usleep (500000);

  /* Stopped: connected but silent.  Its queries run here once it is gone,
   * and what it answers when it wakes up is ignored. */
  g_assert_cmpint (kill (child_pid (&peer), SIGSTOP), ==, 0);
  wait_stopped (child_pid (&peer));
  child_expect (&load, "event gone p:");
  g_usleep (200000);
  g_assert_cmpint (kill (child_pid (&peer), SIGCONT), ==, 0);
  child_expect (&load, "event ready p:");
  g_usleep (500000);

  g_assert_cmpint (child_stop (&load, &rest), ==, 0);
  t = parse_totals (rest);
  g_assert_cmpuint (t.remote, >, 0);
  /* At least the queries sent while the peer was stopped. */
  g_assert_cmpuint (t.rerun, >, 0);
  g_assert_cmpint (child_stop (&peer, NULL), ==, 0);

  child_clear (&peer);
  child_clear (&load);
  remove_tree (dir);
}

/* The peer is killed and started again before the loaded node misses
 * three heartbeats: libzmq reconnects the old socket to the new process,
 * which does not know the node.  Its refusal makes the node say HELLO
 * again, and the peer is used again (it was refused for good before). */
static void
test_mesh_cli_quick_restart (void)
{
  g_autofree char *dir = g_dir_make_tmp ("synmesh-mesh-cli-XXXXXX", NULL);
  g_autofree char *peer_dir = make_dir (dir, "peer");
  g_autofree char *load_dir = make_dir (dir, "load");
  g_autofree char *load_key = make_key (load_dir);
  g_autofree char *out = NULL, *err = NULL, *rest = NULL, *peer_rest = NULL, *peer_arg = NULL, *endpoint = NULL;
  Child peer = { 0 }, load = { 0 };
  const char *served;

  g_assert_cmpint (run (peer_dir, (const char *[]) { "trust", "add", "load", "--", load_key, NULL }, &out, &err), ==, 0);
  child_start (&peer, peer_dir, (const char *[]) { "node", "--bind", "tcp://127.0.0.1:*", "--name", "p",
                                                   "--heartbeat", HEARTBEAT, "--threads", "1", NULL });
  endpoint = g_strdup (peer.endpoint);
  peer_arg = g_strdup_printf ("p@%s=%s", peer.endpoint, peer.public_key);
  /* A slow heartbeat: the peer is back long before it could be missed. */
  child_start (&load, load_dir, (const char *[]) { "node", "--bind", "tcp://127.0.0.1:*", "--name", "load",
                                                   "--heartbeat", "5000", "--threads", "1", "--peer", peer_arg,
                                                   "--offload", "100", "--load", "200", NULL });
  child_expect (&load, "event ready p:");
  g_subprocess_force_exit (peer.process);
  g_assert_true (g_subprocess_wait (peer.process, NULL, NULL));
  child_clear (&peer);
  child_start (&peer, peer_dir, (const char *[]) { "node", "--bind", endpoint, "--name", "p",
                                                   "--heartbeat", HEARTBEAT, "--threads", "1", NULL });
  child_expect (&load, "event gone p: does not know this node");
  child_expect (&load, "event ready p:");
  g_usleep (500000);

  g_assert_cmpint (child_stop (&load, &rest), ==, 0);
  parse_totals (rest);
  g_assert_cmpint (child_stop (&peer, &peer_rest), ==, 0);
  served = strstr (peer_rest, "status served=");
  g_assert_nonnull (served);
  g_test_message ("the restarted peer: %s", served);
  g_assert_cmpint (atoi (served + strlen ("status served=")), >, 0);

  child_clear (&peer);
  child_clear (&load);
  remove_tree (dir);
}

/* A free loopback port, for a node that its peers must know before it
 * starts (the port could be taken meanwhile; nothing else here binds). */
static guint
free_port (void)
{
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  g_assert_nonnull (socket);
  g_assert_true (g_socket_bind (socket, any, FALSE, NULL));
  bound = g_socket_get_local_address (socket, NULL);
  g_assert_nonnull (bound);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

#define MESH_SIZE 4
#define MESH_HEARTBEAT_MS 200

typedef struct
{
  char  *dir;
  char  *key;
  char  *endpoint;
  Child  child;
} MeshNode;

/* Starts node @i of @nodes with every other one as its peer, under load
 * and offloading a third of its queries. */
static void
mesh_node_start (MeshNode *nodes,
                 guint     i)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *heartbeat = g_strdup_printf ("%d", MESH_HEARTBEAT_MS);

  for (const char * const *a = (const char * const[]) { "node", "--bind", nodes[i].endpoint, "--heartbeat", heartbeat,
                                                        "--threads", "1", "--load", "150", "--offload", "30",
                                                        "--name", NULL }; *a != NULL; a++)
    g_ptr_array_add (args, g_strdup (*a));
  g_ptr_array_add (args, g_strdup_printf ("n%u", i));
  for (guint j = 0; j < MESH_SIZE; j++)
    if (j != i)
      {
        g_ptr_array_add (args, g_strdup ("--peer"));
        g_ptr_array_add (args, g_strdup_printf ("n%u@%s=%s", j, nodes[j].endpoint, nodes[j].key));
      }
  g_ptr_array_add (args, NULL);
  child_start (&nodes[i].child, nodes[i].dir, (const char * const *) args->pdata);
}

/* Reads @child's output until it said "event @what nJ:" for each node
 * J of @mask; the ms that took from @since (µs, monotonic). */
static double
mesh_expect_events (Child      *child,
                    const char *what,
                    guint       mask,
                    gint64      since)
{
  g_autofree char *prefix = g_strdup_printf ("event %s n", what);

  while (mask != 0)
    {
      g_autofree char *line = child_read_until (child, prefix);
      guint j;

      if (line == NULL)
        g_error ("the node ended before it said “%s…” of every peer", prefix);
      g_test_message ("  > %s", line);
      j = (guint) atoi (line + strlen (prefix));
      mask &= ~(1u << j);
    }
  return (g_get_monotonic_time () - since) / 1000.0;
}

/* Four `synmesh node`s in a full mesh (discovery off), each under load and
 * offloading to the others.  One is killed with SIGKILL and started again
 * on its port and key: the others see it gone and ready again, each in a
 * few heartbeats, and no query of theirs is lost nor answered twice. */
static void
test_mesh_cli_four_nodes (void)
{
  g_autofree char *dir = g_dir_make_tmp ("synmesh-mesh-cli-XXXXXX", NULL);
  MeshNode nodes[MESH_SIZE] = { { 0 } };
  const guint victim = MESH_SIZE - 1, others = (1u << victim) - 1;
  /* Gone after three silent heartbeats; the rest is slack for four
   * loaded processes on a small machine, under a sanitizer too. */
  const double bound_ms = (SM_NODE_MISSED_HEARTBEATS + 1) * MESH_HEARTBEAT_MS + 3000;
  gint64 t0;

  for (guint i = 0; i < MESH_SIZE; i++)
    {
      g_autofree char *name = g_strdup_printf ("n%u", i);

      nodes[i].dir = make_dir (dir, name);
      nodes[i].key = make_key (nodes[i].dir);
      nodes[i].endpoint = g_strdup_printf ("tcp://127.0.0.1:%u", free_port ());
    }
  for (guint i = 0; i < MESH_SIZE; i++)
    mesh_node_start (nodes, i);
  for (guint i = 0; i < MESH_SIZE; i++)
    mesh_expect_events (&nodes[i].child, "ready", ((1u << MESH_SIZE) - 1) & ~(1u << i), 0);
  g_usleep (500000);

  t0 = g_get_monotonic_time ();
  g_subprocess_force_exit (nodes[victim].child.process);
  g_assert_true (g_subprocess_wait (nodes[victim].child.process, NULL, NULL));
  for (guint i = 0; i < victim; i++)
    {
      double ms = mesh_expect_events (&nodes[i].child, "gone", 1u << victim, t0);

      g_test_message ("n%u saw n%u gone %.0f ms after the kill (heartbeat %d ms)", i, victim, ms, MESH_HEARTBEAT_MS);
      g_assert_cmpfloat (ms, <=, bound_ms);
    }
  g_usleep (300000);

  child_clear (&nodes[victim].child);
  t0 = g_get_monotonic_time ();
  mesh_node_start (nodes, victim);
  mesh_expect_events (&nodes[victim].child, "ready", others, t0);
  for (guint i = 0; i < victim; i++)
    {
      double ms = mesh_expect_events (&nodes[i].child, "ready", 1u << victim, t0);

      g_test_message ("n%u saw n%u ready %.0f ms after its restart", i, victim, ms);
      g_assert_cmpfloat (ms, <=, bound_ms);
    }
  g_usleep (500000);

  for (guint i = 0; i < MESH_SIZE; i++)
    {
      g_autofree char *rest = NULL;
      Totals t;

      g_assert_cmpint (child_stop (&nodes[i].child, &rest), ==, 0);
      t = parse_totals (rest);
      g_assert_cmpuint (t.submitted, >, 0);
      g_assert_cmpuint (t.remote, >, 0);
      child_clear (&nodes[i].child);
      g_free (nodes[i].dir);
      g_free (nodes[i].key);
      g_free (nodes[i].endpoint);
    }
  remove_tree (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/mesh-cli/trust-live", test_mesh_cli_trust_live);
  g_test_add_func ("/mesh-cli/failover", test_mesh_cli_failover);
  g_test_add_func ("/mesh-cli/quick-restart", test_mesh_cli_quick_restart);
  g_test_add_func ("/mesh-cli/four-nodes", test_mesh_cli_four_nodes);

  return g_test_run ();
}
