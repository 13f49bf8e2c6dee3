/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* The kernel tests, once: every check a kernel set must pass, written
 * against the C library only, so that the same file runs natively under
 * GLib's test harness (test-simd-kernels.c) and cross-built for AArch64
 * under qemu-user (simd-cross/check-kernels.c).  A check reports failures
 * and notes through its KernelCheck and never aborts, so a harness can say
 * which case failed and go on. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "sm-kernels.h"

typedef struct
{
  const SmKernels *kernels;
  unsigned         failures;
  /* Where failures (the first few) and notes go, one line each. */
  void           (*say) (void *data, const char *line);
  void            *say_data;
  uint32_t         random_state;
} KernelCheck;

typedef struct
{
  const char  *area;     /* "gemm", "vmath" */
  const char  *name;
  void       (*run) (KernelCheck *check);
} KernelCheckCase;

extern const KernelCheckCase kernel_check_cases[];
extern const size_t          kernel_check_n_cases;

/* Runs @test_case on @kernels; returns the number of failed expectations. */
unsigned kernel_check_run (const KernelCheckCase *test_case,
                           const SmKernels       *kernels,
                           void                 (*say) (void *data, const char *line),
                           void                  *say_data);
