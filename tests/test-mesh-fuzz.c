/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include "mesh-test-util.h"

/* Protocol state fuzzing: several trusted clients send random sequences
 * of valid and invalid messages (all eight types, mangled bytes, missing
 * and extra frames) to one node at once, and a fake peer sends the node
 * random answers to its own requests.  Each client predicts, with the
 * decoder, how many answers the node owes it (docs/protocol.md: every
 * frame gets one, but ERRORs and BYEs); at the end what came back plus
 * what the node says it dropped must be exactly that, its counters must
 * add up, and it must still serve.
 *
 * Bounded for the suite (3 s); SM_MESH_FUZZ_SECONDS runs it longer and
 * SM_MESH_FUZZ_SEED replays a run (the seed is printed). */

#define N_CLIENTS 3

typedef struct
{
  void    *socket;
  guint64  sent;
  guint64  owed;       /* answers the node owes, by the decoder's word */
  guint64  received;   /* answers that came, METRICS aside */
} Client;

typedef struct
{
  GRand   *rand;
  guint64  hash;
  guint    width;
  float   *features;
} Fuzz;

static SmWireMessage
random_message (Fuzz *fuzz)
{
  SmWireMessage m = { 0 };

  m.type = (SmWireType) g_rand_int_range (fuzz->rand, SM_WIRE_HELLO, SM_WIRE_BYE + 1);
  m.request_id = g_rand_int_range (fuzz->rand, 0, 4) == 0 ? 0 : g_rand_int (fuzz->rand);
  m.sent_ns = g_rand_int (fuzz->rand);
  if (m.type == SM_WIRE_PONG || m.type == SM_WIRE_INFER_REPLY || m.type == SM_WIRE_ERROR_REPLY
      || m.type == SM_WIRE_HELLO)
    m.echo_ns = g_rand_int_range (fuzz->rand, 0, 2) ? g_rand_int (fuzz->rand) : 0;

  switch (m.type)
    {
    case SM_WIRE_HELLO:
      g_strlcpy (m.body.hello.name, g_rand_boolean (fuzz->rand) ? "fuzz" : "fuzz-ü", sizeof m.body.hello.name);
      m.body.hello.model_hash = g_rand_int_range (fuzz->rand, 0, 4) ? fuzz->hash : g_rand_int (fuzz->rand);
      m.body.hello.input_width = fuzz->width;
      m.body.hello.expert_mask = 0x3f;
      break;
    case SM_WIRE_INFER_REQUEST:
    case SM_WIRE_INFER_REPLY:
      {
        guint shape = g_rand_int_range (fuzz->rand, 0, 8);

        m.flags = SM_WIRE_FLAG_TENSOR;
        m.body.infer.expert = g_rand_int_range (fuzz->rand, 0, 4) ? g_rand_int_range (fuzz->rand, 0, 6)
                                                                  : g_rand_int_range (fuzz->rand, 0, 256);
        if (m.body.infer.expert >= 32 && m.body.infer.expert != SM_WIRE_EXPERT_ROUTE)
          m.body.infer.expert = SM_WIRE_EXPERT_ROUTE;
        m.body.infer.rows = shape == 0 ? 2 : 1;
        m.body.infer.cols = shape == 1 ? (guint) g_rand_int_range (fuzz->rand, 1, fuzz->width) : fuzz->width;
        if (m.type == SM_WIRE_INFER_REPLY)
          m.body.infer.queue_ns = g_rand_int (fuzz->rand);
        m.tensor = (const guint8 *) fuzz->features;
        m.tensor_size = (gsize) m.body.infer.rows * m.body.infer.cols * sizeof (float);
        break;
      }
    case SM_WIRE_ERROR_REPLY:
      m.body.error.code = g_rand_int_range (fuzz->rand, SM_WIRE_STATUS_MALFORMED, SM_WIRE_STATUS_LAST + 1);
      g_strlcpy (m.body.error.message, g_rand_boolean (fuzz->rand) ? "no\n\x1b[2J" : "ok", sizeof m.body.error.message);
      break;
    case SM_WIRE_METRICS:
      m.body.metrics.ops_per_s = g_rand_double (fuzz->rand);
      m.body.metrics.fragmentation = g_rand_double (fuzz->rand);
      m.body.metrics.replies_dropped = g_rand_int (fuzz->rand);
      break;
    case SM_WIRE_PING:
    case SM_WIRE_PONG:
    case SM_WIRE_BYE:
    default:
      break;
    }
  return m;
}

/* Encodes a random message, maybe mangles it, sends it; returns how many
 * answers the node owes for it (0 or 1), or -1 when it was not sent. */
static int
send_random (Fuzz   *fuzz,
             void   *socket,
             gboolean server_role)
{
  guint8 frame[SM_WIRE_ENVELOPE_MAX + 64];
  SmWireMessage m = random_message (fuzz), out;
  gsize size = sm_wire_encode (&m, frame);
  guint mangle = g_rand_int_range (fuzz->rand, 0, 10);
  const guint8 *tensor = m.tensor;
  gsize tensor_size = m.tensor_size;
  guint extra = 0;
  gboolean ok;

  /* 0–3: mangled; else as encoded.  NaN stays in the buffer only here. */
  fuzz->features[0] = 0.5f;
  if (mangle == 0)
    frame[g_rand_int_range (fuzz->rand, 0, (gint32) size)] ^= (guint8) (1u << g_rand_int_range (fuzz->rand, 0, 8));
  else if (mangle == 1)
    size = g_rand_int_range (fuzz->rand, 0, (gint32) size);
  else if (mangle == 2)
    {
      if (tensor != NULL)
        fuzz->features[0] = g_rand_boolean (fuzz->rand) ? NAN : -INFINITY;
      else
        extra = 1;
    }
  else if (mangle == 3)
    {
      if (tensor != NULL && g_rand_boolean (fuzz->rand))
        tensor = NULL, tensor_size = 0;
      else
        extra = g_rand_int_range (fuzz->rand, 1, 3);
    }

  /* The node's answer, as the decoder and docs/protocol.md decide it. */
  {
    const guint8 *t = tensor;
    gsize ts = tensor_size;

    if (tensor == NULL && extra > 0)
      t = (const guint8 *) "x", ts = 1;
    ok = sm_wire_decode (frame, size, t, ts, &out, NULL) && (tensor == NULL ? extra == 0 : extra == 0);
  }

  if (zmq_send (socket, frame, size, ZMQ_DONTWAIT | (tensor != NULL || extra > 0 ? ZMQ_SNDMORE : 0)) < 0)
    return -1;
  if (tensor != NULL)
    zmq_send (socket, tensor, tensor_size, extra > 0 ? ZMQ_SNDMORE : 0);
  for (guint i = 0; i < extra; i++)
    zmq_send (socket, "x", 1, i + 1 < extra ? ZMQ_SNDMORE : 0);

  if (server_role)
    return 0;
  if (!ok)
    return size >= 8 && (frame[6] | frame[7] << 8) == SM_WIRE_ERROR_REPLY ? 0 : 1;
  return out.type == SM_WIRE_ERROR_REPLY || out.type == SM_WIRE_BYE ? 0 : 1;
}

static void
drain (Client *client,
       guint   timeout_ms)
{
  SmWireMessage reply;

  while (test_client_receive_any (client->socket, timeout_ms, &reply, NULL, 0))
    if (reply.type != SM_WIRE_METRICS)
      {
        g_assert_cmpint (reply.type, !=, SM_WIRE_BYE);
        client->received++;
      }
}

static void
test_mesh_fuzz_states (void)
{
  const char *seconds_text = g_getenv ("SM_MESH_FUZZ_SECONDS");
  const char *seed_text = g_getenv ("SM_MESH_FUZZ_SEED");
  double seconds = seconds_text != NULL ? g_ascii_strtod (seconds_text, NULL) : 3.0;
  guint32 seed = seed_text != NULL ? (guint32) g_ascii_strtoull (seed_text, NULL, 10) : g_random_int ();
  TestNode b = { 0 };
  TestServer fake = { 0 };
  SmIdentity keys[N_CLIENTS];
  Client clients[N_CLIENTS] = { 0 };
  void *context = zmq_ctx_new ();
  Fuzz fuzz = { 0 };
  guint32 mask;
  guint64 owed = 0, received = 0, sent = 0, refused_sum = 0, rounds = 0;
  gint64 deadline;
  SmNodeStats stats;
  g_autoptr(GError) error = NULL;

  g_test_message ("seed %u (SM_MESH_FUZZ_SEED=%u replays it), %.0f s", seed, seed, seconds);
  g_printerr ("# mesh state fuzzing: seed %u, %.0f s\n", seed, seconds);
  fuzz.rand = g_rand_new_with_seed (seed);

  /* The clients' keys are trusted before the node starts: it reads the
   * list on two threads while it runs. */
  test_make_identity (&keys[0]);
  test_node_start (&b, "node-b", keys[0].public_key);
  sm_node_free (b.node);
  for (guint i = 1; i < N_CLIENTS; i++)
    {
      g_autofree char *name = g_strdup_printf ("client%u", i);

      test_make_identity (&keys[i]);
      g_assert_true (sm_trust_add (b.trust, name, keys[i].public_key, NULL));
    }
  {
    SmNodeConfig config = { .name = "node-b", .bind = "tcp://127.0.0.1:*", .heartbeat_ms = TEST_HEARTBEAT_MS,
                            .identity = b.identity, .trust = b.trust };

    b.node = sm_node_new (b.engine, &config, &error);
    g_assert_no_error (error);
  }
  sm_engine_get_model_identity (b.engine, &fuzz.hash, &mask, &fuzz.width);
  fuzz.features = g_new0 (float, 2 * fuzz.width);
  for (guint i = 0; i < N_CLIENTS; i++)
    clients[i].socket = test_client_new (context, sm_node_get_endpoint (b.node), b.identity.public_key, &keys[i]);

  /* A fake peer the node connects to, which answers at random. */
  test_server_start (&fake, context);
  g_assert_true (sm_node_add_peer (b.node, "fake", fake.endpoint, fake.identity.public_key, &error));
  g_assert_no_error (error);
  {
    SmWireMessage first;

    g_assert_true (test_server_receive (&fake, 5000, &first));   /* its HELLO: we know its routing id now */
  }

  deadline = g_get_monotonic_time () + (gint64) (seconds * G_USEC_PER_SEC);
  while (g_get_monotonic_time () < deadline)
    {
      for (guint burst = 0; burst < 32; burst++)
        {
          guint who = g_rand_int_range (fuzz.rand, 0, N_CLIENTS + 1);
          int owes;

          if (who == N_CLIENTS)
            {
              /* The fake peer: random answers to the node's DEALER. */
              zmq_send (fake.socket, fake.client, fake.client_size, ZMQ_SNDMORE | ZMQ_DONTWAIT);
              send_random (&fuzz, fake.socket, TRUE);
              continue;
            }
          owes = send_random (&fuzz, clients[who].socket, FALSE);
          if (owes >= 0)
            {
              clients[who].sent++;
              clients[who].owed += owes;
            }
        }
      for (guint i = 0; i < N_CLIENTS; i++)
        drain (&clients[i], 0);
      {
        zmq_msg_t frame;

        /* The fake peer reads and forgets what the node sends it. */
        zmq_msg_init (&frame);
        while (zmq_msg_recv (&frame, fake.socket, ZMQ_DONTWAIT) >= 0)
          ;
        zmq_msg_close (&frame);
      }
      rounds++;
    }

  /* Everything owed arrives, or was dropped and counted. */
  for (guint i = 0; i < N_CLIENTS; i++)
    {
      drain (&clients[i], 1000);
      owed += clients[i].owed;
      received += clients[i].received;
      sent += clients[i].sent;
    }
  sm_node_get_stats (b.node, &stats);
  for (guint s = 0; s <= SM_WIRE_STATUS_LAST; s++)
    refused_sum += stats.refused_by_status[s];
  g_test_message ("%" G_GUINT64_FORMAT " rounds, %" G_GUINT64_FORMAT " messages sent, %" G_GUINT64_FORMAT
                  " answers owed, %" G_GUINT64_FORMAT " received, %" G_GUINT64_FORMAT " dropped, %" G_GUINT64_FORMAT
                  " refused, %" G_GUINT64_FORMAT " served, %" G_GUINT64_FORMAT " unsolicited PONGs",
                  rounds, sent, owed, received, stats.replies_dropped, stats.refused_frames, stats.served,
                  stats.unsolicited_pongs);
  g_printerr ("# mesh state fuzzing: seed %u: %" G_GUINT64_FORMAT " messages, %" G_GUINT64_FORMAT " answers owed, %"
              G_GUINT64_FORMAT " received + %" G_GUINT64_FORMAT " dropped\n",
              seed, sent, owed, received, stats.replies_dropped);
  g_assert_cmpuint (received + stats.replies_dropped, ==, owed);
  g_assert_cmpuint (refused_sum, ==, stats.refused_frames);
  g_assert_cmpuint (stats.serving, ==, 0);
  g_assert_cmpuint (stats.serving_max, <=, SM_NODE_SERVE_MAX);

  /* Still serving every client. */
  for (guint i = 0; i < N_CLIENTS; i++)
    {
      SmWireMessage hello = test_hello_for (b.engine), infer = {
        .type = SM_WIRE_INFER_REQUEST, .flags = SM_WIRE_FLAG_TENSOR, .request_id = 99,
        .body.infer = { .expert = 1, .rows = 1, .cols = fuzz.width },
        .tensor = (const guint8 *) fuzz.features, .tensor_size = fuzz.width * sizeof (float),
      }, reply;

      fuzz.features[0] = 0.5f;
      test_client_send (clients[i].socket, &hello);
      g_assert_true (test_client_receive (clients[i].socket, 3000, &reply, NULL, 0));
      g_assert_cmpint (reply.type, ==, SM_WIRE_HELLO);
      test_client_send (clients[i].socket, &infer);
      g_assert_true (test_client_receive (clients[i].socket, 3000, &reply, NULL, 0));
      g_assert_cmpint (reply.type, ==, SM_WIRE_INFER_REPLY);
      g_assert_cmpuint (reply.request_id, ==, 99);
      zmq_close (clients[i].socket);
    }

  /* The node goes before the fake peer it connects to: closed first, that
   * peer would leave the node's socket reconnecting while its context ends,
   * which libzmq 4.3 can leak in its I/O thread. */
  test_node_stop (&b);
  zmq_close (fake.socket);
  zmq_ctx_term (context);
  g_free (fuzz.features);
  g_rand_free (fuzz.rand);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/mesh/fuzz/states", test_mesh_fuzz_states);

  return g_test_run ();
}
