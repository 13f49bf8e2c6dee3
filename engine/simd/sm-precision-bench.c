/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>

#include "sm-simd.h"
#include "sm-simd-bench.h"

/* Weight precision at batch one: the best kernels' GEMV with f32, bf16
 * and int8 weights, each against f32 in the same run, with what the
 * rounding costs.  Where the weights come from memory (4096 × 4096), each
 * call reads a copy not read for a while, so that no cache holds it:
 * copies enough for 256 MiB per precision, far past any L3. */

#define FROM_MEMORY_BYTES (256u << 20)

typedef struct
{
  gsize             n, k;
  const SmKernels  *kernels;
  SmPrecision       precision;
  float            *a, *bias, *c;
  guint             copies, next;
  float           **f32;
  uint16_t        **bf16;
  int8_t          **i8;
  float            *scale;   /* the same for every copy */
} Gemv;

static gsize
weight_bytes (SmPrecision precision,
              gsize       k,
              gsize       n)
{
  switch (precision)
    {
    case SM_PRECISION_BF16:
      return sm_bf16_packed_weights_size (k, n) * sizeof (uint16_t);
    case SM_PRECISION_INT8:
      return sm_i8_packed_weights_size (k, n);
    case SM_PRECISION_F32:
    case SM_PRECISION_N_KINDS:
    default:
      return sm_f32_packed_weights_size (k, n) * sizeof (float);
    }
}

static void
gemv_init (Gemv             *g,
           const SmKernels  *kernels,
           SmPrecision       precision,
           gsize             nk,
           gboolean          from_memory)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  g_autofree float *w = g_new (float, nk * nk);
  gsize bytes = weight_bytes (precision, nk, nk);

  *g = (Gemv) { .n = nk, .k = nk, .kernels = kernels, .precision = precision };
  g->copies = from_memory ? MAX (1, (guint) (FROM_MEMORY_BYTES / bytes)) : 1;
  g->a = g_new (float, nk);
  g->bias = g_new (float, nk);
  g->c = g_new0 (float, nk);
  g->scale = g_new (float, nk);
  g->f32 = g_new0 (float *, g->copies);
  g->bf16 = g_new0 (uint16_t *, g->copies);
  g->i8 = g_new0 (int8_t *, g->copies);
  for (gsize i = 0; i < nk; i++)
    {
      g->a[i] = (float) g_rand_double_range (rand, -1, 1);
      g->bias[i] = (float) g_rand_double_range (rand, -1, 1);
    }
  for (gsize i = 0; i < nk * nk; i++)
    w[i] = (float) g_rand_double_range (rand, -1, 1) / sqrtf ((float) nk);

  for (guint c = 0; c < g->copies; c++)
    {
      float *packed = g_aligned_alloc (sm_f32_packed_weights_size (nk, nk), sizeof (float), 64);

      sm_f32_pack_weights (w, nk, nk, nk, packed);
      if (precision == SM_PRECISION_BF16)
        {
          g->bf16[c] = g_aligned_alloc (bytes, 1, 64);
          sm_bf16_pack_weights (packed, nk, nk, g->bf16[c]);
        }
      else if (precision == SM_PRECISION_INT8)
        {
          g->i8[c] = g_aligned_alloc (bytes, 1, 64);
          sm_i8_pack_weights (packed, nk, nk, g->i8[c], g->scale);
        }
      if (precision == SM_PRECISION_F32)
        g->f32[c] = packed;
      else
        g_aligned_free (packed);
    }
}

static void
gemv_clear (Gemv *g)
{
  for (guint c = 0; c < g->copies; c++)
    {
      g_aligned_free (g->f32[c]);
      g_aligned_free (g->bf16[c]);
      g_aligned_free (g->i8[c]);
    }
  g_free (g->f32);
  g_free (g->bf16);
  g_free (g->i8);
  g_free (g->a);
  g_free (g->bias);
  g_free (g->c);
  g_free (g->scale);
}

static void
run_gemv (gpointer data)
{
  Gemv *g = data;
  guint c = g->next;
  SmGemmArgs args = {
    .m = 1, .n = g->n, .k = g->k, .a = g->a, .lda = g->k, .w = g->f32[c], .bias = g->bias,
    .c = g->c, .ldc = g->n, .act = { SM_ACT_IDENTITY, 0 }, .precision = g->precision,
    .w_bf16 = g->bf16[c], .w_i8 = g->i8[c], .w_scale = g->scale,
  };

  g->next = (c + 1) % g->copies;
  if (g->precision == SM_PRECISION_BF16)
    g->kernels->gemv_bf16 (&args, 0, 1, 0, sm_f32_packed_n_panels (g->n));
  else if (g->precision == SM_PRECISION_INT8)
    g->kernels->gemv_i8 (&args, 0, 1, 0, sm_f32_packed_n_panels (g->n));
  else
    g->kernels->gemv (&args, 0, 1, 0, sm_f32_packed_n_panels (g->n));
}

void
sm_precision_bench (SmBenchReport       *report,
                    SmSimdBenchScope     scope,
                    SmBenchProgressFunc  progress,
                    gpointer             user_data)
{
  static const gsize full_nks[] = { 256, 512, 1024, 4096 }, quick_nks[] = { 256 };
  static const char * const names[] = { "f32", "bf16", "int8" };
  static const char * const from_memory_targets[] = { NULL, ">= 1.7", ">= 3.0" };
  const gsize *nks = scope == SM_SIMD_BENCH_QUICK ? quick_nks : full_nks;
  guint n_nks = scope == SM_SIMD_BENCH_QUICK ? G_N_ELEMENTS (quick_nks) : G_N_ELEMENTS (full_nks);
  const SmKernels *kernels = sm_simd_get_kernels ();

  for (guint i = 0; i < n_nks; i++)
    {
      gsize nk = nks[i];
      gboolean from_memory = nk >= 4096;
      double flops = 2.0 * nk * nk;
      g_autofree float *reference = NULL;
      guint f32_index = G_MAXUINT;

      for (SmPrecision precision = SM_PRECISION_F32; precision < SM_PRECISION_N_KINDS; precision++)
        {
          g_autofree char *params = g_strdup_printf ("kernels=%s precision=%s m=1 n=%zu k=%zu weights=%s",
                                                     kernels->name, names[precision], nk, nk,
                                                     from_memory ? "memory" : "cache");
          double gflops;
          Gemv g;

          if (progress)
            progress (params, (i * SM_PRECISION_N_KINDS + precision) / (double) (n_nks * SM_PRECISION_N_KINDS),
                      user_data);
          gemv_init (&g, kernels, precision, nk, from_memory);
          gflops = flops / sm_bench_time_best (run_gemv, &g) / 1e9;
          if (precision == SM_PRECISION_F32)
            {
              f32_index = sm_bench_report_add (report, "gemv-precision", params, gflops, "GFLOP/s");
              reference = g_memdup2 (g.c, nk * sizeof (float));
            }
          else
            {
              double worst = 0, top = 0;
              g_autofree char *error_params = g_strdup_printf ("%s vs=f32", params);

              sm_bench_report_compare (report, "gemv-precision", params, gflops, "GFLOP/s", f32_index,
                                       from_memory ? from_memory_targets[precision] : NULL);
              /* The error, as the engine reports it: the largest
               * difference over the largest output. */
              for (gsize j = 0; j < nk; j++)
                {
                  worst = MAX (worst, fabs ((double) g.c[j] - reference[j]));
                  top = MAX (top, fabs ((double) reference[j]));
                }
              sm_bench_report_add (report, "gemv-precision-error", error_params, top > 0 ? worst / top : 0,
                                   "relative");
            }
          gemv_clear (&g);
        }
    }
}
