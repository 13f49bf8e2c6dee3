/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Instruction-set features the kernels care about.  A feature counts as
 * usable only when the CPU reports it *and* the operating system saves the
 * register state it needs (XGETBV on x86-64). */
typedef enum {
  SM_CPU_FEATURE_SSE4_1   = 1 << 0,
  SM_CPU_FEATURE_SSE4_2   = 1 << 1,
  SM_CPU_FEATURE_AVX      = 1 << 2,
  SM_CPU_FEATURE_AVX2     = 1 << 3,
  SM_CPU_FEATURE_FMA      = 1 << 4,
  SM_CPU_FEATURE_F16C     = 1 << 5,
  SM_CPU_FEATURE_AVX512F  = 1 << 6,
  SM_CPU_FEATURE_AVX512DQ = 1 << 7,
  SM_CPU_FEATURE_AVX512BW = 1 << 8,
  SM_CPU_FEATURE_AVX512VL = 1 << 9,
  SM_CPU_FEATURE_NEON     = 1 << 10,
  SM_CPU_FEATURE_AVX512VNNI = 1 << 11,
} SmCpuFeatures;

#define SM_CPU_FEATURE_LAST SM_CPU_FEATURE_AVX512VNNI

typedef struct
{
  char          vendor[16];   /* "GenuineIntel", "AuthenticAMD", "ARM", … */
  char          model[64];    /* the brand string, trimmed */
  SmCpuFeatures reported;     /* what the CPU reports */
  SmCpuFeatures usable;       /* reported and enabled by the OS */
  guint64       xcr0;         /* OS-enabled register state (0 where not x86) */
  guint         logical_cpus;
} SmCpuInfo;

/* Detects the CPU once (thread-safe) and returns the shared, read-only result. */
const SmCpuInfo *sm_cpu_info_get           (void);

/* The lower-case name of one feature as Linux spells it in /proc/cpuinfo
 * ("avx2", "avx512f"); "asimd" for NEON. */
const char      *sm_cpu_feature_get_name   (SmCpuFeatures feature);

/* Names of every feature in @features, in bit order, as a NULL-terminated
 * array the caller frees with g_strfreev(). */
char           **sm_cpu_features_to_strv   (SmCpuFeatures features);

G_END_DECLS
