/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Every metric id, in one place.  The engine and the monitor register them;
 * the front-ends, the advisor and the store look them up by these names.
 * They are written into session databases: never rename one.  A latency
 * id stands for a family: ID.count, ID.p50, ID.p90, ID.p99, ID.p999,
 * ID.max and ID.mean. */

/* Latencies (SM_METRIC_ID_LATENCY is end to end; the others one stage each). */
#define SM_METRIC_ID_LATENCY                "latency"
#define SM_METRIC_ID_STAGE_FEATURES         "stage.features"
#define SM_METRIC_ID_STAGE_ROUTING          "stage.routing"
#define SM_METRIC_ID_STAGE_QUEUE            "stage.queue"
#define SM_METRIC_ID_STAGE_INFERENCE        "stage.inference"
#define SM_METRIC_ID_STAGE_REMOTE           "stage.remote"
#define SM_METRIC_ID_STAGE_GPU              "stage.gpu"

#define SM_METRIC_ID_LATENCY_P50            SM_METRIC_ID_LATENCY ".p50"
#define SM_METRIC_ID_LATENCY_P90            SM_METRIC_ID_LATENCY ".p90"
#define SM_METRIC_ID_LATENCY_P99            SM_METRIC_ID_LATENCY ".p99"
#define SM_METRIC_ID_STAGE_QUEUE_P50        SM_METRIC_ID_STAGE_QUEUE ".p50"
#define SM_METRIC_ID_STAGE_INFERENCE_P50    SM_METRIC_ID_STAGE_INFERENCE ".p50"
#define SM_METRIC_ID_STAGE_REMOTE_P50       SM_METRIC_ID_STAGE_REMOTE ".p50"
#define SM_METRIC_ID_STAGE_GPU_P50          SM_METRIC_ID_STAGE_GPU ".p50"
#define SM_METRIC_ID_STAGE_GPU_P99          SM_METRIC_ID_STAGE_GPU ".p99"

/* The engine */
#define SM_METRIC_ID_THROUGHPUT             "engine.throughput"
#define SM_METRIC_ID_FAILURES               "engine.failures"
#define SM_METRIC_ID_OFFLOADED              "engine.offloaded"
#define SM_METRIC_ID_OFFLOAD_SHARE          "engine.offload_share"
#define SM_METRIC_ID_QUEUE_DEPTH            "engine.queue_depth"
#define SM_METRIC_ID_MEAN_BATCH             "engine.mean_batch"
#define SM_METRIC_ID_CACHE_HIT_RATE         "engine.cache_hit_rate"
#define SM_METRIC_ID_GPU_BATCHES            "gpu.batches"
#define SM_METRIC_ID_GPU_BUSY               "gpu.busy"

/* A mesh peer's own figures, from its METRICS: "peer.<fingerprint, 32
 * hex digits>.<figure>" (engine/mesh/sm-node-figures.c). */
#define SM_METRIC_PEER_PREFIX               "peer."
#define SM_METRIC_PEER_THROUGHPUT           "throughput"
#define SM_METRIC_PEER_P50                  "p50"
#define SM_METRIC_PEER_P99                  "p99"
#define SM_METRIC_PEER_QUEUE                "queue_depth"
#define SM_METRIC_PEER_POOL                 "pool_in_use"

/* The memory pool */
#define SM_METRIC_ID_POOL_IN_USE            "pool.in_use"
#define SM_METRIC_ID_POOL_RESERVED          "pool.reserved"
#define SM_METRIC_ID_POOL_LIMIT             "pool.limit"
#define SM_METRIC_ID_POOL_FRAGMENTATION     "pool.fragmentation"
#define SM_METRIC_ID_POOL_FAILURES          "pool.failures"

/* The kernels and the process */
#define SM_METRIC_ID_SIMD_UTILISATION       "simd.utilisation"
#define SM_METRIC_ID_PROCESS_RSS            "process.rss"
#define SM_METRIC_ID_PROCESS_CPU            "process.cpu"
