/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include "corpus-test-util.h"
#include "sm-wire.h"

static SmWireMessage
hello_message (void)
{
  SmWireMessage m = { .type = SM_WIRE_HELLO, .request_id = 7, .sent_ns = 123456789 };

  for (guint i = 0; i < 16; i++)
    m.body.hello.node_id[i] = (guint8) (i * 17);
  g_strlcpy (m.body.hello.name, "bench-node-ü", sizeof m.body.hello.name);
  g_strlcpy (m.body.hello.software, "0.1.0", sizeof m.body.hello.software);
  m.body.hello.model_hash = G_GUINT64_CONSTANT (0x0123456789abcdef);
  m.body.hello.expert_mask = 0x3f;
  m.body.hello.input_width = 256;
  m.body.hello.simd_level = 2;
  m.body.hello.gpu = 1;
  return m;
}

/* Encodes, decodes, re-encodes: the fields and the bytes must survive. */
static void
assert_round_trip (const SmWireMessage *in,
                   SmWireMessage       *out)
{
  guint8 frame[SM_WIRE_ENVELOPE_MAX], again[SM_WIRE_ENVELOPE_MAX];
  g_autoptr(GError) error = NULL;
  gsize n, n_again;

  n = sm_wire_encode (in, frame);
  g_assert_cmpuint (n, >=, SM_WIRE_HEADER_SIZE);
  g_assert_true (sm_wire_decode (frame, n, in->tensor, in->tensor_size, out, &error));
  g_assert_no_error (error);
  g_assert_cmpint (out->type, ==, in->type);
  g_assert_cmpuint (out->request_id, ==, in->request_id);
  g_assert_cmpuint (out->sent_ns, ==, in->sent_ns);
  g_assert_cmpuint (out->echo_ns, ==, in->echo_ns);
  n_again = sm_wire_encode (out, again);
  g_assert_cmpmem (frame, n, again, n_again);
}

static void
test_wire_round_trip (void)
{
  SmWireMessage in, out;
  float features[3 * 5];

  in = hello_message ();
  assert_round_trip (&in, &out);
  g_assert_cmpmem (out.body.hello.node_id, 16, in.body.hello.node_id, 16);
  g_assert_cmpstr (out.body.hello.name, ==, "bench-node-ü");
  g_assert_cmpstr (out.body.hello.software, ==, "0.1.0");
  g_assert_cmpuint (out.body.hello.model_hash, ==, in.body.hello.model_hash);
  g_assert_cmpuint (out.body.hello.expert_mask, ==, 0x3f);
  g_assert_cmpuint (out.body.hello.input_width, ==, 256);
  g_assert_cmpuint (out.body.hello.simd_level, ==, 2);
  g_assert_cmpuint (out.body.hello.gpu, ==, 1);

  for (guint i = 0; i < G_N_ELEMENTS (features); i++)
    features[i] = (float) i - 7.25f;
  in = (SmWireMessage) {
    .type = SM_WIRE_INFER_REQUEST, .request_id = G_MAXUINT64, .sent_ns = 1,
    .body.infer = { .expert = SM_WIRE_EXPERT_ROUTE, .rows = 3, .cols = 5 },
    .tensor = (const guint8 *) features, .tensor_size = sizeof features,
  };
  assert_round_trip (&in, &out);
  g_assert_cmpuint (out.flags, ==, SM_WIRE_FLAG_TENSOR);
  g_assert_cmpuint (out.body.infer.expert, ==, SM_WIRE_EXPERT_ROUTE);
  g_assert_true (out.tensor == in.tensor);   /* borrowed, not copied */
  {
    float copy[G_N_ELEMENTS (features)];

    sm_wire_tensor_copy (&out, copy);
    g_assert_cmpmem (copy, sizeof copy, features, sizeof features);
  }

  in.type = SM_WIRE_INFER_REPLY;
  in.echo_ns = 99;
  in.body.infer = (SmWireInfer) { .expert = 4, .rows = 3, .cols = 5, .queue_ns = 1500, .compute_ns = 42000 };
  assert_round_trip (&in, &out);
  g_assert_cmpuint (out.body.infer.queue_ns, ==, 1500);
  g_assert_cmpuint (out.body.infer.compute_ns, ==, 42000);

  in = (SmWireMessage) { .type = SM_WIRE_ERROR_REPLY, .request_id = 5 };
  in.body.error.code = SM_WIRE_STATUS_MODEL_MISMATCH;
  g_strlcpy (in.body.error.message, "model hash differs", sizeof in.body.error.message);
  assert_round_trip (&in, &out);
  g_assert_cmpuint (out.body.error.code, ==, SM_WIRE_STATUS_MODEL_MISMATCH);
  g_assert_cmpstr (out.body.error.message, ==, "model hash differs");

  in = (SmWireMessage) { .type = SM_WIRE_METRICS, .sent_ns = 77 };
  in.body.metrics = (SmWireMetrics) {
    .uptime_ms = 60000, .completed = 123456, .failed = 3, .ops_per_s = 2057.5,
    .p50_ns = 410000, .p99_ns = 1200000, .p999_ns = 3100000,
    .pool_in_use = 9 << 20, .pool_limit = 25 << 20, .fragmentation = 0.125,
    .queue_depth = 12, .peers = 2, .replies_dropped = 17,
  };
  assert_round_trip (&in, &out);
  g_assert_cmpmem (&out.body.metrics, sizeof out.body.metrics, &in.body.metrics, sizeof in.body.metrics);

  for (SmWireType type = SM_WIRE_PING; type <= SM_WIRE_BYE; type++)
    if (type == SM_WIRE_PING || type == SM_WIRE_PONG || type == SM_WIRE_BYE)
      {
        in = (SmWireMessage) { .type = type, .request_id = 9, .sent_ns = 10, .echo_ns = type == SM_WIRE_PONG ? 11 : 0 };
        assert_round_trip (&in, &out);
      }
}

/* Decodes @frame (and @tensor) and checks it is refused with @status. */
static void
assert_rejected (const guint8  *frame,
                 gsize          n,
                 const guint8  *tensor,
                 gsize          tensor_size,
                 SmWireStatus   status)
{
  g_autoptr(GError) error = NULL;
  SmWireMessage out;

  g_assert_false (sm_wire_decode (frame, n, tensor, tensor_size, &out, &error));
  g_assert_error (error, SM_WIRE_ERROR, (gint) status);
  g_assert_cmpstr (error->message, !=, "");
}

static void
test_wire_rejects (void)
{
  SmWireMessage hello = hello_message (), out;
  guint8 frame[SM_WIRE_ENVELOPE_MAX + 64], bad[sizeof frame];
  float features[4] = { 1, 2, 3, 4 };
  g_autoptr(GError) error = NULL;
  gsize n;

  n = sm_wire_encode (&hello, frame);

  /* Every truncation of a valid frame. */
  for (gsize cut = 0; cut < n; cut++)
    assert_rejected (frame, cut, NULL, 0, SM_WIRE_STATUS_MALFORMED);

  memcpy (bad, frame, n);
  bad[0] ^= 1;
  assert_rejected (bad, n, NULL, 0, SM_WIRE_STATUS_MALFORMED);

  /* A future version is refused, but the request id survives for the
   * error reply. */
  memcpy (bad, frame, n);
  bad[4] = SM_WIRE_VERSION + 1;
  g_assert_false (sm_wire_decode (bad, n, NULL, 0, &out, &error));
  g_assert_error (error, SM_WIRE_ERROR, SM_WIRE_STATUS_BAD_VERSION);
  g_assert_cmpuint (out.request_id, ==, 7);
  g_clear_error (&error);

  memcpy (bad, frame, n);
  bad[6] = 200;
  assert_rejected (bad, n, NULL, 0, SM_WIRE_STATUS_BAD_TYPE);
  bad[6] = 0;
  assert_rejected (bad, n, NULL, 0, SM_WIRE_STATUS_BAD_TYPE);

  memcpy (bad, frame, n);
  bad[9] = 0x80;                               /* a reserved flag */
  assert_rejected (bad, n, NULL, 0, SM_WIRE_STATUS_MALFORMED);

  /* Trailing bytes the header does not account for. */
  memcpy (bad, frame, n);
  bad[n] = 0;
  assert_rejected (bad, n + 1, NULL, 0, SM_WIRE_STATUS_MALFORMED);

  /* An oversized envelope is refused before its body is looked at. */
  memset (bad + n, 0, sizeof bad - n);
  assert_rejected (bad, sizeof bad, NULL, 0, SM_WIRE_STATUS_TOO_LARGE);

  /* HELLO may not carry a tensor frame. */
  assert_rejected (frame, n, (const guint8 *) features, sizeof features, SM_WIRE_STATUS_MALFORMED);

  /* Strings: invalid UTF-8, an embedded NUL, too long, empty name. */
  memcpy (bad, frame, n);
  bad[SM_WIRE_HEADER_SIZE + 36] = 0xff;
  assert_rejected (bad, n, NULL, 0, SM_WIRE_STATUS_MALFORMED);
  bad[SM_WIRE_HEADER_SIZE + 36] = 0;
  assert_rejected (bad, n, NULL, 0, SM_WIRE_STATUS_MALFORMED);
  memcpy (bad, frame, n);
  bad[SM_WIRE_HEADER_SIZE + 34] = SM_WIRE_NAME_MAX + 1;
  assert_rejected (bad, n, NULL, 0, SM_WIRE_STATUS_TOO_LARGE);
  {
    SmWireMessage nameless = hello_message ();

    nameless.body.hello.name[0] = '\0';
    n = sm_wire_encode (&nameless, bad);
    assert_rejected (bad, n, NULL, 0, SM_WIRE_STATUS_MALFORMED);
  }

  /* INFER: the tensor frame must be there and match rows × cols. */
  {
    SmWireMessage infer = {
      .type = SM_WIRE_INFER_REQUEST, .request_id = 1,
      .body.infer = { .expert = 0, .rows = 1, .cols = 4 },
      .tensor = (const guint8 *) features, .tensor_size = sizeof features,
    };

    n = sm_wire_encode (&infer, frame);
    assert_rejected (frame, n, NULL, 0, SM_WIRE_STATUS_MALFORMED);
    assert_rejected (frame, n, (const guint8 *) features, sizeof features - 4, SM_WIRE_STATUS_MALFORMED);
    g_assert_true (sm_wire_decode (frame, n, (const guint8 *) features, sizeof features, &out, &error));
    g_assert_no_error (error);

    memcpy (bad, frame, n);
    bad[SM_WIRE_HEADER_SIZE + 1] = 1;          /* reserved */
    assert_rejected (bad, n, (const guint8 *) features, sizeof features, SM_WIRE_STATUS_MALFORMED);
    memcpy (bad, frame, n);
    bad[SM_WIRE_HEADER_SIZE] = 32;             /* no such expert */
    assert_rejected (bad, n, (const guint8 *) features, sizeof features, SM_WIRE_STATUS_MALFORMED);

    infer.body.infer.queue_ns = 1;             /* timings belong to replies */
    n = sm_wire_encode (&infer, frame);
    assert_rejected (frame, n, (const guint8 *) features, sizeof features, SM_WIRE_STATUS_MALFORMED);

    /* Sizes are checked against the limits before the tensor frame. */
    infer.body.infer = (SmWireInfer) { .rows = SM_WIRE_ROWS_MAX + 1, .cols = 1 };
    infer.tensor_size = (gsize) infer.body.infer.rows * sizeof (float);
    n = sm_wire_encode (&infer, frame);
    assert_rejected (frame, n, (const guint8 *) features, sizeof features, SM_WIRE_STATUS_TOO_LARGE);
    infer.body.infer = (SmWireInfer) { .rows = 0, .cols = 4 };
    infer.tensor_size = 0;
    n = sm_wire_encode (&infer, frame);
    assert_rejected (frame, n, (const guint8 *) features, sizeof features, SM_WIRE_STATUS_MALFORMED);
  }

  /* A tensor frame larger than any valid one, whatever the header says. */
  assert_rejected (frame, n, (const guint8 *) features, SM_WIRE_TENSOR_MAX + 1, SM_WIRE_STATUS_TOO_LARGE);

  {
    SmWireMessage metrics = { .type = SM_WIRE_METRICS };

    metrics.body.metrics.ops_per_s = NAN;
    n = sm_wire_encode (&metrics, frame);
    assert_rejected (frame, n, NULL, 0, SM_WIRE_STATUS_MALFORMED);
    metrics.body.metrics.ops_per_s = 1;
    metrics.body.metrics.fragmentation = 1.5;
    n = sm_wire_encode (&metrics, frame);
    assert_rejected (frame, n, NULL, 0, SM_WIRE_STATUS_MALFORMED);
  }

  {
    SmWireMessage reply = { .type = SM_WIRE_ERROR_REPLY };

    reply.body.error.code = SM_WIRE_STATUS_LAST + 1;
    n = sm_wire_encode (&reply, frame);
    assert_rejected (frame, n, NULL, 0, SM_WIRE_STATUS_MALFORMED);
  }

  {
    SmWireMessage ping = { .type = SM_WIRE_PING };

    n = sm_wire_encode (&ping, frame);
    frame[n] = 0;
    frame[12] = 1;                             /* body size, at offset 12 */
    assert_rejected (frame, n + 1, NULL, 0, SM_WIRE_STATUS_MALFORMED);
  }
}

static void
check_wire_seed (const char *path,
                 const char *seed_name,
                 const char *outcome,
                 gpointer    data)
{
  g_autofree char *seed = NULL;
  g_autoptr(GError) error = NULL;
  const guint8 *envelope, *tensor;
  gsize length, envelope_size;
  SmWireMessage out;
  gboolean ok;

  /* Framed as the fuzz target reads it: envelope length, envelope, tensor. */
  g_assert_true (g_file_get_contents (path, &seed, &length, NULL));
  g_assert_cmpuint (length, >=, 2);
  envelope_size = (guint8) seed[0] | (gsize) (guint8) seed[1] << 8;
  g_assert_cmpuint (envelope_size, <=, length - 2);
  envelope = (const guint8 *) seed + 2;
  tensor = length - 2 > envelope_size ? envelope + envelope_size : NULL;

  ok = sm_wire_decode (envelope, envelope_size, tensor, length - 2 - envelope_size, &out, &error);
  if (g_str_equal (outcome, "ok"))
    {
      g_assert_no_error (error);
      g_assert_true (ok);
      return;
    }
  g_test_message ("%s: %s", seed_name, error ? error->message : "(accepted!)");
  g_assert_false (ok);
  g_assert_nonnull (error);
  g_assert_cmpstr (sm_wire_status_name (error->code), ==, outcome);
}

/* The seeds were written by an encoder of their own from docs/protocol.md
 * (make-wire-corpus.py): the decoder must agree with the specification,
 * not only with sm_wire_encode(). */
static void
test_wire_corpus (void)
{
  g_assert_cmpuint (corpus_foreach ("wire", check_wire_seed, NULL), >=, 60);
}

/* Issue 15: what version 2 refuses that version 1 let through. */
static void
test_wire_rejects_v2 (void)
{
  guint8 frame[SM_WIRE_ENVELOPE_MAX];
  float features[4] = { 1, 2, 3, 4 };
  SmWireMessage m;
  gsize n;
  const char *const bad_names[] = { "a\nevent gone x", "\x1b[2J", "tab\there", "c1\xc2\x85", "del\x7f" };

  /* Control characters in names: shown on terminals and in logs. */
  for (guint i = 0; i < G_N_ELEMENTS (bad_names); i++)
    {
      m = hello_message ();
      g_strlcpy (m.body.hello.name, bad_names[i], sizeof m.body.hello.name);
      n = sm_wire_encode (&m, frame);
      assert_rejected (frame, n, NULL, 0, SM_WIRE_STATUS_MALFORMED);
      m = hello_message ();
      g_strlcpy (m.body.hello.software, bad_names[i], sizeof m.body.hello.software);
      n = sm_wire_encode (&m, frame);
      assert_rejected (frame, n, NULL, 0, SM_WIRE_STATUS_MALFORMED);
    }

  /* Echo fields that must be zero. */
  for (SmWireType type = SM_WIRE_HELLO; type <= SM_WIRE_BYE; type++)
    {
      g_autoptr(GError) error = NULL;
      gboolean echoes = type == SM_WIRE_HELLO || type == SM_WIRE_PONG || type == SM_WIRE_INFER_REPLY
                        || type == SM_WIRE_ERROR_REPLY;
      SmWireMessage out;

      m = (SmWireMessage) { .type = type, .echo_ns = 5 };
      if (type == SM_WIRE_HELLO)
        m = hello_message (), m.echo_ns = 5;
      if (type == SM_WIRE_INFER_REQUEST || type == SM_WIRE_INFER_REPLY)
        {
          m.body.infer = (SmWireInfer) { .expert = 1, .rows = 1, .cols = 4 };
          m.tensor = (const guint8 *) features;
          m.tensor_size = sizeof features;
        }
      if (type == SM_WIRE_ERROR_REPLY)
        m.body.error.code = SM_WIRE_STATUS_INTERNAL;
      n = sm_wire_encode (&m, frame);
      g_assert_cmpint (sm_wire_decode (frame, n, m.tensor, m.tensor_size, &out, &error), ==, echoes);
      if (!echoes)
        g_assert_error (error, SM_WIRE_ERROR, SM_WIRE_STATUS_MALFORMED);
    }

  /* NaN and infinities in either direction's tensor. */
  m = (SmWireMessage) {
    .type = SM_WIRE_INFER_REQUEST, .body.infer = { .expert = 1, .rows = 1, .cols = 4 },
    .tensor = (const guint8 *) features, .tensor_size = sizeof features,
  };
  n = sm_wire_encode (&m, frame);
  features[3] = NAN;
  assert_rejected (frame, n, (const guint8 *) features, sizeof features, SM_WIRE_STATUS_MALFORMED);
  features[3] = -INFINITY;
  assert_rejected (frame, n, (const guint8 *) features, sizeof features, SM_WIRE_STATUS_MALFORMED);
  m.type = SM_WIRE_INFER_REPLY;
  n = sm_wire_encode (&m, frame);
  features[0] = INFINITY, features[3] = 4;
  assert_rejected (frame, n, (const guint8 *) features, sizeof features, SM_WIRE_STATUS_MALFORMED);

  /* rows × cols within 16 MiB, though each is within its own limit. */
  m.type = SM_WIRE_INFER_REQUEST;
  m.body.infer = (SmWireInfer) { .expert = 1, .rows = SM_WIRE_ROWS_MAX, .cols = SM_WIRE_TENSOR_FLOATS_MAX / SM_WIRE_ROWS_MAX + 1 };
  m.tensor_size = (gsize) m.body.infer.rows * m.body.infer.cols * sizeof (float);
  n = sm_wire_encode (&m, frame);
  assert_rejected (frame, n, (const guint8 *) features, sizeof features, SM_WIRE_STATUS_TOO_LARGE);
  /* The transport carries the largest legal frame with room to spare. */
  g_assert_cmpuint (SM_WIRE_TRANSPORT_MAX, >=, SM_WIRE_TENSOR_MAX + 1024 * 1024);
}

static void
test_wire_text_for_display (void)
{
  struct { const char *in, *out; } cases[] = {
    { "plain ü", "plain ü" },
    { "a\nevent gone b", "a\\x0aevent gone b" },
    { "\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m" },
    { "del\x7f c1\xc2\x9b", "del\\x7f c1\\x9b" },
    { "bad \xff utf8", "bad \xef\xbf\xbd utf8" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *shown = sm_wire_text_for_display (cases[i].in);

      g_assert_cmpstr (shown, ==, cases[i].out);
    }
  {
    g_autofree char *empty = sm_wire_text_for_display (NULL);

    g_assert_cmpstr (empty, ==, "");
  }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/engine/mesh/wire/round-trip", test_wire_round_trip);
  g_test_add_func ("/engine/mesh/wire/rejects", test_wire_rejects);
  g_test_add_func ("/engine/mesh/wire/corpus", test_wire_corpus);
  g_test_add_func ("/engine/mesh/wire/rejects-v2", test_wire_rejects_v2);
  g_test_add_func ("/engine/mesh/wire/text-for-display", test_wire_text_for_display);

  return g_test_run ();
}
