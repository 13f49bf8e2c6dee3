/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "sm-mesh-bench.h"
#include "sm-wire.h"

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

void
sm_mesh_bench (SmBenchReport *report)
{
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
}
