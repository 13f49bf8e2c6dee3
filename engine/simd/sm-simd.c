/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#define G_LOG_DOMAIN "sm-simd"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "sm-cpu.h"
#include "sm-error.h"
#include "sm-names.h"
#include "sm-simd.h"

/* The reason below names the variable in a translatable string. */
G_STATIC_ASSERT (sizeof SM_SIMD_DISABLE_ENV == sizeof "SM_SIMD_DISABLE");

static const char * const level_names[SM_SIMD_N_LEVELS] = {
  "generic", "avx2", "avx512", "neon",
};

typedef struct
{
  const SmKernels *kernels[SM_SIMD_N_LEVELS];  /* NULL where unavailable */
  const char      *reasons[SM_SIMD_N_LEVELS];  /* why, where unavailable */
  SmSimdLevel      best;
} Dispatch;

static guint64 vector_flops;
static guint64 scalar_flops;

const char *
sm_simd_level_get_name (SmSimdLevel level)
{
  g_return_val_if_fail (level < SM_SIMD_N_LEVELS, NULL);

  return level_names[level];
}

gboolean
sm_simd_level_from_name (const char  *name,
                         SmSimdLevel *level)
{
  return sm_names_lookup (level_names, SM_SIMD_N_LEVELS, name, level);
}

/* What the build holds for @level, and what the CPU must offer for it. */
static const SmKernels *
built_kernels (SmSimdLevel    level,
               SmCpuFeatures *needs)
{
  *needs = 0;

  switch (level)
    {
    case SM_SIMD_GENERIC:
      return &sm_kernels_generic;
#if SM_HAVE_X86_KERNELS
    case SM_SIMD_AVX2:
      *needs = SM_CPU_FEATURE_AVX2 | SM_CPU_FEATURE_FMA | SM_CPU_FEATURE_F16C;
      return &sm_kernels_avx2;
#endif
#if SM_HAVE_AVX512_KERNELS
    case SM_SIMD_AVX512:
      *needs = SM_CPU_FEATURE_AVX512F | SM_CPU_FEATURE_AVX512DQ |
               SM_CPU_FEATURE_AVX512BW | SM_CPU_FEATURE_AVX512VL |
               SM_CPU_FEATURE_FMA | SM_CPU_FEATURE_F16C;
      /* VNNI only changes the int8 GEMV: the same set, with or without. */
      return sm_cpu_info_get ()->usable & SM_CPU_FEATURE_AVX512VNNI ? &sm_kernels_avx512_vnni : &sm_kernels_avx512;
#endif
#if SM_HAVE_NEON_KERNELS
    case SM_SIMD_NEON:
      *needs = SM_CPU_FEATURE_NEON;
      return &sm_kernels_neon;
#endif
    case SM_SIMD_N_LEVELS:
    default:
      return NULL;
    }
}

static gpointer
dispatch_init (gpointer data)
{
  Dispatch *d = g_new0 (Dispatch, 1);
  const SmCpuInfo *cpu = sm_cpu_info_get ();
  g_auto(GStrv) disabled = NULL;
  const char *env = g_getenv (SM_SIMD_DISABLE_ENV);
  g_autoptr(GString) log = g_string_new (NULL);

  if (env != NULL)
    disabled = g_strsplit_set (env, ", ", -1);

  for (guint i = 0; disabled != NULL && disabled[i] != NULL; i++)
    {
      SmSimdLevel level;

      if (disabled[i][0] != '\0' && !sm_simd_level_from_name (disabled[i], &level))
        g_warning ("%s: unknown kernel set “%s” (known: avx512, avx2, neon)",
                   SM_SIMD_DISABLE_ENV, disabled[i]);
    }

  for (SmSimdLevel level = 0; level < SM_SIMD_N_LEVELS; level++)
    {
      SmCpuFeatures needs;
      const SmKernels *kernels = built_kernels (level, &needs);

      if (kernels == NULL)
        d->reasons[level] = N_("not built for this architecture");
      else if ((cpu->usable & needs) != needs)
        d->reasons[level] = (cpu->reported & needs) == needs
                            ? N_("the OS does not enable its registers")
                            : N_("this CPU lacks it");
      else if (level != SM_SIMD_GENERIC && disabled != NULL &&
               g_strv_contains ((const char * const *) disabled, level_names[level]))
        d->reasons[level] = N_("disabled by SM_SIMD_DISABLE");
      else
        {
          d->kernels[level] = kernels;
          /* AVX-512 and AVX2 are both x86-64 and ordered; NEON is alone. */
          d->best = level;
        }
    }

  for (SmSimdLevel level = 0; level < SM_SIMD_N_LEVELS; level++)
    if (d->kernels[level] == NULL && built_kernels (level, &(SmCpuFeatures) { 0 }) != NULL)
      g_string_append_printf (log, ", %s off: %s", level_names[level], d->reasons[level]);
  g_info ("kernels: %s%s", level_names[d->best], log->str);

  return d;
}

static const Dispatch *
dispatch_get (void)
{
  static GOnce once = G_ONCE_INIT;

  g_once (&once, dispatch_init, NULL);

  return once.retval;
}

const SmKernels *
sm_simd_get_kernels_for (SmSimdLevel   level,
                         const char  **reason)
{
  const Dispatch *d = dispatch_get ();

  g_return_val_if_fail (level < SM_SIMD_N_LEVELS, NULL);

  if (reason != NULL)
    *reason = d->reasons[level] != NULL ? _(d->reasons[level]) : NULL;

  return d->kernels[level];
}

SmSimdLevel
sm_simd_get_best_level (void)
{
  return dispatch_get ()->best;
}

const SmKernels *
sm_simd_get_kernels (void)
{
  return dispatch_get ()->kernels[sm_simd_get_best_level ()];
}

void
sm_simd_count_flops (const SmKernels *kernels,
                     guint64          flops)
{
  /* One relaxed atomic add per call, not per tile: negligible next to the
   * work it counts. */
  __atomic_fetch_add (kernels->is_vector ? &vector_flops : &scalar_flops, flops, __ATOMIC_RELAXED);
}

void
sm_simd_get_flop_counts (guint64 *vector,
                         guint64 *scalar)
{
  if (vector != NULL)
    *vector = __atomic_load_n (&vector_flops, __ATOMIC_RELAXED);
  if (scalar != NULL)
    *scalar = __atomic_load_n (&scalar_flops, __ATOMIC_RELAXED);
}

void
sm_simd_gemm (const SmKernels  *kernels,
              const SmGemmArgs *args,
              gsize             m_start,
              gsize             m_end,
              gsize             panel_start,
              gsize             panel_end)
{
  gsize col_start, col_end;

  g_return_if_fail (kernels != NULL && args != NULL);
  g_return_if_fail (args->act.kind != SM_ACT_SOFTMAX && args->act.kind < SM_ACT_N_KINDS);
  g_return_if_fail (m_start <= m_end && m_end <= args->m);
  g_return_if_fail (panel_start <= panel_end && panel_end <= sm_f32_packed_n_panels (args->n));

  if (m_start == m_end || panel_start == panel_end)
    return;

  if (args->precision == SM_PRECISION_BF16)
    kernels->gemv_bf16 (args, m_start, m_end, panel_start, panel_end);
  else if (args->precision == SM_PRECISION_INT8)
    kernels->gemv_i8 (args, m_start, m_end, panel_start, panel_end);
  else if (m_end - m_start == 1)
    kernels->gemv (args, m_start, m_end, panel_start, panel_end);
  else
    kernels->gemm (args, m_start, m_end, panel_start, panel_end);

  col_start = panel_start * SM_GEMM_NR;
  col_end = MIN (panel_end * SM_GEMM_NR, args->n);
  sm_simd_count_flops (kernels, 2 * (guint64) (m_end - m_start) * (col_end - col_start) * args->k);
}
