/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "sm-mesh-bench.h"
#include "sm-node.h"
#include "sm-wire.h"
#include "sm-workload.h"

#define FEATURES 256

typedef struct
{
  float         features[FEATURES];
  float         received[FEATURES];
  guint8        frame[SM_WIRE_ENVELOPE_MAX];
  SmWireMessage request;
} WireBench;

/* What the two ends do per request, the transport aside: the sender
 * encodes the envelope, the receiver decodes it and copies the features
 * into its batch. */
static void
run_codec (gpointer data)
{
  WireBench *b = data;
  SmWireMessage decoded;
  gsize n;

  b->request.request_id++;
  n = sm_wire_encode (&b->request, b->frame);
  if (!sm_wire_decode (b->frame, n, b->request.tensor, b->request.tensor_size, &decoded, NULL))
    g_error ("the benchmark's own request does not decode");
  sm_wire_tensor_copy (&decoded, b->received);
}

/* The floor: the copy of the features that no wire format avoids. */
static void
run_copy (gpointer data)
{
  WireBench *b = data;

  memcpy (b->received, b->features, sizeof b->features);
  __asm__ volatile ("" : : "r" (b->received) : "memory");
}

/* Round trips per figure, after a warm-up of WARMUP. */
#define ROUND_TRIPS 10000
#define WARMUP      500

static int
compare_u64 (const void *a,
             const void *b)
{
  guint64 x = *(const guint64 *) a, y = *(const guint64 *) b;

  return x < y ? -1 : x > y;
}

/* Sorts @ns and returns its p50 and p99 in µs. */
static void
percentiles (guint64 *ns,
             guint    n,
             double  *p50,
             double  *p99)
{
  qsort (ns, n, sizeof *ns, compare_u64);
  *p50 = ns[n / 2] / 1e3;
  *p99 = ns[(gsize) n * 99 / 100] / 1e3;
}

static guint64
clock_ns (void)
{
  return (guint64) (sm_bench_now () * 1e9);
}

/* The floor: a bare ROUTER that echoes on its own thread, a DEALER that
 * sends a PING-sized frame and waits for it, both with CURVE.  Each has
 * its own ZeroMQ context, as two nodes (two processes) have: one context
 * would carry both ends on one I/O thread, a path no mesh takes. */
typedef struct
{
  void *router;
  gint  stop;
} Echo;

static gpointer
echo_main (gpointer data)
{
  Echo *echo = data;
  zmq_pollitem_t item = { .socket = echo->router, .events = ZMQ_POLLIN };
  guint8 id[256], frame[SM_WIRE_ENVELOPE_MAX];

  while (!g_atomic_int_get (&echo->stop))
    {
      int id_size, size;

      if (zmq_poll (&item, 1, 100) <= 0)
        continue;
      id_size = zmq_recv (echo->router, id, sizeof id, 0);
      size = zmq_recv (echo->router, frame, sizeof frame, 0);
      if (id_size < 0 || size < 0)
        continue;
      zmq_send (echo->router, id, (size_t) MIN (id_size, (int) sizeof id), ZMQ_SNDMORE);
      zmq_send (echo->router, frame, (size_t) MIN (size, (int) sizeof frame), 0);
    }
  return NULL;
}

static gboolean
raw_round_trips (guint64  *rtts,
                 GError  **error)
{
  char server_public[41], server_secret[41], client_public[41], client_secret[41];
  void *context = zmq_ctx_new (), *echo_context = zmq_ctx_new ();
  void *dealer = zmq_socket (context, ZMQ_DEALER);
  Echo echo = { .router = zmq_socket (echo_context, ZMQ_ROUTER) };
  int one = 1, linger = 0;
  char endpoint[256];
  size_t endpoint_size = sizeof endpoint;
  guint8 frame[SM_WIRE_HEADER_SIZE] = { 0 }, back[SM_WIRE_ENVELOPE_MAX];
  GThread *thread;
  gboolean ok = TRUE;

  zmq_curve_keypair (server_public, server_secret);
  zmq_curve_keypair (client_public, client_secret);
  zmq_setsockopt (echo.router, ZMQ_LINGER, &linger, sizeof linger);
  zmq_setsockopt (dealer, ZMQ_LINGER, &linger, sizeof linger);
  zmq_setsockopt (echo.router, ZMQ_CURVE_SERVER, &one, sizeof one);
  zmq_setsockopt (echo.router, ZMQ_CURVE_SECRETKEY, server_secret, 41);
  zmq_setsockopt (dealer, ZMQ_CURVE_SERVERKEY, server_public, 41);
  zmq_setsockopt (dealer, ZMQ_CURVE_PUBLICKEY, client_public, 41);
  zmq_setsockopt (dealer, ZMQ_CURVE_SECRETKEY, client_secret, 41);
  if (zmq_bind (echo.router, "tcp://127.0.0.1:*") < 0
      || zmq_getsockopt (echo.router, ZMQ_LAST_ENDPOINT, endpoint, &endpoint_size) < 0
      || zmq_connect (dealer, endpoint) < 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "Cannot set up the raw ZeroMQ pair: %s",
                   zmq_strerror (zmq_errno ()));
      zmq_close (dealer);
      zmq_close (echo.router);
      zmq_ctx_term (context);
      zmq_ctx_term (echo_context);
      return FALSE;
    }

  thread = g_thread_new ("sm-bench-echo", echo_main, &echo);
  for (guint i = 0; ok && i < WARMUP + ROUND_TRIPS; i++)
    {
      guint64 t0 = clock_ns ();

      ok = zmq_send (dealer, frame, sizeof frame, 0) >= 0 && zmq_recv (dealer, back, sizeof back, 0) >= 0;
      if (i >= WARMUP)
        rtts[i - WARMUP] = clock_ns () - t0;
    }
  g_atomic_int_set (&echo.stop, TRUE);
  g_thread_join (thread);
  zmq_close (dealer);
  zmq_close (echo.router);
  zmq_ctx_term (context);
  zmq_ctx_term (echo_context);

  if (!ok)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "The raw round trip failed: %s", zmq_strerror (zmq_errno ()));
  return ok;
}

typedef struct
{
  SmEngine *engine;
  SmTrust  *trust;
  SmNode   *node;
  SmIdentity identity;
} BenchNode;

static gboolean
bench_node_start (BenchNode   *b,
                  const char  *name,
                  GError     **error)
{
  SmNodeConfig config = { .name = name, .bind = "tcp://127.0.0.1:*" };

  zmq_curve_keypair (b->identity.public_key, b->identity.secret_key);
  b->trust = sm_trust_new ();
  b->engine = sm_engine_new (SM_POOL_DEFAULT_LIMIT, 1, error);
  if (b->engine == NULL)
    return FALSE;
  config.identity = b->identity;
  config.trust = b->trust;
  b->node = sm_node_new (b->engine, &config, error);
  return b->node != NULL;
}

static void
bench_node_stop (BenchNode *b)
{
  g_clear_pointer (&b->node, sm_node_free);
  g_clear_pointer (&b->engine, sm_engine_free);
  g_clear_pointer (&b->trust, sm_trust_free);
}

static gboolean
wait_ready (SmNode  *node,
            GError **error)
{
  gint64 until = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < until)
    {
      g_autoptr(GArray) peers = sm_node_dup_peers (node);

      if (peers->len > 0 && g_array_index (peers, SmNodePeerInfo, 0).state == SM_PEER_READY)
        return TRUE;
      g_usleep (1000);
    }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "The benchmark's two nodes did not meet in 10 s");
  return FALSE;
}

/* Batch-1 inference latency of @n queries, one after another. */
static gboolean
infer_latencies (SmEngine  *engine,
                 guint64   *ns,
                 guint      n,
                 gboolean   remote,
                 GError   **error)
{
  static const char * const texts[] = {
    "write a c function that sums an array",
    "prove the triangle inequality",
    "translate thank you into japanese",
    "differentiate sine of x squared",
  };

  for (guint i = 0; i < WARMUP + n; i++)
    {
      guint64 t0 = clock_ns ();
      g_autoptr(SmResult) result = sm_engine_infer (engine, texts[i % G_N_ELEMENTS (texts)], error);

      if (result == NULL)
        return FALSE;
      if (result->remote != remote)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "A query ran %s, not %s",
                       result->remote ? "remotely" : "locally", remote ? "remotely" : "locally");
          return FALSE;
        }
      if (i >= WARMUP)
        ns[i - WARMUP] = clock_ns () - t0;
    }
  return TRUE;
}

/* One run's loopback figures, µs. */
typedef struct
{
  double raw50, raw99, ping50, ping99, local50, local99, remote50, remote99;
} NetworkRun;

/* The target mixes two same-run figures: local p50 + 1.5 × raw p50. */
static double
remote_limit (const NetworkRun *run)
{
  return run->local50 + 1.5 * run->raw50;
}

/* Loopback, once: the raw floor, our PING/PONG between @a and @b, and a
 * standard-preset query at batch 1 locally and through @b. */
static gboolean
measure_network (BenchNode   *a,
                 NetworkRun  *run,
                 GError     **error)
{
  g_autofree guint64 *ns = g_new (guint64, ROUND_TRIPS);

  if (!raw_round_trips (ns, error))
    return FALSE;
  percentiles (ns, ROUND_TRIPS, &run->raw50, &run->raw99);
  if (!sm_node_probe (a->node, 0, WARMUP, ns, error) || !sm_node_probe (a->node, 0, ROUND_TRIPS, ns, error))
    return FALSE;
  percentiles (ns, ROUND_TRIPS, &run->ping50, &run->ping99);

  sm_engine_set_offload_share (a->engine, 0, 0);
  if (!infer_latencies (a->engine, ns, ROUND_TRIPS / 2, FALSE, error))
    return FALSE;
  percentiles (ns, ROUND_TRIPS / 2, &run->local50, &run->local99);
  sm_engine_set_offload_share (a->engine, 100, 0);
  if (!infer_latencies (a->engine, ns, ROUND_TRIPS / 2, TRUE, error))
    return FALSE;
  percentiles (ns, ROUND_TRIPS / 2, &run->remote50, &run->remote99);
  sm_engine_set_offload_share (a->engine, 0, 0);
  return TRUE;
}

static int
compare_margin (const void *x,
                const void *y)
{
  const NetworkRun *a = x, *b = y;
  double ma = a->remote50 - remote_limit (a), mb = b->remote50 - remote_limit (b);

  return ma < mb ? -1 : ma > mb;
}

/* The network figures of the median run of @n (by how far remote p50 is
 * from its limit), and the spread of that margin over all of them: the
 * loopback round trip moves by tens of µs from run to run. */
static void
report_network (SmBenchReport *report,
                NetworkRun    *runs,
                guint          n)
{
  const NetworkRun *median;
  guint raw50_index, raw99_index, local_index, met = 0;
  g_autofree char *limit = NULL, *spread = NULL;

  qsort (runs, n, sizeof *runs, compare_margin);
  median = &runs[n / 2];
  for (guint i = 0; i < n; i++)
    met += runs[i].remote50 <= remote_limit (&runs[i]);

  raw50_index = sm_bench_report_add (report, "zmq-dealer-router-rtt", "transport=tcp-loopback curve=1 contexts=2 stat=p50", median->raw50, "us");
  raw99_index = sm_bench_report_add (report, "zmq-dealer-router-rtt", "transport=tcp-loopback curve=1 contexts=2 stat=p99", median->raw99, "us");
  sm_bench_report_compare (report, "ping-pong-rtt", "transport=tcp-loopback curve=1 stat=p50 vs=zmq-dealer-router-rtt",
                           median->ping50, "us", raw50_index, "<= 1.2");
  sm_bench_report_compare (report, "ping-pong-rtt", "transport=tcp-loopback curve=1 stat=p99 vs=zmq-dealer-router-rtt",
                           median->ping99, "us", raw99_index, "<= 1.5");
  local_index = sm_bench_report_add (report, "local-inference", "preset=standard batch=1 stat=p50", median->local50, "us");
  sm_bench_report_add (report, "local-inference", "preset=standard batch=1 stat=p99", median->local99, "us");

  limit = g_strdup_printf ("<= %.1f", remote_limit (median));
  sm_bench_report_add_target (report, "remote-inference", "preset=standard batch=1 stat=p50 limit=local_p50+1.5*raw_rtt_p50",
                              median->remote50, "us", limit);
  sm_bench_report_compare (report, "remote-inference", "preset=standard batch=1 stat=p50 vs=local-inference",
                           median->remote50, "us", local_index, NULL);
  sm_bench_report_add (report, "remote-inference", "preset=standard batch=1 stat=p99", median->remote99, "us");

  spread = g_strdup_printf ("runs=%u met=%u min=%.1f max=%.1f stat=p50-limit", n, met,
                            runs[0].remote50 - remote_limit (&runs[0]),
                            runs[n - 1].remote50 - remote_limit (&runs[n - 1]));
  sm_bench_report_add (report, "remote-inference-margin", spread, median->remote50 - remote_limit (median), "us");
}

/* Queries outstanding per row of a batch in the throughput runs: enough
 * that a batch fills while the previous one is out. */
#define OUTSTANDING_PER_ROW 4

/* Closed-loop throughput of one expert's queries at @batch (both engines'
 * max batch, and so the rows of a request): @a alone, then with all of
 * them sent to its peer.  The remote figure is compared with the local
 * one; the rows a request carried on average are in its parameters. */
static gboolean
measure_throughput (SmBenchReport  *report,
                    BenchNode      *a,
                    BenchNode      *b,
                    guint           batch,
                    GError        **error)
{
  const double only_coding[SM_N_DOMAINS] = { [SM_DOMAIN_CODING] = 1 };
  double rates[2] = { 0, 0 };
  SmNodeStats before, after;
  guint local_index;
  g_autofree char *local_params = NULL, *remote_params = NULL;

  if (!sm_engine_set_max_batch (a->engine, batch, error) || !sm_engine_set_max_batch (b->engine, batch, error))
    return FALSE;
  for (guint remote = 0; remote < 2; remote++)
    {
      g_autoptr(SmWorkload) workload = sm_workload_new (a->engine, SM_WORKLOAD_CLOSED,
                                                        OUTSTANDING_PER_ROW * batch, 23);

      sm_engine_set_offload_share (a->engine, remote ? 100 : 0, 0);
      sm_workload_set_mix (workload, only_coding);
      sm_workload_set_unique (workload, TRUE);
      sm_workload_start (workload);
      g_usleep (300000);
      if (remote)
        sm_node_get_stats (a->node, &before);
      rates[remote] = sm_workload_measure_rate (workload, 1.5);
      if (remote)
        sm_node_get_stats (a->node, &after);
      sm_workload_stop (workload);
    }
  sm_engine_set_offload_share (a->engine, 0, 0);

  local_params = g_strdup_printf ("preset=standard batch=%u outstanding=%u", batch, OUTSTANDING_PER_ROW * batch);
  remote_params = g_strdup_printf ("%s rows_per_request=%.1f vs=local-throughput", local_params,
                                   after.offload_requests > before.offload_requests
                                   ? (double) (after.offloaded - before.offloaded)
                                     / (after.offload_requests - before.offload_requests) : 0.0);
  local_index = sm_bench_report_add (report, "local-throughput", local_params, rates[0], "queries/s");
  sm_bench_report_compare (report, "remote-throughput", remote_params, rates[1], "queries/s", local_index, NULL);
  return TRUE;
}

static gboolean
bench_network (SmBenchReport  *report,
               gboolean        quick,
               GError        **error)
{
  static const guint batches[] = { 1, 8, 32 };
  guint n_runs = quick ? 1 : 5;
  g_autofree NetworkRun *runs = g_new0 (NetworkRun, n_runs);
  BenchNode a = { 0 }, b = { 0 };
  gboolean ok = FALSE;

  if (!bench_node_start (&a, "bench-a", error) || !bench_node_start (&b, "bench-b", error)
      || !sm_node_add_peer (a.node, "b", sm_node_get_endpoint (b.node), b.identity.public_key, error)
      || !sm_node_add_peer (b.node, "a", sm_node_get_endpoint (a.node), a.identity.public_key, error)
      || !wait_ready (a.node, error))
    goto out;

  for (guint i = 0; i < n_runs; i++)
    if (!measure_network (&a, &runs[i], error))
      goto out;
  report_network (report, runs, n_runs);

  for (guint i = 0; i < G_N_ELEMENTS (batches); i++)
    if (!measure_throughput (report, &a, &b, batches[i], error))
      goto out;
  ok = TRUE;

out:
  bench_node_stop (&a);
  bench_node_stop (&b);
  return ok;
}

void
sm_mesh_bench (SmBenchReport *report,
               gboolean       quick)
{
  g_autoptr(GError) error = NULL;

  g_autofree WireBench *b = g_new0 (WireBench, 1);
  guint copy_index;
  double codec_ns;

  for (guint i = 0; i < FEATURES; i++)
    b->features[i] = (float) i / FEATURES;
  b->request = (SmWireMessage) {
    .type = SM_WIRE_INFER_REQUEST,
    .body.infer = { .expert = SM_WIRE_EXPERT_ROUTE, .rows = 1, .cols = FEATURES },
    .tensor = (const guint8 *) b->features,
    .tensor_size = sizeof b->features,
  };

  copy_index = sm_bench_report_add (report, "tensor-copy", "floats=256",
                                    sm_bench_time_best (run_copy, b) * 1e9, "ns");
  codec_ns = sm_bench_time_best (run_codec, b) * 1e9;
  sm_bench_report_add_target (report, "wire-encode+decode", "type=INFER_REQUEST floats=256",
                              codec_ns, "ns", "<= 1000");
  sm_bench_report_compare (report, "wire-encode+decode", "type=INFER_REQUEST floats=256 vs=tensor-copy",
                           codec_ns, "ns", copy_index, NULL);

  if (!bench_network (report, quick, &error))
    g_printerr ("The mesh's network figures are missing: %s\n", error->message);
}
