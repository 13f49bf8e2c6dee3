/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "sm-cpu.h"

static void
test_cpu_feature_names (void)
{
  g_auto(GStrv) none = sm_cpu_features_to_strv (0);
  g_auto(GStrv) some = sm_cpu_features_to_strv (SM_CPU_FEATURE_AVX2 | SM_CPU_FEATURE_FMA |
                                                 SM_CPU_FEATURE_AVX512F);

  g_assert_cmpstr (sm_cpu_feature_get_name (SM_CPU_FEATURE_SSE4_1), ==, "sse4_1");
  g_assert_cmpstr (sm_cpu_feature_get_name (SM_CPU_FEATURE_AVX2), ==, "avx2");
  g_assert_cmpstr (sm_cpu_feature_get_name (SM_CPU_FEATURE_NEON), ==, "asimd");

  g_assert_cmpuint (g_strv_length (none), ==, 0);
  g_assert_cmpuint (g_strv_length (some), ==, 3);
  g_assert_cmpstr (some[0], ==, "avx2");
  g_assert_cmpstr (some[1], ==, "fma");
  g_assert_cmpstr (some[2], ==, "avx512f");
}

static void
test_cpu_info_consistent (void)
{
  const SmCpuInfo *info = sm_cpu_info_get ();

  g_assert_nonnull (info);
  g_assert_true (info == sm_cpu_info_get ());
  g_assert_cmpuint (info->logical_cpus, >=, 1);
  g_assert_cmpstr (info->model, !=, "");
  g_assert_cmpstr (info->vendor, !=, "");

  /* Usable features are a subset of the reported ones, and every vector
   * extension above AVX needs the AVX register state. */
  g_assert_cmpuint (info->usable & ~info->reported, ==, 0);
  if (info->usable & (SM_CPU_FEATURE_AVX2 | SM_CPU_FEATURE_FMA | SM_CPU_FEATURE_AVX512F))
    g_assert_true (info->usable & SM_CPU_FEATURE_AVX);
  if (info->usable & SM_CPU_FEATURE_AVX512F)
    g_assert_cmpuint (info->xcr0 & 0xe6, ==, 0xe6);
}

/* Linux lists in /proc/cpuinfo the features that the CPU has *and* that the
 * kernel enables, which is exactly our "usable" set: the two must agree. */
static void
test_cpu_matches_proc_cpuinfo (void)
{
  const SmCpuInfo *info = sm_cpu_info_get ();
  g_autofree char *cpuinfo = NULL;
  g_auto(GStrv) flags = NULL;
  const char *line;

  if (!g_file_get_contents ("/proc/cpuinfo", &cpuinfo, NULL, NULL))
    {
      g_test_skip ("/proc/cpuinfo is not readable");
      return;
    }

  line = strstr (cpuinfo, SM_ARCH_AARCH64 ? "\nFeatures" : "\nflags");
  if (line == NULL || (line = strchr (line, ':')) == NULL)
    {
      g_test_skip ("/proc/cpuinfo lists no CPU flags here");
      return;
    }

  {
    g_autofree char *flag_line = g_strndup (line + 1, strcspn (line + 1, "\n"));
    flags = g_strsplit (g_strstrip (flag_line), " ", -1);
  }

  for (SmCpuFeatures f = 1; f <= SM_CPU_FEATURE_LAST; f <<= 1)
    {
      const char *name = sm_cpu_feature_get_name (f);
      gboolean in_kernel = g_strv_contains ((const char * const *) flags, name);

      /* Only compare the features of this architecture. */
      if ((f == SM_CPU_FEATURE_NEON) != (SM_ARCH_AARCH64 != 0))
        continue;

      g_test_message ("%s: kernel %d, detected %d", name, in_kernel, !!(info->usable & f));
      g_assert_cmpint (in_kernel, ==, !!(info->usable & f));
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/engine/cpu/feature-names", test_cpu_feature_names);
  g_test_add_func ("/engine/cpu/info-consistent", test_cpu_info_consistent);
  g_test_add_func ("/engine/cpu/matches-proc-cpuinfo", test_cpu_matches_proc_cpuinfo);

  return g_test_run ();
}
