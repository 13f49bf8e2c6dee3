/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The GEMM's tiling rule, measured per device: from how many workgroups of
 * 128×128 a product runs faster in the large tiling than in the small one.
 * A data sheet cannot say: it depends on how many compute units the
 * device has, how fast its shared memory is, and how its driver compiles
 * the shader (on lavapipe the large tiles win from the smallest product;
 * on a large GPU they leave units idle until there are enough of them).
 * The answer is kept in a key file in the data folder, a group per device,
 * driver and GEMM shader, so that the sweep runs once. */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <gio/gio.h>
#include <math.h>

#include "sm-gpu-private.h"
#include "sm-model.h"
#include "sm-paths.h"
#include "sm-pool.h"

/* Products of SWEEP_FIRST × SWEEP_DEPTH → SWEEP_FIRST, doubling each side
 * up to SWEEP_LAST (4 to 256 large workgroups); the sweep stops after a
 * size whose faster tiling took SWEEP_BUDGET_US, so that a slow device
 * (lavapipe) is done in a fraction of a second. */
#define SWEEP_FIRST     256u
#define SWEEP_LAST      2048u
#define SWEEP_DEPTH     256u
#define SWEEP_RUNS      3u
#define SWEEP_BUDGET_US 10000.0

#define KEY_FROM     "large-tiles-from-workgroups"
#define KEY_MEASURED "measured"
#define KEY_SIDES    "sides"
#define KEY_SMALL    "small-tiles-us"
#define KEY_LARGE    "large-tiles-us"

/* The key file's group for this device: its name and ids, the driver and
 * the GEMM shader's checksum (a new shader is measured again).  Brackets
 * cannot appear in a group name. */
static char *
device_group (SmGpu *gpu)
{
  g_autoptr(GBytes) spirv = g_resources_lookup_data (SM_GPU_SHADER_PREFIX "sm-gemm.spv",
                                                     G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
  g_autofree char *checksum = spirv != NULL ? g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, spirv) : NULL;
  char *group = g_strdup_printf ("%s %04x:%04x; %s; gemm %.12s", gpu->info.device_name, gpu->info.vendor_id,
                                 gpu->info.device_id, gpu->info.driver, checksum != NULL ? checksum : "none");

  g_strdelimit (group, "[]\n\r", '_');
  return group;
}

static void
set_rule (SmGpu      *gpu,
          guint       from,
          const char *status)
{
  g_mutex_lock (&gpu->lock);
  gpu->large_from_groups = from;
  g_mutex_unlock (&gpu->lock);
  gpu->info.large_tiles_from = from;
  g_free (gpu->info.tiles_status);
  gpu->info.tiles_status = g_strdup (status);
}

gboolean
sm_gpu_tiles_load (SmGpu      *gpu,
                   const char *path)
{
  g_autoptr(GKeyFile) file = g_key_file_new ();
  g_autofree char *group = device_group (gpu);
  g_autofree char *from = NULL, *measured = NULL, *status = NULL;
  guint64 groups;

  if (!g_key_file_load_from_file (file, path, G_KEY_FILE_NONE, NULL)
      || (from = g_key_file_get_string (file, group, KEY_FROM, NULL)) == NULL)
    return FALSE;
  if (g_str_equal (from, "never"))
    groups = G_MAXUINT;
  else if (!g_ascii_string_to_unsigned (from, 10, 1, G_MAXUINT - 1, &groups, NULL))
    return FALSE;
  measured = g_key_file_get_string (file, group, KEY_MEASURED, NULL);
  status = g_strdup_printf (_("measured %s, remembered in %s"), measured != NULL ? measured : _("earlier"), path);
  set_rule (gpu, (guint) groups, status);
  return TRUE;
}

/* The best of SWEEP_RUNS forwards of expert @index at @rows, in µs. */
static gboolean
best_us (SmGpuModel  *model,
         guint        index,
         const float *input,
         guint        rows,
         float       *output,
         double      *best,
         GError     **error)
{
  *best = INFINITY;
  for (guint r = 0; r < SWEEP_RUNS; r++)
    {
      SmGpuTiming timing;

      if (!sm_gpu_model_forward (model, index, input, rows, output, &timing, error))
        return FALSE;
      *best = MIN (*best, isnan (timing.dispatch_us) ? timing.total_us : timing.dispatch_us);
    }
  return TRUE;
}

/* The sweep's products, one expert each: a layer of SWEEP_DEPTH → side. */
static SmGpuModel *
sweep_model (SmGpu   *gpu,
             SmPool  *pool,
             GError **error)
{
  SmExpert *experts[8] = { NULL };
  SmGpuModel *model = NULL;
  g_autofree float *weights = g_new (float, (gsize) SWEEP_DEPTH * SWEEP_LAST);
  g_autofree float *bias = g_new0 (float, SWEEP_LAST);
  const float *w = weights, *b = bias;
  guint n = 0;

  for (gsize i = 0; i < (gsize) SWEEP_DEPTH * SWEEP_LAST; i++)
    weights[i] = (float) (i % 17) / 17.0f - 0.5f;
  for (guint side = SWEEP_FIRST; side <= SWEEP_LAST; side *= 2)
    {
      SmLayerShape shape = { SWEEP_DEPTH, side, { SM_ACT_IDENTITY, 0 } };

      if ((experts[n++] = sm_expert_new (pool, 1, &shape, &w, &b, error)) == NULL)
        goto out;
    }
  model = sm_gpu_model_new (gpu, experts, n, error);
  if (model != NULL)
    sm_gpu_model_copy_answers (model);
out:
  for (guint i = 0; i < n; i++)
    g_clear_pointer (&experts[i], sm_expert_free);
  return model;
}

/* The large tiles from the smallest size from which on they won every
 * time; sizes past the sweep's follow its last. */
static guint
rule_from (const GArray *points)
{
  guint from = G_MAXUINT;

  for (guint i = points->len; i-- > 0;)
    {
      const SmGpuTilePoint *p = &g_array_index (points, SmGpuTilePoint, i);

      if (p->large_us >= p->small_us)
        break;
      from = p->groups;
    }
  return from;
}

static gboolean
save_rule (SmGpu        *gpu,
           const char   *path,
           const GArray *points,
           guint         from,
           const char   *measured,
           GError      **error)
{
  g_autoptr(GKeyFile) file = g_key_file_new ();
  g_autofree char *group = device_group (gpu);
  g_autofree char *from_text = from == G_MAXUINT ? g_strdup ("never") : g_strdup_printf ("%u", from);
  g_autofree int *sides = g_new (int, MAX (points->len, 1));
  g_auto(GStrv) small = g_new0 (char *, points->len + 1);
  g_auto(GStrv) large = g_new0 (char *, points->len + 1);
  g_autofree char *data = NULL;
  gsize length;

  /* Other devices' entries stay; a file that cannot be read is replaced. */
  g_key_file_load_from_file (file, path, G_KEY_FILE_KEEP_COMMENTS, NULL);
  for (guint i = 0; i < points->len; i++)
    {
      const SmGpuTilePoint *p = &g_array_index (points, SmGpuTilePoint, i);
      char number[G_ASCII_DTOSTR_BUF_SIZE];

      sides[i] = (int) p->side;
      small[i] = g_strdup (g_ascii_formatd (number, sizeof number, "%.1f", p->small_us));
      large[i] = g_strdup (g_ascii_formatd (number, sizeof number, "%.1f", p->large_us));
    }
  g_key_file_remove_group (file, group, NULL);
  g_key_file_set_string (file, group, KEY_FROM, from_text);
  g_key_file_set_string (file, group, KEY_MEASURED, measured);
  g_key_file_set_integer_list (file, group, KEY_SIDES, sides, points->len);
  g_key_file_set_string_list (file, group, KEY_SMALL, (const char * const *) small, points->len);
  g_key_file_set_string_list (file, group, KEY_LARGE, (const char * const *) large, points->len);
  data = g_key_file_to_data (file, &length, NULL);
  return sm_paths_write_file (path, data, length, 0600, TRUE, error);
}

gboolean
sm_gpu_tiles_measure (SmGpu       *gpu,
                      const char  *path,
                      GArray      *points,
                      GError     **error)
{
  g_autoptr(SmPool) pool = sm_pool_new ((gsize) SWEEP_DEPTH * SWEEP_LAST * 2 * sizeof (float) + 16 * 1024 * 1024, NULL);
  g_autoptr(SmGpuModel) model = sweep_model (gpu, pool, error);
  g_autoptr(GArray) measured = g_array_new (FALSE, FALSE, sizeof (SmGpuTilePoint));
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *when = g_date_time_format (now, "%Y-%m-%d %H:%M");
  g_autofree char *status = NULL;
  g_autoptr(GError) save_error = NULL;
  g_autofree float *input = NULL, *output = NULL;
  guint index = 0, from;

  if (model == NULL)
    return FALSE;
  input = g_new (float, (gsize) SWEEP_LAST * SWEEP_DEPTH);
  output = g_new (float, (gsize) SWEEP_LAST * SWEEP_LAST);
  for (gsize i = 0; i < (gsize) SWEEP_LAST * SWEEP_DEPTH; i++)
    input[i] = (float) (i % 13) / 13.0f;
  for (guint side = SWEEP_FIRST; side <= SWEEP_LAST; side *= 2, index++)
    {
      guint tiles = (side + SM_GPU_LARGE_TILE - 1) / SM_GPU_LARGE_TILE;
      SmGpuTilePoint point = { side, tiles * tiles, 0, 0 };

      sm_gpu_model_force_tile (model, SM_GPU_SMALL_TILE);
      if (!best_us (model, index, input, side, output, &point.small_us, error))
        return FALSE;
      sm_gpu_model_force_tile (model, SM_GPU_LARGE_TILE);
      if (!best_us (model, index, input, side, output, &point.large_us, error))
        return FALSE;
      g_array_append_val (measured, point);
      if (MIN (point.small_us, point.large_us) >= SWEEP_BUDGET_US)
        break;
    }
  from = rule_from (measured);
  if (points != NULL)
    g_array_append_vals (points, measured->data, measured->len);
  /* Measured is measured: the rule holds for this session even where it
   * cannot be remembered (a full disk). */
  if (save_rule (gpu, path, measured, from, when, &save_error))
    status = g_strdup_printf (_("measured %s, remembered in %s"), when, path);
  else
    status = g_strdup_printf (_("measured %s, not remembered: %s"), when, save_error->message);
  set_rule (gpu, from, status);
  if (save_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&save_error));
      return FALSE;
    }
  return TRUE;
}
