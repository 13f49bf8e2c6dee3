/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <gmodule.h>

#include "sm-cpu.h"
#include "sm-simd.h"
#include "sm-simd-bench.h"
#include "sm-simd-private.h"

/* The generic kernels are slow: measure them only where a run stays short. */
#define GENERIC_MAX_FLOPS (1ull << 28)

/* ---- OpenBLAS, loaded at run time: a benchmark-only dependency ---- */

enum { CBLAS_ROW_MAJOR = 101, CBLAS_NO_TRANS = 111, CBLAS_TRANS = 112 };

typedef void  (*CblasSgemm) (int, int, int, int, int, int, float, const float *, int,
                             const float *, int, float, float *, int);
typedef void  (*CblasSgemv) (int, int, int, int, float, const float *, int,
                             const float *, int, float, float *, int);
typedef void  (*OpenblasSetThreads) (int);
typedef char *(*OpenblasGetString) (void);

typedef struct
{
  GModule    *module;
  CblasSgemm  sgemm;
  CblasSgemv  sgemv;
  char       *config;
} Openblas;

static gboolean
openblas_load (Openblas *blas)
{
  OpenblasSetThreads set_threads = NULL;
  OpenblasGetString get_config = NULL, get_core = NULL;

  blas->module = g_module_open ("libopenblas.so.0", G_MODULE_BIND_LAZY | G_MODULE_BIND_LOCAL);
  if (blas->module == NULL)
    return FALSE;

  if (!g_module_symbol (blas->module, "cblas_sgemm", (gpointer *) &blas->sgemm) ||
      !g_module_symbol (blas->module, "cblas_sgemv", (gpointer *) &blas->sgemv) ||
      !g_module_symbol (blas->module, "openblas_set_num_threads", (gpointer *) &set_threads))
    {
      g_clear_pointer (&blas->module, g_module_close);
      return FALSE;
    }

  /* Single-threaded, as our kernels are measured per thread. */
  set_threads (1);
  /* "OpenBLAS 0.3.21 …" and the kernel family it chose for this CPU. */
  if (g_module_symbol (blas->module, "openblas_get_config", (gpointer *) &get_config) &&
      g_module_symbol (blas->module, "openblas_get_corename", (gpointer *) &get_core))
    {
      g_auto(GStrv) words = g_strsplit (get_config (), " ", 3);

      blas->config = g_strdup_printf ("version=%s core=%s",
                                      words[0] && words[1] ? words[1] : "unknown", get_core ());
    }

  return TRUE;
}

/* ---- one GEMM problem, shared by every contender ---- */

typedef struct
{
  gsize             m, n, k;
  float            *a, *w, *packed, *bias, *c;
  const SmKernels  *kernels;          /* ours, or the pass after OpenBLAS */
  Openblas         *blas;
  gsize             panel_start, panel_end;
} Problem;

static void
problem_init (Problem *p,
              gsize    m,
              gsize    n,
              gsize    k)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (1);

  *p = (Problem) { .m = m, .n = n, .k = k };
  p->a = g_new (float, m * k);
  p->w = g_new (float, k * n);
  p->bias = g_new (float, n);
  p->c = g_new0 (float, m * n);
  p->packed = g_aligned_alloc (sm_f32_packed_weights_size (k, n), sizeof (float), 64);
  for (gsize i = 0; i < m * k; i++)
    p->a[i] = (float) g_rand_double_range (rand, -1, 1);
  for (gsize i = 0; i < k * n; i++)
    p->w[i] = (float) g_rand_double_range (rand, -1, 1);
  for (gsize i = 0; i < n; i++)
    p->bias[i] = (float) g_rand_double_range (rand, -1, 1);
  sm_f32_pack_weights (p->w, n, k, n, p->packed);
  p->panel_end = sm_f32_packed_n_panels (n);
}

static void
problem_clear (Problem *p)
{
  g_free (p->a);
  g_free (p->w);
  g_free (p->bias);
  g_free (p->c);
  g_aligned_free (p->packed);
}

static void
run_ours (gpointer data)
{
  Problem *p = data;
  SmGemmArgs args = {
    .m = p->m, .n = p->n, .k = p->k, .a = p->a, .lda = p->k, .w = p->packed,
    .bias = p->bias, .c = p->c, .ldc = p->n, .act = { SM_ACT_RELU, 0 },
  };

  if (p->m == 1)
    p->kernels->gemv (&args, 0, 1, p->panel_start, p->panel_end);
  else
    p->kernels->gemm (&args, 0, p->m, p->panel_start, p->panel_end);
}

/* OpenBLAS has no fused bias or activation: C = A·W, then one pass per row
 * with our best vector kernels, which is how an engine would use it. */
static void
run_openblas (gpointer data)
{
  Problem *p = data;
  SmActivation relu = { SM_ACT_RELU, 0 };

  if (p->m == 1)
    p->blas->sgemv (CBLAS_ROW_MAJOR, CBLAS_TRANS, (int) p->k, (int) p->n, 1.0f, p->w, (int) p->n,
                    p->a, 1, 0.0f, p->c, 1);
  else
    p->blas->sgemm (CBLAS_ROW_MAJOR, CBLAS_NO_TRANS, CBLAS_NO_TRANS, (int) p->m, (int) p->n,
                    (int) p->k, 1.0f, p->a, (int) p->k, p->w, (int) p->n, 0.0f, p->c, (int) p->n);

  for (gsize i = 0; i < p->m; i++)
    {
      p->kernels->add (p->c + i * p->n, p->bias, p->c + i * p->n, p->n);
      p->kernels->activate (relu, p->c + i * p->n, p->c + i * p->n, p->n);
    }
}

/* ---- two threads through the tile-range API ---- */

/* A second thread that spins on a generation counter: waking it through a
 * condition variable would cost more than the smaller problems take. */
typedef struct
{
  Problem  *problem;
  GThread  *thread;
  gint      generation;   /* bumped by the main thread to start work */
  gint      done;         /* set to the generation once finished */
  gint      quit;
} Helper;

static gpointer
helper_main (gpointer data)
{
  Helper *h = data;
  int seen = 0;

  for (;;)
    {
      int generation;

      while ((generation = g_atomic_int_get (&h->generation)) == seen)
        {
          if (g_atomic_int_get (&h->quit))
            return NULL;
        }
      seen = generation;
      run_ours (h->problem);
      g_atomic_int_set (&h->done, generation);
    }
}

typedef struct
{
  Problem  mine;      /* the first half of the panels */
  Problem  theirs;    /* the second half, run by the helper */
  Helper   helper;
} TwoThreads;

static void
run_two_threads (gpointer data)
{
  TwoThreads *t = data;
  int generation = g_atomic_int_get (&t->helper.generation) + 1;

  g_atomic_int_set (&t->helper.generation, generation);
  run_ours (&t->mine);
  while (g_atomic_int_get (&t->helper.done) != generation)
    ;
}

/* ---- element-wise kernels ---- */

typedef struct
{
  const SmKernels *kernels;
  SmActKind        kind;
  float           *x, *y;
  gsize            n;
} Elementwise;

static void
run_elementwise (gpointer data)
{
  Elementwise *e = data;

  if (e->kind == SM_ACT_SOFTMAX)
    e->kernels->softmax (e->x, e->y, e->n);
  else
    e->kernels->activate ((SmActivation) { e->kind, 0 }, e->x, e->y, e->n);
}

/* ---- the report ---- */

static double
measure_peak (SmSimdLevel level)
{
  float sink[16];
  uint64_t flops = 0;
  double t0, best = 0;

  for (int rep = 0; rep < 5; rep++)
    {
      t0 = sm_bench_now ();
      switch (level)
        {
#if SM_HAVE_X86_KERNELS
        case SM_SIMD_AVX2:
          flops = sm_fma_peak_loop__avx2 (2000000, sink);
          break;
#endif
#if SM_HAVE_AVX512_KERNELS
        case SM_SIMD_AVX512:
          flops = sm_fma_peak_loop__avx512 (2000000, sink);
          break;
#endif
#if SM_HAVE_NEON_KERNELS
        case SM_SIMD_NEON:
          flops = sm_fma_peak_loop__neon (2000000, sink);
          break;
#endif
        case SM_SIMD_GENERIC:
        case SM_SIMD_N_LEVELS:
        default:
          return 0;
        }
      best = MAX (best, flops / (sm_bench_now () - t0) / 1e9);
    }

  return best;
}

static const char *
openblas_target (gsize m,
                 gsize nk)
{
  if (m == 1)
    return nk >= 256 && nk <= 1024 ? ">= 1.2" : NULL;
  if (nk == 256 && (m == 32 || m == 128))
    return ">= 2.0";
  if (m <= 128 && nk >= 256)
    return ">= 1.0";
  return NULL;
}

static const char *
peak_target (gsize m,
             gsize nk)
{
  if (m >= 128 && nk >= 512)
    return ">= 0.80";
  if (m >= 32 && nk >= 256)
    return ">= 0.65";
  return NULL;
}

void
sm_simd_bench_kernels (SmBenchReport       *report,
                       SmSimdBenchScope     scope,
                       SmBenchProgressFunc  progress,
                       gpointer             user_data)
{
  static const gsize full_ms[] = { 1, 8, 32, 128, 512 }, full_nks[] = { 64, 256, 512, 1024, 4096 };
  static const gsize quick_ms[] = { 1, 32 }, quick_nks[] = { 64, 256 };
  const gsize *ms = scope == SM_SIMD_BENCH_QUICK ? quick_ms : full_ms;
  const gsize *nks = scope == SM_SIMD_BENCH_QUICK ? quick_nks : full_nks;
  guint n_ms = scope == SM_SIMD_BENCH_QUICK ? G_N_ELEMENTS (quick_ms) : G_N_ELEMENTS (full_ms);
  guint n_nks = scope == SM_SIMD_BENCH_QUICK ? G_N_ELEMENTS (quick_nks) : G_N_ELEMENTS (full_nks);
  const SmKernels *best_kernels = sm_simd_get_kernels_for (sm_simd_get_best_level (), NULL);
  Openblas blas = { 0 };
  gboolean have_blas = openblas_load (&blas);
  SmSimdLevel vector_levels[SM_SIMD_N_LEVELS];
  guint peak_index[SM_SIMD_N_LEVELS];
  guint n_vector = 0, steps, step = 0;
  g_autofree char *blas_params = NULL;

  for (SmSimdLevel level = SM_SIMD_GENERIC + 1; level < SM_SIMD_N_LEVELS; level++)
    if (sm_simd_get_kernels_for (level, NULL) != NULL)
      vector_levels[n_vector++] = level;
  steps = n_ms * n_nks * (2 + n_vector) + 8;

  for (guint v = 0; v < n_vector; v++)
    {
      g_autofree char *params = g_strdup_printf ("kernels=%s", sm_simd_level_get_name (vector_levels[v]));

      if (progress)
        progress ("FMA peak", 0, user_data);
      peak_index[v] = sm_bench_report_add (report, "fma-peak", params,
                                           measure_peak (vector_levels[v]), "GFLOP/s");
    }

  if (have_blas)
    blas_params = g_strdup_printf ("threads=1 %s", blas.config ? blas.config : "");

  for (guint mi = 0; mi < n_ms; mi++)
    for (guint ni = 0; ni < n_nks; ni++)
      {
        gsize m = ms[mi], nk = nks[ni];
        double flops = 2.0 * m * nk * nk;
        g_autofree char *shape = g_strdup_printf ("m=%zu n=%zu k=%zu", m, nk, nk);
        guint blas_index = G_MAXUINT, generic_index = G_MAXUINT;
        Problem p;

        problem_init (&p, m, nk, nk);

        if (have_blas)
          {
            g_autofree char *params = g_strdup_printf ("op=%s %s %s", m == 1 ? "sgemv" : "sgemm",
                                                       shape, blas_params);
            if (progress)
              progress (params, (double) step / steps, user_data);
            p.blas = &blas;
            p.kernels = best_kernels;
            blas_index = sm_bench_report_add (report, "openblas+bias+relu", params,
                                              flops / sm_bench_time_best (run_openblas, &p) / 1e9, "GFLOP/s");
          }
        step++;

        if (flops <= GENERIC_MAX_FLOPS)
          {
            g_autofree char *params = g_strdup_printf ("kernels=generic %s", shape);

            if (progress)
              progress (params, (double) step / steps, user_data);
            p.kernels = &sm_kernels_generic;
            generic_index = sm_bench_report_add (report, "gemm+bias+relu", params,
                                                 flops / sm_bench_time_best (run_ours, &p) / 1e9, "GFLOP/s");
          }
        step++;

        for (guint v = 0; v < n_vector; v++)
          {
            const char *name = sm_simd_level_get_name (vector_levels[v]);
            g_autofree char *params = g_strdup_printf ("kernels=%s %s", name, shape);
            g_autofree char *vs_peak = g_strdup_printf ("%s vs=peak", params);
            g_autofree char *vs_generic = g_strdup_printf ("%s vs=generic", params);
            double gflops;
            guint ours_index;

            if (progress)
              progress (params, (double) step++ / steps, user_data);
            p.kernels = sm_simd_get_kernels_for (vector_levels[v], NULL);
            gflops = flops / sm_bench_time_best (run_ours, &p) / 1e9;

            if (blas_index != G_MAXUINT)
              ours_index = sm_bench_report_compare (report, "gemm+bias+relu", params, gflops, "GFLOP/s",
                                                    blas_index, openblas_target (m, nk));
            else
              ours_index = sm_bench_report_add (report, "gemm+bias+relu", params, gflops, "GFLOP/s");

            sm_bench_report_compare (report, "gemm+bias+relu", vs_peak, gflops, "GFLOP/s",
                                     peak_index[v], m > 1 ? peak_target (m, nk) : NULL);
            /* The 6× target is about compute; where W streams from DRAM
             * (n = k = 4096) memory bounds both kernels alike. */
            if (generic_index != G_MAXUINT)
              sm_bench_report_compare (report, "gemm+bias+relu", vs_generic, gflops, "GFLOP/s",
                                       generic_index, m > 1 && nk <= 1024 ? ">= 6.0" : NULL);

            /* Two threads, each half of the panels, at the batch sizes
             * where the engine would split a layer. */
            if (m >= 128 && nk >= 256 && sm_cpu_info_get ()->logical_cpus >= 2)
              {
                g_autofree char *two = g_strdup_printf ("%s threads=2", params);
                TwoThreads t = { .mine = p, .theirs = p };

                t.mine.panel_end = t.theirs.panel_start = p.panel_end / 2;
                t.helper.problem = &t.theirs;
                t.helper.thread = g_thread_new ("bench-helper", helper_main, &t.helper);
                if (progress)
                  progress (two, (double) step / steps, user_data);
                sm_bench_report_compare (report, "gemm+bias+relu", two,
                                         flops / sm_bench_time_best (run_two_threads, &t) / 1e9, "GFLOP/s",
                                         ours_index, ">= 1.8");
                g_atomic_int_set (&t.helper.quit, 1);
                g_thread_join (t.helper.thread);
              }
          }

        problem_clear (&p);
      }

  /* Element-wise: 4096 values, in L1, as one activation row would be. */
  for (SmActKind kind = SM_ACT_SIGMOID; kind <= SM_ACT_SOFTMAX; kind++)
    {
      static const char * const names[] = {
        [SM_ACT_SIGMOID] = "sigmoid", [SM_ACT_TANH] = "tanh",
        [SM_ACT_GELU] = "gelu", [SM_ACT_SOFTMAX] = "softmax",
      };
      const gsize n = 4096;
      g_autofree float *x = g_new (float, n);
      g_autofree float *y = g_new (float, n);
      g_autofree char *params = g_strdup_printf ("op=%s kernels=generic n=%zu", names[kind], n);
      Elementwise e = { &sm_kernels_generic, kind, x, y, n };
      guint generic_index;

      for (gsize i = 0; i < n; i++)
        x[i] = -20.0f + 40.0f * i / n;

      if (progress)
        progress (params, (double) step++ / steps, user_data);
      generic_index = sm_bench_report_add (report, "activation", params,
                                           n / sm_bench_time_best (run_elementwise, &e) / 1e9, "Gelem/s");
      for (guint v = 0; v < n_vector; v++)
        {
          g_autofree char *vparams = g_strdup_printf ("op=%s kernels=%s n=%zu", names[kind],
                                                      sm_simd_level_get_name (vector_levels[v]), n);

          e.kernels = sm_simd_get_kernels_for (vector_levels[v], NULL);
          sm_bench_report_compare (report, "activation", vparams,
                                   n / sm_bench_time_best (run_elementwise, &e) / 1e9, "Gelem/s",
                                   generic_index, ">= 4.0");
        }
    }

  sm_precision_bench (report, scope, progress, user_data);
  if (progress)
    progress ("done", 1.0, user_data);

  g_clear_pointer (&blas.module, g_module_close);
  g_free (blas.config);
}
