/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdlib.h>

#include "sm-histogram.h"
#include "sm-pool.h"
#include "sm-pool-bench.h"

/* Keeps the compiler from eliding a malloc/free pair. */
static gpointer volatile sink;

#define SCRATCH_BATCH 256
#define SCRATCH_SIZE  64

typedef struct
{
  SmPool      *pool;
  SmPoolArena *arena;
  gsize        size;
} PoolBench;

/* A batch's worth of temporaries, then the reset that ends the batch. */
static void
run_scratch (gpointer data)
{
  PoolBench *b = data;

  for (int i = 0; i < SCRATCH_BATCH; i++)
    sink = sm_pool_arena_alloc (b->arena, SCRATCH_SIZE);
  sm_pool_arena_reset (b->arena);
}

static void
run_malloc_small (gpointer data)
{
  for (int i = 0; i < SCRATCH_BATCH; i++)
    {
      sink = malloc (SCRATCH_SIZE);
      free (sink);
    }
}

static void
run_pool_block (gpointer data)
{
  PoolBench *b = data;
  SmPoolBlock *block = sm_pool_alloc (b->pool, b->size, NULL);

  sink = block;
  sm_pool_block_free (block);
}

static void
run_malloc_block (gpointer data)
{
  PoolBench *b = data;

  sink = malloc (b->size);
  free (sink);
}

/* Loading and unloading a model: its tensors allocated one after the other,
 * then all freed, as the engine does on a model change. */
#define MODEL_TENSORS 24

static const gsize model_sizes[4] = { 64 * 1024, 256 * 1024, 1024 * 1024, 512 * 1024 };

static void
run_pool_model (gpointer data)
{
  PoolBench *b = data;
  SmPoolBlock *blocks[MODEL_TENSORS];

  for (int i = 0; i < MODEL_TENSORS; i++)
    blocks[i] = sm_pool_alloc (b->pool, model_sizes[i % 4], NULL);
  for (int i = 0; i < MODEL_TENSORS; i++)
    sm_pool_block_free (blocks[i]);
}

static void
run_malloc_model (gpointer data)
{
  gpointer blocks[MODEL_TENSORS];

  for (int i = 0; i < MODEL_TENSORS; i++)
    sink = blocks[i] = malloc (model_sizes[i % 4]);
  for (int i = 0; i < MODEL_TENSORS; i++)
    free (blocks[i]);
}

/* Latencies spread over three decades, as a stage's would be. */
#define RECORD_BATCH 1024

typedef struct
{
  SmHistogramRecorder *recorder;
  guint64              values[RECORD_BATCH];
} RecordBench;

static void
run_record (gpointer data)
{
  RecordBench *r = data;

  for (int i = 0; i < RECORD_BATCH; i++)
    sm_histogram_recorder_record (r->recorder, r->values[i]);
}

void
sm_pool_bench (SmBenchReport *report)
{
  const gsize sizes[] = { 4096, 64 * 1024, 1024 * 1024 };
  g_autoptr(SmPool) pool = sm_pool_new (SM_POOL_DEFAULT_LIMIT, NULL);
  PoolBench b = { .pool = pool };
  SmPoolBlock *resident[4];
  guint malloc_index;
  double t;

  /* A pool as the engine leaves it: some weights resident, one arena. */
  for (int i = 0; i < 4; i++)
    resident[i] = sm_pool_alloc (pool, (gsize) (i + 1) * 512 * 1024, NULL);
  b.arena = sm_pool_arena_new (pool, 1024 * 1024, NULL);

  t = sm_bench_time_best (run_malloc_small, &b) / SCRATCH_BATCH;
  malloc_index = sm_bench_report_add (report, "glibc-malloc+free", "size=64", t * 1e9, "ns");
  t = sm_bench_time_best (run_scratch, &b) / SCRATCH_BATCH;
  sm_bench_report_add_target (report, "scratch-alloc", "size=64", t * 1e9, "ns", "<= 5");
  sm_bench_report_compare (report, "scratch-alloc", "size=64 vs=malloc", t * 1e9, "ns", malloc_index, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autofree char *params = g_strdup_printf ("size=%zu", sizes[i]);

      b.size = sizes[i];
      malloc_index = sm_bench_report_add (report, "glibc-malloc+free", params,
                                          sm_bench_time_best (run_malloc_block, &b) * 1e9, "ns");
      sm_bench_report_compare (report, "page-run-alloc+free", params,
                               sm_bench_time_best (run_pool_block, &b) * 1e9, "ns",
                               malloc_index, "<= 0.333");
    }

  malloc_index = sm_bench_report_add (report, "glibc-malloc+free", "pattern=model tensors=24",
                                      sm_bench_time_best (run_malloc_model, &b) * 1e9, "ns");
  sm_bench_report_compare (report, "page-run-alloc+free", "pattern=model tensors=24",
                           sm_bench_time_best (run_pool_model, &b) * 1e9, "ns", malloc_index, NULL);

  {
    g_autoptr(SmHistogram) histogram = sm_histogram_new ();
    g_autoptr(GRand) rand = g_rand_new_with_seed (3);
    RecordBench *r = g_new (RecordBench, 1);

    r->recorder = sm_histogram_add_recorder (histogram);
    for (int i = 0; i < RECORD_BATCH; i++)
      r->values[i] = (guint64) g_rand_int_range (rand, 1000, 1000000);
    sm_bench_report_add_target (report, "histogram-record", "values=1us..1ms",
                                sm_bench_time_best (run_record, r) / RECORD_BATCH * 1e9, "ns", "<= 5");
    g_free (r);
  }

  sm_pool_arena_free (b.arena);
  for (int i = 0; i < 4; i++)
    sm_pool_block_free (resident[i]);
}
