/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "sm-model.h"

G_BEGIN_DECLS

/* The Vulkan compute backend: one device, its pipelines (a tiled GEMM with
 * the bias and activation fused, a row-wise softmax; SPIR-V built from
 * data/shaders/ and embedded), and models uploaded to it.  Every failure is
 * a GError the engine answers by running on the CPU: no loader, no device,
 * a pipeline that will not build, memory that runs out, a device lost or a
 * submission that never finishes. */

typedef struct _SmGpu      SmGpu;
typedef struct _SmGpuModel SmGpuModel;
typedef struct _SmGpuForward SmGpuForward;

typedef struct
{
  char       *device_name;
  char       *driver;                 /* the driver's name and version */
  const char *device_type;            /* "discrete", "integrated", "virtual", "cpu", "other" */
  guint32     api_version;            /* VK_MAKE_API_VERSION */
  guint32     vendor_id;
  guint32     device_id;
  guint64     device_local_bytes;     /* the largest device-local heap */
  guint32     subgroup_size;
  guint32     max_workgroup_invocations;
  guint32     max_shared_memory;      /* bytes per workgroup */
  double      timestamp_period_ns;    /* 0: the queue keeps no timestamps */
  /* Where batches go in and answers come out (the staging buffers'
   * memory), in words. */
  const char *upload_memory;
  const char *readback_memory;
  /* Whether the first layer reads the batch where the host wrote it (the
   * upload memory is the device's), or a copy into device memory comes
   * first.  Answers are always written straight to the readback memory. */
  gboolean    reads_batch_in_place;
  /* Tensor cores: whether batches of a model in reduced precision run the
   * cooperative-matrix GEMM, and what was found (why not, when not). */
  gboolean    matrix_cores;
  char       *matrix_cores_status;
  /* The GEMM's tiling rule (sm_gpu_tiles_load(), sm_gpu_tiles_measure()):
   * products that make this many 128×128 workgroups or more run in the
   * large tiles (G_MAXUINT: never), and where that figure comes from. */
  guint       large_tiles_from;
  char       *tiles_status;
  guint       forced_tiles;           /* SM_GPU_TILES: the side it forces (where the device allows it); 0 */
} SmGpuInfo;

typedef struct
{
  double total_us;      /* upload, dispatches and download, on the CPU's clock */
  double dispatch_us;   /* the GPU's own time from the first dispatch's start to the last's end; NaN without timestamps */
  guint  dispatches;
  /* When the dispatches started and ended on the GPU's clock, in ns (0
   * without timestamps): forwards in several lanes overlap, and only the
   * union of these intervals says how busy the GPU was. */
  guint64 device_start_ns;
  guint64 device_end_ns;
} SmGpuTiming;

/* Whether this build has the backend ("GPU support not built" otherwise). */
gboolean         sm_gpu_is_built      (void);

/* The best device: discrete, then integrated, then virtual.  Devices that
 * are CPU implementations (Mesa's lavapipe) only when SM_GPU_ALLOW_CPU=1:
 * they run the shaders correctly but slower than the CPU kernels. */
SmGpu           *sm_gpu_new           (GError         **error);
void             sm_gpu_free          (SmGpu           *gpu);
const SmGpuInfo *sm_gpu_get_info      (SmGpu           *gpu);
/* The side of the tiles an @m × @n product is computed in (64 or 128). */
guint            sm_gpu_gemm_tile     (SmGpu           *gpu,
                                       guint            m,
                                       guint            n);

/* One size of the tile sweep: an @side × 256 → @side product (@groups
 * workgroups of 128×128) in each tiling, best of a few runs, in µs of
 * device time (host time without timestamps). */
typedef struct
{
  guint  side;
  guint  groups;
  double small_us;
  double large_us;
} SmGpuTilePoint;

/* The tiling rule's key file in the data folder. */
#define SM_GPU_TILES_FILE "gpu-tiles.ini"

/* The tiling rule remembered for this device, driver and shader build in
 * the key file at @path; FALSE, leaving the default rule, when there is
 * none (or the file cannot be read: it will be measured again). */
gboolean         sm_gpu_tiles_load    (SmGpu           *gpu,
                                       const char      *path);
/* The tile sweep: times both tilings on products growing from 256 × 256
 * until one takes a few milliseconds, takes the large tiles from the
 * smallest size from which on they won every time, and remembers that in
 * @path (the other devices' entries kept).  @points (optional) receives
 * every SmGpuTilePoint.  Not while another thread records forwards of
 * models on @gpu that should follow the new rule. */
gboolean         sm_gpu_tiles_measure (SmGpu           *gpu,
                                       const char      *path,
                                       GArray          *points,
                                       GError         **error);

/* Whether the model's products may run in fp16 on the device's tensor
 * cores, summed in fp32 (SmGpuInfo.matrix_cores): when the engine's weights
 * are not f32.  Before they do, each expert's answer to a random batch is
 * checked against the FP32 GEMM's; FALSE, the model left in FP32 and the
 * reason said, when one disagrees (fp16's range is ±65504: a model with
 * larger weights or activations).  Not while a forward runs. */
gboolean         sm_gpu_model_set_reduced_precision (SmGpuModel *model,
                                                     gboolean    reduced,
                                                     GError    **error);

/* Uploads the experts' packed weights and biases to device memory, once;
 * @experts may hold NULLs (absent domains). */
SmGpuModel      *sm_gpu_model_new     (SmGpu           *gpu,
                                       SmExpert * const *experts,
                                       guint            n_experts,
                                       GError         **error);
void             sm_gpu_model_free    (SmGpuModel      *model);

/* output[batch × out] = expert @index (input[batch × in]), the whole MLP as
 * one command buffer.  Thread-safe: up to SM_GPU_LANES forwards run at once,
 * more wait for a lane; @timing is optional. */
gboolean         sm_gpu_model_forward (SmGpuModel      *model,
                                       guint            index,
                                       const float     *input,
                                       guint            batch,
                                       float           *output,
                                       SmGpuTiming     *timing,
                                       GError         **error);

/* The same in two steps, so that a caller prepares its next batch while
 * the GPU runs this one: submits the forward and returns at once, with it
 * in @forward (its lane: SM_GPU_LANES are in flight at most).  When all
 * lanes are busy it waits for one, unless @wait_for_lane is FALSE: then it
 * returns TRUE with *@forward NULL, nothing submitted (a caller holding a
 * forward of its own must not wait for a lane).  Every submitted forward
 * must be finished. */
gboolean         sm_gpu_model_submit  (SmGpuModel      *model,
                                       guint            index,
                                       const float     *input,
                                       guint            batch,
                                       gboolean         wait_for_lane,
                                       SmGpuForward   **forward,
                                       GError         **error);
/* Waits for @forward, copies its answer to @output (batch × out) and
 * frees its lane, whether it succeeded or not; @timing is optional. */
gboolean         sm_gpu_forward_finish (SmGpuForward   *forward,
                                        float          *output,
                                        SmGpuTiming    *timing,
                                        GError        **error);

/* Makes @model's last layer write its answer to device memory, copied out
 * after the dispatches, as a standalone GEMM (cuBLAS's) does, instead of
 * straight into the host's memory: for the GEMM benchmarks and the tile
 * sweep, so that writes across the bus do not count as GEMM time.  Not
 * while a forward runs. */
void             sm_gpu_model_copy_answers (SmGpuModel *model);

/* The device's FP32 ceiling in GFLOP/s, measured with an FMA-bound
 * shader; the model lends its buffers.  Thread-safe. */
gboolean         sm_gpu_model_measure_peak (SmGpuModel  *model,
                                            double      *gflops,
                                            GError     **error);

/* The same for the tensor cores: 16×16×16 fp16 products summed in fp32,
 * in GFLOP/s; NOT_SUPPORTED without them. */
gboolean         sm_gpu_model_measure_matrix_peak (SmGpuModel  *model,
                                                   double      *gflops,
                                                   GError     **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SmGpu, sm_gpu_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SmGpuModel, sm_gpu_model_free)

G_END_DECLS
