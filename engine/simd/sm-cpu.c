/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#if SM_ARCH_X86_64
# include <cpuid.h>
#endif
#if SM_ARCH_AARCH64
# include <sys/auxv.h>
# include <asm/hwcap.h>
#endif

#include "sm-cpu.h"

static const char *feature_names[] = {
  "sse4_1", "sse4_2", "avx", "avx2", "fma", "f16c",
  "avx512f", "avx512dq", "avx512bw", "avx512vl", "asimd", "avx512_vnni",
};

G_STATIC_ASSERT (G_N_ELEMENTS (feature_names) == __builtin_ctz (SM_CPU_FEATURE_LAST) + 1);

const char *
sm_cpu_feature_get_name (SmCpuFeatures feature)
{
  g_return_val_if_fail (feature != 0 && (feature & (feature - 1)) == 0, NULL);
  g_return_val_if_fail (feature <= SM_CPU_FEATURE_LAST, NULL);

  return feature_names[__builtin_ctz (feature)];
}

char **
sm_cpu_features_to_strv (SmCpuFeatures features)
{
  GStrvBuilder *builder = g_strv_builder_new ();
  char **strv;

  for (guint bit = 0; bit < G_N_ELEMENTS (feature_names); bit++)
    if (features & (1u << bit))
      g_strv_builder_add (builder, feature_names[bit]);

  strv = g_strv_builder_end (builder);
  g_strv_builder_unref (builder);

  return strv;
}

#if SM_ARCH_X86_64
/* XGETBV needs -mxsave for the intrinsic; the instruction itself is safe
 * once CPUID has reported OSXSAVE, which is checked before calling this. */
static guint64
read_xcr0 (void)
{
  guint32 eax, edx;

  __asm__ volatile ("xgetbv" : "=a" (eax), "=d" (edx) : "c" (0));

  return ((guint64) edx << 32) | eax;
}

static void
detect_x86 (SmCpuInfo *info)
{
  guint32 eax, ebx, ecx, edx;
  guint32 max_leaf, max_ext_leaf;
  gboolean os_avx = FALSE, os_avx512 = FALSE;
  SmCpuFeatures f = 0;

  if (!__get_cpuid (0, &max_leaf, &ebx, &ecx, &edx))
    return;

  memcpy (info->vendor + 0, &ebx, 4);
  memcpy (info->vendor + 4, &edx, 4);
  memcpy (info->vendor + 8, &ecx, 4);
  info->vendor[12] = '\0';

  if (max_leaf >= 1 && __get_cpuid (1, &eax, &ebx, &ecx, &edx))
    {
      if (ecx & bit_SSE4_1) f |= SM_CPU_FEATURE_SSE4_1;
      if (ecx & bit_SSE4_2) f |= SM_CPU_FEATURE_SSE4_2;
      if (ecx & bit_AVX)    f |= SM_CPU_FEATURE_AVX;
      if (ecx & bit_FMA)    f |= SM_CPU_FEATURE_FMA;
      if (ecx & bit_F16C)   f |= SM_CPU_FEATURE_F16C;

      /* XMM|YMM state (bits 1, 2) for AVX; plus opmask, ZMM_Hi256 and
       * Hi16_ZMM (bits 5, 6, 7) for AVX-512. */
      if (ecx & bit_OSXSAVE)
        {
          info->xcr0 = read_xcr0 ();
          os_avx = (info->xcr0 & 0x06) == 0x06;
          os_avx512 = (info->xcr0 & 0xe6) == 0xe6;
        }
    }

  if (max_leaf >= 7 && __get_cpuid_count (7, 0, &eax, &ebx, &ecx, &edx))
    {
      if (ebx & bit_AVX2)     f |= SM_CPU_FEATURE_AVX2;
      if (ebx & bit_AVX512F)  f |= SM_CPU_FEATURE_AVX512F;
      if (ebx & bit_AVX512DQ) f |= SM_CPU_FEATURE_AVX512DQ;
      if (ebx & bit_AVX512BW) f |= SM_CPU_FEATURE_AVX512BW;
      if (ebx & bit_AVX512VL) f |= SM_CPU_FEATURE_AVX512VL;
      if (ecx & bit_AVX512VNNI) f |= SM_CPU_FEATURE_AVX512VNNI;
    }

  info->reported = f;
  info->usable = f;
  if (!os_avx)
    info->usable &= ~(SM_CPU_FEATURE_AVX | SM_CPU_FEATURE_AVX2 |
                      SM_CPU_FEATURE_FMA | SM_CPU_FEATURE_F16C);
  if (!os_avx || !os_avx512)
    info->usable &= ~(SM_CPU_FEATURE_AVX512F | SM_CPU_FEATURE_AVX512DQ |
                      SM_CPU_FEATURE_AVX512BW | SM_CPU_FEATURE_AVX512VL |
                      SM_CPU_FEATURE_AVX512VNNI);

  max_ext_leaf = __get_cpuid_max (0x80000000, NULL);
  if (max_ext_leaf >= 0x80000004)
    {
      guint32 brand[12];

      for (guint i = 0; i < 3; i++)
        __get_cpuid (0x80000002 + i, &brand[i * 4 + 0], &brand[i * 4 + 1],
                     &brand[i * 4 + 2], &brand[i * 4 + 3]);
      memcpy (info->model, brand, sizeof brand);
      info->model[sizeof brand] = '\0';
    }
}
#endif

#if SM_ARCH_AARCH64
static void
detect_aarch64 (SmCpuInfo *info)
{
  g_autofree char *cpuinfo = NULL;

  g_strlcpy (info->vendor, "ARM", sizeof info->vendor);

  /* Advanced SIMD is architectural on AArch64, but a kernel can still hide
   * it; trust the hardware capability bits like every other library does. */
  if (getauxval (AT_HWCAP) & HWCAP_ASIMD)
    info->reported = info->usable = SM_CPU_FEATURE_NEON;

  if (g_file_get_contents ("/proc/cpuinfo", &cpuinfo, NULL, NULL))
    {
      const char *line = strstr (cpuinfo, "model name");

      if (line != NULL && (line = strchr (line, ':')) != NULL)
        {
          g_autofree char *model = g_strndup (line + 1, strcspn (line + 1, "\n"));
          g_strlcpy (info->model, model, sizeof info->model);
        }
    }
}
#endif

static gpointer
detect_once (gpointer data)
{
  SmCpuInfo *info = g_new0 (SmCpuInfo, 1);

#if SM_ARCH_X86_64
  detect_x86 (info);
#elif SM_ARCH_AARCH64
  detect_aarch64 (info);
#endif

  g_strstrip (info->model);
  if (info->model[0] == '\0')
    g_strlcpy (info->model, "unknown", sizeof info->model);
  if (info->vendor[0] == '\0')
    g_strlcpy (info->vendor, "unknown", sizeof info->vendor);
  info->logical_cpus = g_get_num_processors ();

  return info;
}

const SmCpuInfo *
sm_cpu_info_get (void)
{
  static GOnce once = G_ONCE_INIT;

  g_once (&once, detect_once, NULL);

  return once.retval;
}
