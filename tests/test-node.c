/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "mesh-test-util.h"
#include "sm-error.h"
#include "sm-metric-ids.h"
#include "sm-store.h"

static const char * const queries[] = {
  "prove that the square root of two is irrational",
  "write a python function that reverses a linked list",
  "translate good morning into french",
  "integrate x squared from zero to one",
  "call the weather api for berlin tomorrow",
  "summarise the previous conversation about the budget",
  "why does the sky look blue at noon",
  "fix the segfault in this c loop over an array",
};

/* Two nodes that know each other: HELLO, RTT, and remote answers that are
 * the local ones to the bit. */
static void
test_node_pair_remote_equals_local (void)
{
  TestNode a = { 0 }, b = { 0 };
  g_autoptr(GError) error = NULL;
  SmResult *local[G_N_ELEMENTS (queries)];
  guint64 rtts[50];
  SmNodePeerInfo peer;
  SmNodeStats stats;

  test_node_start (&a, "node-a", NULL);
  test_node_start (&b, "node-b", NULL);
  /* HELLO tells the kernels b's engine runs, not a process-wide choice. */
  g_assert_true (sm_engine_set_backend (b.engine, SM_BACKEND_GENERIC, NULL));
  g_assert_true (sm_node_add_peer (a.node, "b", sm_node_get_endpoint (b.node), b.identity.public_key, &error));
  g_assert_true (sm_node_add_peer (b.node, "a", sm_node_get_endpoint (a.node), a.identity.public_key, &error));
  g_assert_no_error (error);
  test_wait_for_peer (a.node, 0, SM_PEER_READY, 5000);
  test_wait_for_peer (b.node, 0, SM_PEER_READY, 5000);

  peer = test_node_get_peer (a.node, 0);
  g_assert_true (peer.has_hello);
  g_assert_cmpstr (peer.hello.name, ==, "node-b");
  g_assert_cmpstr (peer.hello.software, ==, PACKAGE_VERSION);
  g_assert_cmpuint (peer.hello.expert_mask, ==, (1u << SM_N_DOMAINS) - 1);
  g_assert_cmpuint (peer.hello.simd_level, ==, SM_SIMD_GENERIC);
  /* Both answer with the same kernels from here: the answers are compared
   * bit for bit. */
  g_assert_true (sm_engine_set_backend (b.engine, SM_BACKEND_AUTO, NULL));

  /* The benchmark's path: PINGs one after another. */
  g_assert_true (sm_node_probe (a.node, 0, G_N_ELEMENTS (rtts), rtts, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (rtts); i++)
    g_assert_cmpuint (rtts[i], >, 0);

  for (guint i = 0; i < G_N_ELEMENTS (queries); i++)
    {
      local[i] = sm_engine_infer (a.engine, queries[i], &error);
      g_assert_no_error (error);
      g_assert_false (local[i]->remote);
    }

  sm_engine_set_offload_share (a.engine, 100, 0);
  for (guint i = 0; i < G_N_ELEMENTS (queries); i++)
    {
      g_autoptr(SmResult) remote = sm_engine_infer (a.engine, queries[i], &error);

      g_assert_no_error (error);
      g_assert_true (remote->remote);
      g_assert_cmpint (remote->domain, ==, local[i]->domain);
      g_assert_cmpuint (remote->output_width, ==, local[i]->output_width);
      g_assert_cmpmem (remote->output, remote->output_width * sizeof (float),
                       local[i]->output, local[i]->output_width * sizeof (float));
      g_assert_cmpuint (remote->argmax, ==, local[i]->argmax);
      sm_result_free (local[i]);
    }

  peer = test_node_get_peer (a.node, 0);
  g_assert_cmpuint (peer.offloaded, ==, G_N_ELEMENTS (queries));
  g_assert_cmpuint (peer.answered, ==, G_N_ELEMENTS (queries));
  g_assert_cmpuint (peer.in_flight, ==, 0);
  sm_node_get_stats (b.node, &stats);
  g_assert_cmpuint (stats.served, ==, G_N_ELEMENTS (queries));

  /* B's once-a-second summary reaches A, with B's measured figures. */
  {
    gint64 until = g_get_monotonic_time () + 3 * G_USEC_PER_SEC;

    do
      {
        peer = test_node_get_peer (a.node, 0);
        g_usleep (10000);
      }
    while ((!peer.has_metrics || peer.metrics.completed < G_N_ELEMENTS (queries))
           && g_get_monotonic_time () < until);
    g_assert_true (peer.has_metrics);
    g_assert_cmpuint (peer.metrics.completed, ==, G_N_ELEMENTS (queries));
    g_assert_cmpuint (peer.metrics.p50_ns, >, 0);
    g_assert_cmpuint (peer.metrics.pool_limit, ==, 64 * 1024 * 1024);
    g_assert_cmpuint (peer.metrics.peers, ==, 1);
  }

  /* Half and half, spread evenly. */
  sm_engine_set_offload_share (a.engine, 50, 0);
  for (guint i = 0; i < 20; i++)
    sm_result_free (sm_engine_infer (a.engine, queries[i % G_N_ELEMENTS (queries)], NULL));
  g_assert_cmpuint (test_node_get_peer (a.node, 0).offloaded, ==, G_N_ELEMENTS (queries) + 10);

  test_node_stop (&a);
  /* b heard a's BYE and runs on. */
  test_wait_for_peer (b.node, 0, SM_PEER_GONE, 2000);
  test_node_stop (&b);
}

/* A peer with another model is told apart and gets no work. */
static void
test_node_model_mismatch (void)
{
  TestNode a = { 0 }, b = { 0 };
  g_autoptr(GError) error = NULL;

  test_node_start (&a, "node-a", NULL);
  test_node_start (&b, "node-b", NULL);
  g_assert_true (sm_engine_load_preset (b.engine, SM_PRESET_MICRO, &error));
  g_assert_true (sm_node_add_peer (a.node, "b", sm_node_get_endpoint (b.node), b.identity.public_key, &error));
  g_assert_true (sm_node_add_peer (b.node, "a", sm_node_get_endpoint (a.node), a.identity.public_key, &error));
  test_wait_for_peer (a.node, 0, SM_PEER_MISMATCH, 5000);

  sm_engine_set_offload_share (a.engine, 100, 0);
  for (guint i = 0; i < 10; i++)
    {
      g_autoptr(SmResult) result = sm_engine_infer (a.engine, queries[i % G_N_ELEMENTS (queries)], &error);

      g_assert_no_error (error);
      g_assert_false (result->remote);
    }
  g_assert_cmpuint (test_node_get_peer (a.node, 0).offloaded, ==, 0);

  test_node_stop (&a);
  test_node_stop (&b);
}

static gboolean
stats_reach (SmNode  *node,
             gsize    offset,
             guint64  at_least)
{
  gint64 until = g_get_monotonic_time () + 3 * G_USEC_PER_SEC;
  SmNodeStats stats;

  do
    {
      sm_node_get_stats (node, &stats);
      if (G_STRUCT_MEMBER (guint64, &stats, offset) >= at_least)
        return TRUE;
      g_usleep (5000);
    }
  while (g_get_monotonic_time () < until);
  return FALSE;
}

/* Only CURVE clients with trusted keys get an answer. */
static void
test_node_rejects_untrusted_and_plain (void)
{
  TestNode b = { 0 };
  SmIdentity trusted, stranger;
  void *context = zmq_ctx_new ();
  void *client;
  SmWireMessage ping = { .type = SM_WIRE_PING, .request_id = 7 }, reply;
  SmNodeStats stats;

  test_make_identity (&trusted);
  test_make_identity (&stranger);
  test_node_start (&b, "node-b", trusted.public_key);

  client = test_client_new (context, sm_node_get_endpoint (b.node), b.identity.public_key, &stranger);
  test_client_send (client, &ping);
  g_assert_false (test_client_receive (client, 300, &reply, NULL, 0));
  g_assert_true (stats_reach (b.node, G_STRUCT_OFFSET (SmNodeStats, untrusted_keys), 1));
  g_assert_true (stats_reach (b.node, G_STRUCT_OFFSET (SmNodeStats, rejected_handshakes), 1));
  zmq_close (client);

  sm_node_get_stats (b.node, &stats);
  client = test_client_new (context, sm_node_get_endpoint (b.node), NULL, NULL);
  test_client_send (client, &ping);
  g_assert_false (test_client_receive (client, 300, &reply, NULL, 0));
  g_assert_true (stats_reach (b.node, G_STRUCT_OFFSET (SmNodeStats, rejected_handshakes), stats.rejected_handshakes + 1));
  zmq_close (client);

  /* The same PING with a trusted key is answered. */
  client = test_client_new (context, sm_node_get_endpoint (b.node), b.identity.public_key, &trusted);
  test_client_send (client, &ping);
  g_assert_true (test_client_receive (client, 3000, &reply, NULL, 0));
  g_assert_cmpint (reply.type, ==, SM_WIRE_PONG);
  g_assert_cmpuint (reply.request_id, ==, 7);
  zmq_close (client);

  test_node_stop (&b);
  zmq_ctx_term (context);
}

static void
send_raw (void         *client,
          const guint8 *frame,
          gsize         size,
          const guint8 *tensor,
          gsize         tensor_size)
{
  zmq_send (client, frame, size, tensor != NULL ? ZMQ_SNDMORE : 0);
  if (tensor != NULL)
    zmq_send (client, tensor, tensor_size, 0);
}

static void
expect_error (void         *client,
              SmWireStatus  status)
{
  SmWireMessage reply;

  g_assert_true (test_client_receive (client, 3000, &reply, NULL, 0));
  g_assert_cmpint (reply.type, ==, SM_WIRE_ERROR_REPLY);
  g_assert_cmpint (reply.body.error.code, ==, status);
}

static void
encode_infer (SmWireMessage *message,
              const float   *features,
              guint          cols)
{
  *message = (SmWireMessage) {
    .type = SM_WIRE_INFER_REQUEST,
    .flags = SM_WIRE_FLAG_TENSOR,
    .request_id = 42,
    .body.infer = { .expert = SM_DOMAIN_CODING, .rows = 1, .cols = cols },
    .tensor = (const guint8 *) features,
    .tensor_size = cols * sizeof (float),
  };
}

/* Garbage from a trusted peer is refused with the right status and
 * counted, and the node keeps serving the same connection. */
static void
test_node_refuses_malformed_frames (void)
{
  TestNode b = { 0 };
  SmIdentity trusted;
  void *context = zmq_ctx_new ();
  void *client;
  guint8 frame[SM_WIRE_ENVELOPE_MAX + 64];
  SmWireMessage message = { .type = SM_WIRE_PING, .request_id = 1 }, reply;
  g_autofree float *features = g_new0 (float, 4096);
  g_autofree float *output = g_new0 (float, 4096);
  guint width, refused = 0;
  guint64 hash;
  guint32 mask;
  SmNodeStats stats;
  gsize size;

  test_make_identity (&trusted);
  test_node_start (&b, "node-b", trusted.public_key);
  sm_engine_get_model_identity (b.engine, &hash, &mask, &width);
  client = test_client_new (context, sm_node_get_endpoint (b.node), b.identity.public_key, &trusted);

  /* Three bytes. */
  send_raw (client, (const guint8 *) "abc", 3, NULL, 0);
  expect_error (client, SM_WIRE_STATUS_MALFORMED), refused++;

  /* Truncated: a PING's header cut short. */
  size = sm_wire_encode (&message, frame);
  send_raw (client, frame, size - 1, NULL, 0);
  expect_error (client, SM_WIRE_STATUS_MALFORMED), refused++;

  /* Another version, an unknown type. */
  frame[4] = SM_WIRE_VERSION + 1;
  send_raw (client, frame, size, NULL, 0);
  expect_error (client, SM_WIRE_STATUS_BAD_VERSION), refused++;
  frame[4] = SM_WIRE_VERSION;
  frame[6] = 99;
  send_raw (client, frame, size, NULL, 0);
  expect_error (client, SM_WIRE_STATUS_BAD_TYPE), refused++;

  /* Oversized: an envelope over the limit. */
  memset (frame, 0, sizeof frame);
  sm_wire_encode (&message, frame);
  send_raw (client, frame, sizeof frame, NULL, 0);
  expect_error (client, SM_WIRE_STATUS_TOO_LARGE), refused++;

  /* A tensor announced but missing; a tensor that does not fit its shape. */
  encode_infer (&message, features, width);
  size = sm_wire_encode (&message, frame);
  send_raw (client, frame, size, NULL, 0);
  expect_error (client, SM_WIRE_STATUS_MALFORMED), refused++;
  send_raw (client, frame, size, (const guint8 *) features, width * sizeof (float) - 4);
  expect_error (client, SM_WIRE_STATUS_MALFORMED), refused++;

  /* Three frames. */
  zmq_send (client, frame, size, ZMQ_SNDMORE);
  zmq_send (client, features, width * sizeof (float), ZMQ_SNDMORE);
  zmq_send (client, "x", 1, 0);
  expect_error (client, SM_WIRE_STATUS_MALFORMED), refused++;

  /* A request before HELLO, and a reply where a request belongs. */
  test_client_send (client, &message);
  expect_error (client, SM_WIRE_STATUS_MODEL_MISMATCH), refused++;
  message = (SmWireMessage) { .type = SM_WIRE_PONG, .request_id = 3 };
  test_client_send (client, &message);
  expect_error (client, SM_WIRE_STATUS_BAD_TYPE), refused++;

  /* An ERROR is never answered with an ERROR. */
  message = (SmWireMessage) { .type = SM_WIRE_ERROR_REPLY, .request_id = 4 };
  message.body.error.code = SM_WIRE_STATUS_INTERNAL;
  test_client_send (client, &message);
  g_assert_false (test_client_receive (client, 200, &reply, NULL, 0));

  sm_node_get_stats (b.node, &stats);
  g_assert_cmpuint (stats.refused_frames, ==, refused);
  g_assert_cmpuint (stats.refused_by_status[SM_WIRE_STATUS_MALFORMED], ==, 5);
  g_assert_cmpuint (stats.refused_by_status[SM_WIRE_STATUS_TOO_LARGE], ==, 1);

  /* Still serving: HELLO, PING, INFER. */
  message = (SmWireMessage) { .type = SM_WIRE_HELLO, .request_id = 5 };
  g_strlcpy (message.body.hello.name, "tester", sizeof message.body.hello.name);
  message.body.hello.model_hash = hash;
  message.body.hello.input_width = width;
  test_client_send (client, &message);
  g_assert_true (test_client_receive (client, 3000, &reply, NULL, 0));
  g_assert_cmpint (reply.type, ==, SM_WIRE_HELLO);
  g_assert_cmpuint (reply.body.hello.model_hash, ==, hash);
  g_assert_cmpstr (reply.body.hello.name, ==, "node-b");

  for (guint i = 0; i < width; i++)
    features[i] = (float) i / width;
  encode_infer (&message, features, width);
  test_client_send (client, &message);
  g_assert_true (test_client_receive (client, 3000, &reply, output, 4096));
  g_assert_cmpint (reply.type, ==, SM_WIRE_INFER_REPLY);
  g_assert_cmpuint (reply.request_id, ==, 42);
  g_assert_cmpuint (reply.body.infer.rows, ==, 1);
  g_assert_cmpuint (reply.body.infer.cols, >, 0);

  zmq_close (client);
  test_node_stop (&b);
  zmq_ctx_term (context);
}

static guint
count_peers (SmNode *node)
{
  g_autoptr(GArray) peers = sm_node_dup_peers (node);

  return peers->len;
}

/* Two nodes that trust each other find each other by UDP beacon, with no
 * peer named; a third, untrusted, is heard and ignored. */
static void
test_node_discovery (void)
{
  guint port = (guint) g_random_int_range (20000, 60000);
  SmIdentity identities[3];
  SmTrust *trusts[3];
  SmEngine *engines[3];
  SmNode *nodes[3];
  g_autoptr(GError) error = NULL;
  SmNodeStats stats;

  for (guint i = 0; i < 3; i++)
    test_make_identity (&identities[i]);
  for (guint i = 0; i < 3; i++)
    {
      SmNodeConfig config = { .name = i == 0 ? "node-a" : i == 1 ? "node-b" : "stranger",
                              .bind = "tcp://127.0.0.1:*", .heartbeat_ms = TEST_HEARTBEAT_MS,
                              .discovery_port = port, .identity = identities[i] };

      trusts[i] = sm_trust_new ();
      if (i < 2)
        g_assert_true (sm_trust_add (trusts[i], i == 0 ? "b" : "a", identities[1 - i].public_key, NULL));
      config.trust = trusts[i];
      engines[i] = sm_engine_new (64 * 1024 * 1024, 1, &error);
      g_assert_no_error (error);
      nodes[i] = sm_node_new (engines[i], &config, &error);
      if (nodes[i] == NULL && g_error_matches (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_NOT_SUPPORTED))
        {
          g_test_skip (error->message);
          for (guint j = 0; j <= i; j++)
            {
              g_clear_pointer (&nodes[j], sm_node_free);
              sm_engine_free (engines[j]);
              sm_trust_free (trusts[j]);
            }
          return;
        }
      g_assert_no_error (error);
    }

  for (guint i = 0; i < 2; i++)
    {
      gint64 until = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

      while (count_peers (nodes[i]) == 0 && g_get_monotonic_time () < until)
        g_usleep (20000);
      g_assert_cmpstr (test_node_get_peer (nodes[i], 0).name, ==, i == 0 ? "b" : "a");
      test_wait_for_peer (nodes[i], 0, SM_PEER_READY, 10000);
      sm_node_get_stats (nodes[i], &stats);
      g_assert_cmpuint (stats.discovered, ==, 1);
    }
  /* The stranger heard both and trusts neither. */
  g_assert_cmpuint (count_peers (nodes[2]), ==, 0);

  for (guint i = 0; i < 3; i++)
    {
      sm_node_free (nodes[i]);
      sm_engine_free (engines[i]);
      sm_trust_free (trusts[i]);
    }
}

static gsize
rss_bytes (void)
{
  g_autofree char *status = NULL;
  const char *line;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL)
      || (line = strstr (status, "VmRSS:")) == NULL)
    return 0;
  return (gsize) g_ascii_strtoull (line + 6, NULL, 10) * 1024;
}

/* 100,000 requests as fast as a client can send them: each is answered
 * (or refused as OVERLOADED), the node never runs more than its cap, and
 * memory does not follow the backlog. */
static void
test_node_burst_is_bounded (void)
{
  const guint total = 100000;
  TestNode b = { 0 };
  SmIdentity trusted;
  void *context = zmq_ctx_new ();
  void *client;
  SmWireMessage message = { .type = SM_WIRE_HELLO }, reply;
  g_autofree float *features = NULL;
  guint8 frame[SM_WIRE_ENVELOPE_MAX];
  guint width, sent = 0, answered = 0, overloaded = 0;
  guint64 hash;
  guint32 mask;
  gsize rss_before, rss_after, size;
  gint64 deadline = g_get_monotonic_time () + 120 * G_USEC_PER_SEC;
  SmNodeStats stats;

  test_make_identity (&trusted);
  test_node_start (&b, "node-b", trusted.public_key);
  sm_engine_get_model_identity (b.engine, &hash, &mask, &width);
  client = test_client_new (context, sm_node_get_endpoint (b.node), b.identity.public_key, &trusted);

  g_strlcpy (message.body.hello.name, "tester", sizeof message.body.hello.name);
  message.body.hello.model_hash = hash;
  test_client_send (client, &message);
  g_assert_true (test_client_receive (client, 3000, &reply, NULL, 0));

  features = g_new0 (float, width);
  encode_infer (&message, features, width);
  rss_before = rss_bytes ();

  /* Send until libzmq's high-water mark pushes back, then read what came;
   * once all are sent, read until the node has been quiet for a second. */
  for (;;)
    {
      gboolean quiet = TRUE;

      while (sent < total)
        {
          message.request_id = sent;
          size = sm_wire_encode (&message, frame);
          if (zmq_send (client, frame, size, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
            break;
          g_assert_cmpint (zmq_send (client, features, width * sizeof (float), 0), >=, 0);
          sent++;
        }
      while (test_client_receive (client, sent < total ? 0 : 1000, &reply, NULL, 0))
        {
          quiet = FALSE;
          if (reply.type == SM_WIRE_INFER_REPLY)
            answered++;
          else
            {
              g_assert_cmpint (reply.type, ==, SM_WIRE_ERROR_REPLY);
              g_assert_cmpint (reply.body.error.code, ==, SM_WIRE_STATUS_OVERLOADED);
              overloaded++;
            }
        }
      if ((sent == total && quiet) || g_get_monotonic_time () > deadline)
        break;
    }
  rss_after = rss_bytes ();

  sm_node_get_stats (b.node, &stats);
  g_test_message ("burst: %u answered, %u overloaded, %" G_GUINT64_FORMAT " dropped, at most %u running, RSS %+.1f MiB",
                  answered, overloaded, stats.replies_dropped, stats.serving_max,
                  ((double) rss_after - (double) rss_before) / 1048576.0);
  /* Each request was answered or refused; a reply the client could not
   * take in time was dropped at the high-water mark, and counted. */
  g_assert_cmpuint (sent, ==, total);
  g_assert_cmpuint (stats.served + stats.overloaded, ==, total);
  g_assert_cmpuint (answered + overloaded + stats.replies_dropped, ==, total);
  g_assert_cmpuint (stats.serving_max, <=, SM_NODE_SERVE_MAX);
#ifndef __SANITIZE_ADDRESS__
  /* ASan's quarantine holds freed memory; elsewhere the backlog must not
   * show: 100,000 queued requests would be ~100 MiB with their tensors. */
  g_assert_cmpuint (rss_after, <, rss_before + 64 * 1024 * 1024);
#endif

  zmq_close (client);
  test_node_stop (&b);
  zmq_ctx_term (context);
}

/* ---- issue 15: every boundary holds ---- */

/* Sends a corpus seed as its frames: the envelope, and the tensor when
 * the seed has one (framed as fuzz-wire.c reads it). */
static void
send_seed (void       *client,
           const char *path,
           guint64    *request_id)
{
  g_autofree char *seed = NULL;
  gsize length, envelope_size;

  g_assert_true (g_file_get_contents (path, &seed, &length, NULL));
  envelope_size = (guint8) seed[0] | (gsize) (guint8) seed[1] << 8;
  send_raw (client, (const guint8 *) seed + 2, envelope_size,
            length - 2 > envelope_size ? (const guint8 *) seed + 2 + envelope_size : NULL,
            length - 2 - envelope_size);
  /* The header is readable: the answer must name the request. */
  *request_id = 0;
  if (envelope_size >= SM_WIRE_HEADER_SIZE && memcmp (seed + 2, "SMSH", 4) == 0)
    memcpy (request_id, seed + 2 + 16, sizeof *request_id);
}

/* docs/protocol.md's answers, executed: every seed of the wire corpus is
 * sent to a node by a client that said HELLO, and the node must answer
 * as tests/data/wire/node.txt (written from the document) says. */
static void
test_node_corpus_answers (void)
{
  const guint64 marker = 0xfeed;
  TestNode b = { 0 };
  SmIdentity trusted;
  void *context = zmq_ctx_new ();
  void *client;
  g_autofree char *dir = g_test_build_filename (G_TEST_DIST, "data", "wire", NULL);
  g_autofree char *list_path = g_build_filename (dir, "node.txt", NULL);
  g_autofree char *list = NULL;
  g_auto(GStrv) lines = NULL;
  SmWireMessage hello, reply, ping = { .type = SM_WIRE_PING, .request_id = marker };
  guint checked = 0;

  test_make_identity (&trusted);
  test_node_start (&b, "node-b", trusted.public_key);
  hello = test_hello_for (b.engine);
  client = test_client_new (context, sm_node_get_endpoint (b.node), b.identity.public_key, &trusted);

  g_assert_true (g_file_get_contents (list_path, &list, NULL, NULL));
  lines = g_strsplit (list, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) fields = NULL;
      g_autofree char *path = NULL;
      const char *answer = NULL;
      guint64 request_id;
      gboolean marker_seen = FALSE;

      if (lines[i][0] == '#' || lines[i][0] == '\0')
        continue;
      fields = g_strsplit (lines[i], "\t", 2);
      g_assert_cmpuint (g_strv_length (fields), ==, 2);
      path = g_build_filename (dir, fields[0], NULL);

      test_client_send (client, &hello);
      g_assert_true (test_client_receive (client, 3000, &reply, NULL, 0));
      g_assert_cmpint (reply.type, ==, SM_WIRE_HELLO);

      /* The seed, then a PING: its PONG comes after any answer to the
       * seed (but an INFER_REPLY, which the engine sends later). */
      send_seed (client, path, &request_id);
      test_client_send (client, &ping);
      while (!marker_seen || (answer == NULL && !g_str_equal (fields[1], "none")))
        {
          const char *got;

          if (!test_client_receive (client, 3000, &reply, NULL, 0))
            g_error ("%s: no answer (expected %s)", fields[0], fields[1]);
          if (reply.type == SM_WIRE_PONG && reply.request_id == marker)
            {
              marker_seen = TRUE;
              continue;
            }
          g_assert_null (answer);
          got = reply.type == SM_WIRE_ERROR_REPLY ? sm_wire_status_name (reply.body.error.code)
                                                  : sm_wire_type_name (reply.type);
          answer = got;
          g_test_message ("%s: %s %s", fields[0], got, reply.type == SM_WIRE_ERROR_REPLY ? reply.body.error.message : "");
          g_assert_cmpstr (got, ==, fields[1]);
          g_assert_cmpuint (reply.request_id, ==, request_id);
        }
      if (g_str_equal (fields[1], "none"))
        g_assert_null (answer);
      checked++;
    }
  g_assert_cmpuint (checked, >=, 60);

  zmq_close (client);
  test_node_stop (&b);
  zmq_ctx_term (context);
}

/* The largest legal tensor and one over it: each gets an ERROR that names
 * it, the connection and the client's HELLO stay. */
static void
test_node_large_frames_answered (void)
{
  TestNode b = { 0 };
  SmIdentity trusted;
  void *context = zmq_ctx_new ();
  void *client;
  SmWireMessage hello, reply, message = { 0 };
  gsize big = SM_WIRE_TENSOR_MAX + 4 * 1024 * 1024;
  g_autofree guint8 *tensor = g_malloc0 (big);
  g_autofree float *features = NULL;
  guint8 frame[SM_WIRE_ENVELOPE_MAX];
  guint width;
  gsize size;
  SmNodeStats stats;

  test_make_identity (&trusted);
  /* This client sends no PINGs, and a 16 MiB frame through CURVE takes
   * seconds under a sanitizer on a loaded machine: a slow heartbeat keeps
   * the node from forgetting it (10 silent heartbeats) meanwhile. */
  test_node_start_with_heartbeat (&b, "node-b", trusted.public_key, 2000);
  hello = test_hello_for (b.engine);
  width = hello.body.hello.input_width;
  client = test_client_new (context, sm_node_get_endpoint (b.node), b.identity.public_key, &trusted);
  test_client_send (client, &hello);
  g_assert_true (test_client_receive (client, 3000, &reply, NULL, 0));
  g_assert_cmpint (reply.type, ==, SM_WIRE_HELLO);

  /* 256 × 16384 floats: exactly 16 MiB, legal on the wire, but not this
   * model's width. */
  message = (SmWireMessage) {
    .type = SM_WIRE_INFER_REQUEST, .request_id = 77,
    .body.infer = { .expert = 1, .rows = SM_WIRE_TENSOR_FLOATS_MAX / SM_WIRE_COLS_MAX, .cols = SM_WIRE_COLS_MAX },
    .tensor = tensor, .tensor_size = SM_WIRE_TENSOR_MAX,
  };
  test_client_send (client, &message);
  g_assert_true (test_client_receive (client, 10000, &reply, NULL, 0));
  g_assert_cmpint (reply.type, ==, SM_WIRE_ERROR_REPLY);
  g_assert_cmpint (reply.body.error.code, ==, SM_WIRE_STATUS_MODEL_MISMATCH);
  g_assert_cmpuint (reply.request_id, ==, 77);

  /* 20 MiB after a one-row header: over the protocol's limit, under the
   * transport's, so the decoder sees it and says TOO_LARGE. */
  message.request_id = 78;
  message.body.infer = (SmWireInfer) { .expert = 1, .rows = 1, .cols = width };
  message.tensor_size = (gsize) width * sizeof (float);
  size = sm_wire_encode (&message, frame);
  send_raw (client, frame, size, tensor, big);
  g_assert_true (test_client_receive (client, 10000, &reply, NULL, 0));
  g_assert_cmpint (reply.type, ==, SM_WIRE_ERROR_REPLY);
  g_assert_cmpint (reply.body.error.code, ==, SM_WIRE_STATUS_TOO_LARGE);
  g_assert_cmpuint (reply.request_id, ==, 78);
  sm_node_get_stats (b.node, &stats);
  g_assert_cmpuint (stats.refused_by_status[SM_WIRE_STATUS_TOO_LARGE], ==, 1);
  g_assert_cmpuint (stats.refused_by_status[SM_WIRE_STATUS_MODEL_MISMATCH], ==, 1);

  /* Same connection, HELLO remembered: a query is served at once. */
  features = g_new0 (float, width);
  encode_infer (&message, features, width);
  test_client_send (client, &message);
  g_assert_true (test_client_receive (client, 3000, &reply, NULL, 0));
  if (reply.type == SM_WIRE_ERROR_REPLY)
    g_error ("request %" G_GUINT64_FORMAT " refused: %s (%s)", reply.request_id, reply.body.error.message,
             sm_wire_status_name (reply.body.error.code));
  g_assert_cmpint (reply.type, ==, SM_WIRE_INFER_REPLY);

  zmq_close (client);
  test_node_stop (&b);
  zmq_ctx_term (context);
}

/* A request of 32 rows runs as one batch and is answered row for row
 * as the same queries sent one at a time are. */
static void
test_node_batch_request (void)
{
  enum { ROWS = 32 };
  TestNode b = { 0 };
  SmIdentity trusted;
  void *context = zmq_ctx_new ();
  void *client;
  SmWireMessage hello, reply, message;
  SmEngineTotals before, after;
  g_autofree float *features = NULL, *batched = NULL, *single = NULL;
  guint width, out_width;

  test_make_identity (&trusted);
  test_node_start (&b, "node-b", trusted.public_key);
  g_assert_true (sm_engine_set_max_batch (b.engine, 64, NULL));
  hello = test_hello_for (b.engine);
  width = hello.body.hello.input_width;
  client = test_client_new (context, sm_node_get_endpoint (b.node), b.identity.public_key, &trusted);
  test_client_send (client, &hello);
  g_assert_true (test_client_receive (client, 3000, &reply, NULL, 0));
  g_assert_cmpint (reply.type, ==, SM_WIRE_HELLO);

  features = g_new (float, (gsize) ROWS * width);
  for (guint i = 0; i < ROWS * width; i++)
    features[i] = (float) ((i * 7919u) % 1000) / 1000.0f - 0.5f;
  batched = g_new (float, ROWS * 4096);
  single = g_new (float, 4096);

  sm_engine_get_totals (b.engine, &before);
  encode_infer (&message, features, width);
  message.body.infer.rows = ROWS;
  message.tensor_size = (gsize) ROWS * width * sizeof (float);
  test_client_send (client, &message);
  g_assert_true (test_client_receive (client, 5000, &reply, batched, ROWS * 4096));
  g_assert_cmpint (reply.type, ==, SM_WIRE_INFER_REPLY);
  g_assert_cmpuint (reply.request_id, ==, 42);
  g_assert_cmpuint (reply.body.infer.rows, ==, ROWS);
  out_width = reply.body.infer.cols;
  g_assert_cmpuint (out_width, >, 0);
  sm_engine_get_totals (b.engine, &after);
  g_assert_cmpuint (after.batches - before.batches, ==, 1);
  g_assert_cmpuint (after.completed - before.completed, ==, ROWS);

  for (guint r = 0; r < ROWS; r++)
    {
      encode_infer (&message, features + (gsize) r * width, width);
      message.request_id = 100 + r;
      test_client_send (client, &message);
      g_assert_true (test_client_receive (client, 3000, &reply, single, 4096));
      g_assert_cmpint (reply.type, ==, SM_WIRE_INFER_REPLY);
      g_assert_cmpuint (reply.request_id, ==, 100 + r);
      g_assert_cmpuint (reply.body.infer.cols, ==, out_width);
      /* The kernels at batch 32 and batch 1 may sum in another order. */
      for (guint j = 0; j < out_width; j++)
        g_assert_cmpfloat_with_epsilon (batched[r * out_width + j], single[j],
                                        1e-4f * MAX (1.0f, fabsf (single[j])));
    }

  zmq_close (client);
  test_node_stop (&b);
  zmq_ctx_term (context);
}

/* The index of @node's engine's metric "peer.<@peer_key's fingerprint>.@figure",
 * or -1. */
static int
find_peer_metric (TestNode   *t,
                  const char *peer_key,
                  const char *figure)
{
  SmMonitor *monitor = sm_engine_get_monitor (t->engine);
  g_autofree char *fingerprint = sm_identity_fingerprint (peer_key);
  g_auto(GStrv) bytes = g_strsplit (fingerprint, ":", -1);
  g_autofree char *tag = g_strjoinv ("", bytes);
  g_autofree char *id = g_strdup_printf (SM_METRIC_PEER_PREFIX "%s.%s", tag, figure);

  for (guint i = 0; i < sm_monitor_get_n_metrics (monitor); i++)
    if (g_str_equal (sm_monitor_get_metric (monitor, i)->id, id))
      return (int) i;
  return -1;
}

/* A ready peer's METRICS become metrics of our monitor, tagged by its key,
 * so that a session records them; NaN once it is gone. */
static void
test_node_peer_figures_recorded (void)
{
  TestNode a = { 0 }, b = { 0 };
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("synmesh-node-XXXXXX", NULL);
  g_autofree char *db = g_build_filename (dir, "synmesh.db", NULL);
  g_autofree char *fingerprint = NULL;
  SmStore *store;
  SmMonitor *monitor;
  gint64 session;
  int throughput = -1, p99;
  g_autoptr(GArray) points = NULL;
  g_autoptr(GPtrArray) metrics = NULL;

  test_node_start (&a, "node-a", NULL);
  test_node_start (&b, "node-b", NULL);
  monitor = sm_engine_get_monitor (a.engine);
  g_assert_true (sm_node_add_peer (a.node, "b", sm_node_get_endpoint (b.node), b.identity.public_key, &error));
  g_assert_true (sm_node_add_peer (b.node, "a", sm_node_get_endpoint (a.node), a.identity.public_key, &error));
  g_assert_no_error (error);
  test_wait_for_peer (a.node, 0, SM_PEER_READY, 5000);

  /* b says METRICS once a heartbeat. */
  for (guint waited = 0; throughput < 0 && waited < 5000; waited += 10)
    {
      throughput = find_peer_metric (&a, b.identity.public_key, SM_METRIC_PEER_THROUGHPUT);
      if (throughput < 0)
        g_usleep (10000);
    }
  g_assert_cmpint (throughput, >=, 0);
  p99 = find_peer_metric (&a, b.identity.public_key, SM_METRIC_PEER_P99);
  g_assert_cmpint (p99, >=, 0);
  g_assert_cmpstr (sm_monitor_get_metric (monitor, (guint) p99)->unit, ==, "µs");
  /* Named for people by the peer's name and the start of its fingerprint. */
  fingerprint = sm_identity_fingerprint (b.identity.public_key);
  fingerprint[11] = '\0';
  g_assert_true (g_str_has_prefix (sm_monitor_get_metric (monitor, (guint) throughput)->name, "b ("));
  g_assert_nonnull (strstr (sm_monitor_get_metric (monitor, (guint) throughput)->name, fingerprint));

  store = sm_store_open (db, NULL, &error);
  g_assert_no_error (error);
  session = sm_store_begin_session (store, "peers", NULL, NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(SmMonitorSnapshot) snapshot = sm_monitor_tick (monitor);

      g_assert_true (isfinite (snapshot->values[throughput]));
      g_assert_true (isfinite (snapshot->values[p99]));
      sm_store_add_snapshot (store, session, monitor, snapshot);
      g_usleep (20000);
    }

  /* Gone: nothing to say from now on. */
  test_node_stop (&b);
  test_wait_for_peer (a.node, 0, SM_PEER_GONE, 5000);
  {
    g_autoptr(SmMonitorSnapshot) snapshot = sm_monitor_tick (monitor);

    g_assert_true (isnan (snapshot->values[throughput]));
  }
  sm_store_flush (store);
  points = sm_store_read_metric (store, session, sm_monitor_get_metric (monitor, (guint) throughput)->id,
                                 0, G_MAXINT64, 100, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (points->len, >, 0);
  metrics = sm_store_list_metrics (store, session, SM_METRIC_PEER_PREFIX, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (metrics->len, ==, 5);
  for (guint i = 0; i < metrics->len; i++)
    g_assert_true (g_str_has_prefix (((SmStoreMetric *) g_ptr_array_index (metrics, i))->key, SM_METRIC_PEER_PREFIX));

  sm_store_free (store);
  test_node_stop (&a);
  for (const char * const *suffix = (const char * const[]) { "", "-wal", "-shm", NULL }; *suffix != NULL; suffix++)
    {
      g_autofree char *path = g_strconcat (db, *suffix, NULL);

      g_unlink (path);
    }
  g_rmdir (dir);
}

/* Too many frames: refused, with the request id the header gave. */
static void
test_node_too_many_frames_names_request (void)
{
  TestNode b = { 0 };
  SmIdentity trusted;
  void *context = zmq_ctx_new ();
  void *client;
  SmWireMessage reply, ping = { .type = SM_WIRE_PING, .request_id = 1234 };
  guint8 frame[SM_WIRE_ENVELOPE_MAX];
  gsize size;

  test_make_identity (&trusted);
  test_node_start (&b, "node-b", trusted.public_key);
  client = test_client_new (context, sm_node_get_endpoint (b.node), b.identity.public_key, &trusted);
  size = sm_wire_encode (&ping, frame);
  zmq_send (client, frame, size, ZMQ_SNDMORE);
  zmq_send (client, "x", 1, ZMQ_SNDMORE);
  zmq_send (client, "y", 1, 0);
  g_assert_true (test_client_receive (client, 3000, &reply, NULL, 0));
  g_assert_cmpint (reply.type, ==, SM_WIRE_ERROR_REPLY);
  g_assert_cmpint (reply.body.error.code, ==, SM_WIRE_STATUS_MALFORMED);
  g_assert_cmpuint (reply.request_id, ==, 1234);

  zmq_close (client);
  test_node_stop (&b);
  zmq_ctx_term (context);
}

/* Answers the node's HELLO from a fake server, as a peer with its model. */
static void
fake_peer_hello (TestServer *server,
                 SmEngine   *engine)
{
  SmWireMessage message, hello = test_hello_for (engine);

  do
    g_assert_true (test_server_receive (server, 3000, &message));
  while (message.type != SM_WIRE_HELLO);
  hello.echo_ns = message.sent_ns;
  hello.request_id = message.request_id;
  test_server_send (server, &hello);
}

/* Only a PONG that answers a PING we sent is a round trip. */
static void
test_node_unsolicited_pong_ignored (void)
{
  TestNode a = { 0 };
  TestServer server = { 0 };
  void *context = zmq_ctx_new ();
  SmWireMessage message, pong = { .type = SM_WIRE_PONG };
  SmNodeStats stats;
  gint64 until;

  test_node_start (&a, "node-a", NULL);
  test_server_start (&server, context);
  g_assert_true (sm_node_add_peer (a.node, "fake", server.endpoint, server.identity.public_key, NULL));
  fake_peer_hello (&server, a.engine);
  test_wait_for_peer (a.node, 0, SM_PEER_READY, 3000);

  /* A PONG for a request never sent, echoing the dawn of time: the p99
   * it would make is 10⁹ µs. */
  pong.request_id = G_GUINT64_CONSTANT (0x7fff000000000000);
  pong.echo_ns = 1;
  test_server_send (&server, &pong);
  until = g_get_monotonic_time () + 3 * G_USEC_PER_SEC;
  do
    {
      sm_node_get_stats (a.node, &stats);
      g_usleep (5000);
    }
  while (stats.unsolicited_pongs == 0 && g_get_monotonic_time () < until);
  g_assert_cmpuint (stats.unsolicited_pongs, ==, 1);

  /* Now answer the PINGs as they come, one PONG each, and one of them
   * twice: only the first counts. */
  for (guint answered = 0; answered < 3;)
    {
      g_assert_true (test_server_receive (&server, 3000, &message));
      if (message.type != SM_WIRE_PING)
        continue;
      pong.request_id = message.request_id;
      pong.echo_ns = 1;          /* a lie: the node times with its own clock */
      test_server_send (&server, &pong);
      if (answered == 0)
        test_server_send (&server, &pong);
      answered++;
    }
  until = g_get_monotonic_time () + 3 * G_USEC_PER_SEC;
  while (test_node_get_peer (a.node, 0).rtt_count < 3 && g_get_monotonic_time () < until)
    g_usleep (5000);
  g_assert_cmpuint (test_node_get_peer (a.node, 0).rtt_count, ==, 3);
  g_assert_cmpuint (test_node_get_peer (a.node, 0).rtt_p99_ns, <, G_GUINT64_CONSTANT (1000000000));
  sm_node_get_stats (a.node, &stats);
  g_assert_cmpuint (stats.unsolicited_pongs, ==, 2);

  zmq_close (server.socket);
  test_node_stop (&a);
  zmq_ctx_term (context);
}

/* 10,000 BYEs from a peer: it is gone once, and the log says so in a
 * line or two, not in thousands. */
static void
test_node_bye_flood_folded (void)
{
  TestNode a = { 0 };
  TestServer server = { 0 };
  TestEvents events = { .lines = g_ptr_array_new_with_free_func (g_free) };
  void *context = zmq_ctx_new ();
  SmWireMessage bye = { .type = SM_WIRE_BYE };

  g_mutex_init (&events.lock);
  test_node_start (&a, "node-a", NULL);
  sm_node_set_event_func (a.node, test_events_cb, &events);
  test_server_start (&server, context);
  g_assert_true (sm_node_add_peer (a.node, "fake", server.endpoint, server.identity.public_key, NULL));
  fake_peer_hello (&server, a.engine);
  test_wait_for_peer (a.node, 0, SM_PEER_READY, 3000);

  for (guint i = 0; i < 10000; i++)
    test_server_send (&server, &bye);
  test_wait_for_peer (a.node, 0, SM_PEER_GONE, 3000);
  g_usleep (500 * 1000);
  g_test_message ("%u events for 10000 BYEs", test_events_count (&events));
  /* ready, gone; and whatever the heartbeats bring back in half a second */
  g_assert_cmpuint (test_events_count (&events), <=, 2 * SM_NODE_EVENT_BURST);

  zmq_close (server.socket);
  test_node_stop (&a);
  zmq_ctx_term (context);
  g_ptr_array_unref (events.lines);
  g_mutex_clear (&events.lock);
}

/* Refused handshakes are counted one by one and reported in one line per
 * heartbeat at most. */
static void
test_node_refused_handshakes_folded (void)
{
  const guint total = 200;
  TestNode b = { 0 };
  TestEvents events = { .lines = g_ptr_array_new_with_free_func (g_free) };
  void *context = zmq_ctx_new ();
  SmWireMessage ping = { .type = SM_WIRE_PING, .request_id = 1 };
  void *clients[200];
  SmNodeStats stats;
  gint64 until;

  g_mutex_init (&events.lock);
  test_node_start (&b, "node-b", NULL);
  sm_node_set_event_func (b.node, test_events_cb, &events);
  for (guint i = 0; i < total; i++)
    {
      clients[i] = test_client_new (context, sm_node_get_endpoint (b.node), NULL, NULL);
      test_client_send (clients[i], &ping);
    }
  until = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  do
    {
      sm_node_get_stats (b.node, &stats);
      g_usleep (10000);
    }
  while (stats.rejected_handshakes < total && g_get_monotonic_time () < until);
  g_assert_cmpuint (stats.rejected_handshakes, >=, total);
  g_usleep (3 * TEST_HEARTBEAT_MS * 1000);
  g_test_message ("%u events for %u refused handshakes", test_events_count (&events), total);
  g_assert_cmpuint (test_events_count (&events), <=, SM_NODE_EVENT_BURST + 1);

  for (guint i = 0; i < total; i++)
    zmq_close (clients[i]);
  test_node_stop (&b);
  zmq_ctx_term (context);
  g_ptr_array_unref (events.lines);
  g_mutex_clear (&events.lock);
}

/* A name with a newline and an escape (ours, from --peer, or a peer's)
 * reaches the event callback escaped. */
static void
test_node_events_escaped (void)
{
  TestNode a = { 0 };
  TestEvents events = { .lines = g_ptr_array_new_with_free_func (g_free) };
  SmIdentity other;
  gint64 until;

  g_mutex_init (&events.lock);
  test_make_identity (&other);
  test_node_start (&a, "node-a", NULL);
  sm_node_set_event_func (a.node, test_events_cb, &events);
  g_assert_true (sm_node_add_peer (a.node, "x\nevent gone \x1b[31mforged", "tcp://127.0.0.1:1", other.public_key, NULL));
  until = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (test_events_count (&events) == 0 && g_get_monotonic_time () < until)
    g_usleep (10000);
  g_assert_cmpuint (test_events_count (&events), >=, 1);
  g_mutex_lock (&events.lock);
  for (guint i = 0; i < events.lines->len; i++)
    {
      const char *line = g_ptr_array_index (events.lines, i);

      g_test_message ("%s", line);
      g_assert_null (strchr (line, '\n'));
      g_assert_null (strchr (line, '\x1b'));
      g_assert_nonnull (strstr (line, "x\\x0aevent gone \\x1b[31mforged"));
    }
  g_mutex_unlock (&events.lock);

  test_node_stop (&a);
  g_ptr_array_unref (events.lines);
  g_mutex_clear (&events.lock);
}

/* A key taken out of the trusted-peers file loses its connection's
 * service and cannot connect again, without a restart. */
static void
test_node_trust_reloaded (void)
{
  g_autofree char *dir = g_dir_make_tmp ("sm-trust-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, SM_TRUST_FILE_NAME, NULL);
  g_autoptr(SmTrust) trust = sm_trust_new ();
  g_autoptr(GError) error = NULL;
  SmIdentity kept, removed, identity;
  SmEngine *engine;
  SmNode *node;
  SmNodeConfig config = { .name = "node-b", .bind = "tcp://127.0.0.1:*", .heartbeat_ms = TEST_HEARTBEAT_MS };
  void *context = zmq_ctx_new ();
  void *client_kept, *client_removed, *client_again;
  SmWireMessage ping = { .type = SM_WIRE_PING, .request_id = 9 }, reply;
  SmNodeStats stats;
  gint64 until;

  test_make_identity (&kept);
  test_make_identity (&removed);
  test_make_identity (&identity);
  g_assert_true (sm_trust_add (trust, "kept", kept.public_key, NULL));
  g_assert_true (sm_trust_add (trust, "removed", removed.public_key, NULL));
  g_assert_true (sm_trust_save (trust, path, &error));
  g_clear_pointer (&trust, sm_trust_free);
  trust = sm_trust_load (path, &error);
  g_assert_no_error (error);

  engine = sm_engine_new (64 * 1024 * 1024, 1, &error);
  config.identity = identity;
  config.trust = trust;
  config.trust_path = path;
  node = sm_node_new (engine, &config, &error);
  g_assert_no_error (error);

  client_kept = test_client_new (context, sm_node_get_endpoint (node), identity.public_key, &kept);
  client_removed = test_client_new (context, sm_node_get_endpoint (node), identity.public_key, &removed);
  test_client_send (client_kept, &ping);
  test_client_send (client_removed, &ping);
  g_assert_true (test_client_receive (client_kept, 3000, &reply, NULL, 0));
  g_assert_true (test_client_receive (client_removed, 3000, &reply, NULL, 0));
  g_assert_cmpint (reply.type, ==, SM_WIRE_PONG);

  /* The file loses a line, as an editor or `synmesh` would write it. */
  {
    g_autoptr(SmTrust) edited = sm_trust_load (path, &error);

    g_assert_true (sm_trust_remove (edited, "removed"));
    g_assert_true (sm_trust_save (edited, path, &error));
  }
  until = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  do
    {
      sm_node_get_stats (node, &stats);
      g_usleep (10000);
    }
  while (stats.trust_reloads == 0 && g_get_monotonic_time () < until);
  g_assert_cmpuint (stats.trust_reloads, ==, 1);

  /* The live connection is served no more, a new one is refused; the
   * key still listed is served as before. */
  test_client_send (client_removed, &ping);
  g_assert_false (test_client_receive (client_removed, 300, &reply, NULL, 0));
  client_again = test_client_new (context, sm_node_get_endpoint (node), identity.public_key, &removed);
  test_client_send (client_again, &ping);
  g_assert_false (test_client_receive (client_again, 300, &reply, NULL, 0));
  test_client_send (client_kept, &ping);
  g_assert_true (test_client_receive (client_kept, 3000, &reply, NULL, 0));
  g_assert_cmpint (reply.type, ==, SM_WIRE_PONG);
  sm_node_get_stats (node, &stats);
  g_assert_cmpuint (stats.untrusted_frames, >=, 1);
  g_assert_cmpuint (stats.untrusted_keys, >=, 1);

  zmq_close (client_kept);
  zmq_close (client_removed);
  zmq_close (client_again);
  sm_node_free (node);
  sm_engine_free (engine);
  zmq_ctx_term (context);
  g_unlink (path);
  g_rmdir (dir);
}

/* A reply lost because its client left is counted, and the count is in
 * the METRICS that other clients get. */
static void
test_node_dropped_replies_in_metrics (void)
{
  TestNode b = { 0 };
  SmIdentity trusted;
  void *context = zmq_ctx_new ();
  void *client;
  SmWireMessage hello, message, reply;
  g_autofree float *features = NULL;
  SmNodeStats stats;
  gint64 until;

  test_make_identity (&trusted);
  test_node_start (&b, "node-b", trusted.public_key);
  hello = test_hello_for (b.engine);
  features = g_new0 (float, hello.body.hello.input_width);

  /* Ask, and leave before the answer. */
  client = test_client_new (context, sm_node_get_endpoint (b.node), b.identity.public_key, &trusted);
  test_client_send (client, &hello);
  g_assert_true (test_client_receive (client, 3000, &reply, NULL, 0));
  until = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  do
    {
      encode_infer (&message, features, hello.body.hello.input_width);
      for (guint i = 0; i < 50; i++)
        test_client_send (client, &message);
      zmq_close (client);
      g_usleep (200 * 1000);
      sm_node_get_stats (b.node, &stats);
      client = test_client_new (context, sm_node_get_endpoint (b.node), b.identity.public_key, &trusted);
      test_client_send (client, &hello);
      g_assert_true (test_client_receive (client, 3000, &reply, NULL, 0));
    }
  while (stats.replies_dropped == 0 && g_get_monotonic_time () < until);
  g_assert_cmpuint (stats.replies_dropped, >, 0);

  /* The next METRICS carries it. */
  do
    g_assert_true (test_client_receive_any (client, 3000, &reply, NULL, 0));
  while (reply.type != SM_WIRE_METRICS);
  g_assert_cmpuint (reply.body.metrics.replies_dropped, >=, stats.replies_dropped);

  zmq_close (client);
  test_node_stop (&b);
  zmq_ctx_term (context);
}

static void
test_node_endpoint_public (void)
{
  g_assert_true (sm_node_endpoint_is_public ("tcp://0.0.0.0:7870"));
  g_assert_true (sm_node_endpoint_is_public ("tcp://*:7870"));
  g_assert_true (sm_node_endpoint_is_public ("tcp://192.168.1.4:7870"));
  g_assert_true (sm_node_endpoint_is_public ("tcp://[::]:7870"));
  g_assert_true (sm_node_endpoint_is_public ("tcp://eth0:7870"));
  g_assert_false (sm_node_endpoint_is_public ("tcp://127.0.0.1:7870"));
  g_assert_false (sm_node_endpoint_is_public ("tcp://127.0.0.1:*"));
  g_assert_false (sm_node_endpoint_is_public ("tcp://[::1]:7870"));
  g_assert_false (sm_node_endpoint_is_public ("tcp://localhost:7870"));
  g_assert_false (sm_node_endpoint_is_public ("ipc:///run/node"));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/node/pair-remote-equals-local", test_node_pair_remote_equals_local);
  g_test_add_func ("/node/model-mismatch", test_node_model_mismatch);
  g_test_add_func ("/node/rejects-untrusted-and-plain", test_node_rejects_untrusted_and_plain);
  g_test_add_func ("/node/refuses-malformed-frames", test_node_refuses_malformed_frames);
  g_test_add_func ("/node/discovery", test_node_discovery);
  g_test_add_func ("/node/burst-is-bounded", test_node_burst_is_bounded);
  g_test_add_func ("/node/corpus-answers", test_node_corpus_answers);
  g_test_add_func ("/node/large-frames-answered", test_node_large_frames_answered);
  g_test_add_func ("/node/batch-request", test_node_batch_request);
  g_test_add_func ("/node/peer-figures-recorded", test_node_peer_figures_recorded);
  g_test_add_func ("/node/too-many-frames-names-request", test_node_too_many_frames_names_request);
  g_test_add_func ("/node/unsolicited-pong-ignored", test_node_unsolicited_pong_ignored);
  g_test_add_func ("/node/bye-flood-folded", test_node_bye_flood_folded);
  g_test_add_func ("/node/refused-handshakes-folded", test_node_refused_handshakes_folded);
  g_test_add_func ("/node/events-escaped", test_node_events_escaped);
  g_test_add_func ("/node/trust-reloaded", test_node_trust_reloaded);
  g_test_add_func ("/node/dropped-replies-in-metrics", test_node_dropped_replies_in_metrics);
  g_test_add_func ("/node/endpoint-public", test_node_endpoint_public);

  return g_test_run ();
}
