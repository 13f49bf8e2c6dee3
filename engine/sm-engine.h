/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "sm-model.h"
#include "sm-monitor.h"
#include "sm-pool.h"
#include "sm-simd.h"

G_BEGIN_DECLS

/* The engine: the one object the dashboard, the CLI and the mesh drive.
 *
 * A query's text is turned into features and routed on the submitting
 * thread (about a microsecond), then waits in its expert's queue until a
 * worker takes it in a micro-batch (up to max batch queries, waiting at
 * most max wait for the batch to fill), runs the expert on the chosen
 * kernels and completes it.  Every stage is timed into the monitor.
 *
 * All functions are thread-safe.  Knobs change live: a change never drops
 * or repeats a query.  Every submitted query completes exactly once, with a
 * result or an error, also when the engine is freed with queries queued. */

typedef enum {
  SM_BACKEND_AUTO,      /* the best kernels this machine runs */
  SM_BACKEND_GENERIC,
  SM_BACKEND_AVX2,
  SM_BACKEND_AVX512,
  SM_BACKEND_NEON,
  SM_N_BACKENDS
} SmBackend;

/* How batches use the GPU (engine/gpu). */
typedef enum {
  SM_GPU_OFF,           /* the CPU kernels only */
  SM_GPU_ON,            /* every batch on the GPU */
  SM_GPU_AUTO,          /* batches from the calibrated crossover size on */
} SmGpuMode;

#define SM_ENGINE_MAX_THREADS     64
#define SM_ENGINE_MAX_BATCH       1024
#define SM_ENGINE_DEFAULT_BATCH   32
#define SM_ENGINE_DEFAULT_WAIT_US 200

typedef struct _SmEngine SmEngine;

typedef struct
{
  SmDomain  domain;                 /* the most likely domain */
  guint     n_experts;              /* > 1 with consensus */
  SmDomain  experts[3];
  float     weights[3];
  float    *output;                 /* the (mixed) output vector */
  guint     output_width;
  guint     argmax;                 /* index of the largest output */
  float     confidence;             /* its softmax probability */
  gboolean  cached;                 /* answered from the result cache */
  gboolean  remote;                 /* answered by a mesh peer */
  /* Latency per stage, ns.  total runs from the intended start: for an
   * open-loop workload, a stall shows in every query it delays. */
  guint64   features_ns;
  guint64   routing_ns;
  guint64   queue_ns;
  guint64   inference_ns;
  guint64   total_ns;
} SmResult;

/* Called once per query, on a worker thread (or the submitting one for a
 * cache hit or an immediate error); takes ownership of @result. */
typedef void (*SmEngineDoneFunc) (SmResult     *result,
                                  const GError *error,
                                  gpointer      user_data);

/* An engine with a pool of @pool_limit bytes, @threads workers and the
 * standard preset loaded. */
SmEngine    *sm_engine_new             (gsize           pool_limit,
                                        guint           threads,
                                        GError        **error);
void         sm_engine_free            (SmEngine       *engine);

/* Swaps the model: the queries queued meanwhile run on the new one. */
gboolean     sm_engine_load_preset     (SmEngine       *engine,
                                        SmPreset        preset,
                                        GError        **error);
gboolean     sm_engine_load_model      (SmEngine       *engine,
                                        const char     *path,
                                        GError        **error);
/* Describes the loaded model ("preset standard", a file name). */
char        *sm_engine_dup_model_description (SmEngine *engine);

/* Submits a query; @intended_ns is when it was meant to start on the
 * monotonic clock (g_get_monotonic_time () * 1000), 0 for now. */
void         sm_engine_submit          (SmEngine        *engine,
                                        const char      *text,
                                        gssize           length,
                                        gint64           intended_ns,
                                        SmEngineDoneFunc done,
                                        gpointer         user_data);

/* Submits a query that arrives as features for one expert, as a mesh peer
 * sends it: no text, no routing, no result cache.  @width may exceed the
 * expert's input (the first floats are used); fewer is an error. */
void         sm_engine_submit_features (SmEngine        *engine,
                                        SmDomain         domain,
                                        const float     *features,
                                        guint            width,
                                        SmEngineDoneFunc done,
                                        gpointer         user_data);

/* Submits @rows such queries at once, as a peer's batch arrives:
 * @features is row-major, @rows × @width.  They join the expert's queue
 * together, so that a worker takes them as one batch (as many as the
 * max-batch knob allows); @done is called once per row, with
 * @user_data[row]. */
void         sm_engine_submit_feature_rows (SmEngine     *engine,
                                        SmDomain         domain,
                                        const float     *features,
                                        guint            rows,
                                        guint            width,
                                        SmEngineDoneFunc done,
                                        gpointer const  *user_data);

/* Blocks until the query is answered. */
SmResult    *sm_engine_infer           (SmEngine       *engine,
                                        const char     *text,
                                        GError        **error);

void         sm_engine_infer_async     (SmEngine            *engine,
                                        const char          *text,
                                        GCancellable        *cancellable,
                                        GAsyncReadyCallback  callback,
                                        gpointer             user_data);
SmResult    *sm_engine_infer_finish    (SmEngine       *engine,
                                        GAsyncResult   *result,
                                        GError        **error);

/* Knobs */
gboolean     sm_engine_set_backend     (SmEngine       *engine,
                                        SmBackend       backend,
                                        GError        **error);
SmBackend    sm_engine_get_backend     (SmEngine       *engine);
/* The weights' precision (f32 by default), for this model and those loaded
 * after it; changing it converts the weights while no batch runs.  With
 * the pool at its limit, an error and no change. */
gboolean     sm_engine_set_precision   (SmEngine       *engine,
                                        SmPrecision     precision,
                                        GError        **error);
SmPrecision  sm_engine_get_precision   (SmEngine       *engine);
/* What @precision costs the model loaded now, against f32, on a
 * calibration batch: measured for every precision on a copy of the
 * model the first time it is asked for (tens of ms; workers go on), then
 * remembered with the model.  FALSE (NaNs) before a model, or where the
 * pool had no room to measure. */
gboolean     sm_engine_get_precision_error (SmEngine         *engine,
                                        SmPrecision       precision,
                                        SmPrecisionError *error);
/* The instruction set the engine's kernels use now (what HELLO tells peers). */
SmSimdLevel  sm_engine_get_simd_level  (SmEngine       *engine);
gboolean     sm_engine_set_threads     (SmEngine       *engine,
                                        guint           threads,
                                        GError        **error);
guint        sm_engine_get_threads     (SmEngine       *engine);
/* Lowers the worker threads' priority: their niceness becomes the
 * caller's plus @nice (at most 19), now and for workers started later.  A
 * program with a window does so that its main loop is not starved by
 * workers that use every core. */
void         sm_engine_set_worker_nice (SmEngine       *engine,
                                        int             nice);
gboolean     sm_engine_set_max_batch   (SmEngine       *engine,
                                        guint           max_batch,
                                        GError        **error);
guint        sm_engine_get_max_batch   (SmEngine       *engine);
void         sm_engine_set_max_wait_us (SmEngine       *engine,
                                        guint           max_wait_us);
guint        sm_engine_get_max_wait_us (SmEngine       *engine);
void         sm_engine_set_consensus   (SmEngine       *engine,
                                        gboolean        consensus);
gboolean     sm_engine_get_consensus   (SmEngine       *engine);
/* Result cache entries; 0 turns the cache off. */
void         sm_engine_set_cache_size  (SmEngine       *engine,
                                        guint           entries);
guint        sm_engine_get_cache_size  (SmEngine       *engine);

/* The pool's limit, live (see sm_pool_set_limit()). */
gboolean     sm_engine_set_pool_limit  (SmEngine       *engine,
                                        gsize           limit,
                                        GError        **error);
/* Compacts the pool: workers pause between batches meanwhile (queries
 * wait, none is lost).  Returns the blocks moved. */
guint        sm_engine_compact_pool    (SmEngine       *engine);

const char  *sm_backend_get_name       (SmBackend       backend);
/* The kernels a backend runs, or NULL with @reason where unavailable. */
const SmKernels *sm_backend_get_kernels (SmBackend      backend,
                                        const char    **reason);
gboolean     sm_backend_from_name      (const char     *name,
                                        SmBackend      *backend);

/* Counts and end-to-end latency since the engine started, for summaries
 * that travel (the mesh's METRICS). */
typedef struct
{
  guint64 completed;
  guint64 failed;
  guint64 batches;      /* the batches the workers ran */
  guint64 p50_ns;
  guint64 p99_ns;
  guint64 p999_ns;
} SmEngineTotals;

void         sm_engine_get_totals      (SmEngine       *engine,
                                        SmEngineTotals *totals);

/* Queries waiting for a worker (jobs, one per expert of a query). */
guint        sm_engine_get_queue_depth (SmEngine       *engine);

/* What a mesh peer must match to share work: the model's hash (XXH64 of
 * its shapes and weights), the experts it has (bit d: domain d) and the
 * widest expert input. */
void         sm_engine_get_model_identity (SmEngine    *engine,
                                        guint64        *hash,
                                        guint32        *expert_mask,
                                        guint          *input_width);

/* ---- remote inference ----
 *
 * The offload knobs: @percent (0…100) of the single-expert queries, spread
 * evenly, and every one submitted while more than @queue_above jobs wait
 * here (0: never for that reason), are offered to the mesh. */
void         sm_engine_set_offload_share (SmEngine     *engine,
                                        guint           percent,
                                        guint           queue_above);
guint        sm_engine_get_offload_share (SmEngine     *engine,
                                        guint          *queue_above);

/* Turns the GPU on, to auto or off.  On and auto find the device, upload
 * the model (and auto times it against the CPU kernels for the crossover
 * batch): seconds, so never on a main loop.  FALSE, with the reason, leaves
 * it off.  Should a batch fail on the GPU later, the engine runs it and all
 * after it on the CPU and the status says why. */
gboolean     sm_engine_set_gpu_mode    (SmEngine       *engine,
                                        SmGpuMode       mode,
                                        GError        **error);
SmGpuMode    sm_engine_get_gpu_mode    (SmEngine       *engine);
/* AUTO's smallest GPU batch for the model in use, measured the first time
 * it is set to auto; G_MAXUINT when the GPU never won, 0 until measured. */
guint        sm_engine_get_gpu_crossover (SmEngine     *engine);
/* "GPU off", "GPU on: NVIDIA …", "GPU off: <why>", for people. */
char        *sm_engine_dup_gpu_status  (SmEngine       *engine);

/* The mesh node installs a hook that the engine offers those queries to
 * after routing (consensus queries stay local); the hook declines when no
 * peer can take one.  A hook that
 * returns TRUE owns the job and must end it exactly once, from any thread:
 * complete it with the peer's output, fail it, or hand it back to run
 * locally.  sm_engine_set_offload (engine, NULL, NULL) returns only when no
 * call to the old hook is running; jobs it took must still be ended before
 * the engine is freed (sm_engine_free() waits for them). */
typedef struct _SmEngineJob SmEngineJob;
typedef gboolean (*SmEngineOffloadFunc) (SmEngineJob *job,
                                         gpointer     user_data);

void         sm_engine_set_offload     (SmEngine            *engine,
                                        SmEngineOffloadFunc  func,
                                        gpointer             user_data);
SmDomain     sm_engine_job_get_domain  (SmEngineJob    *job);
/* The query's features (the widest expert input of the model it was
 * routed under), owned by the job. */
const float *sm_engine_job_get_features (SmEngineJob   *job,
                                        guint          *width);
/* @queue_ns and @compute_ns are the peer's figures.  An output that is
 * not as wide as the model's expert makes the job run locally instead
 * (and returns FALSE). */
gboolean     sm_engine_job_complete    (SmEngineJob    *job,
                                        const float    *output,
                                        guint           width,
                                        guint64         queue_ns,
                                        guint64         compute_ns);
void         sm_engine_job_fail        (SmEngineJob    *job,
                                        const GError   *error);
void         sm_engine_job_run_locally (SmEngineJob    *job);

SmMonitor   *sm_engine_get_monitor     (SmEngine       *engine);
SmPool      *sm_engine_get_pool        (SmEngine       *engine);

/* Waits until every query submitted so far has completed. */
void         sm_engine_drain           (SmEngine       *engine);

void         sm_result_free            (SmResult       *result);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SmEngine, sm_engine_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SmResult, sm_result_free)

G_END_DECLS
