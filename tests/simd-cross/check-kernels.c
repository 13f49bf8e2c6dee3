/* SPDX-License-Identifier: GPL-3.0-or-later */

/* Checks a vector kernel table against the generic kernels and a double
 * reference, without GLib, so that it can be cross-built for another
 * architecture and run under qemu-user (build-aux/test-cross-neon.sh).
 * The checks are those of tests/test-simd-*.c, condensed; output is TAP. */

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sm-simd-private.h"

#define GUARD 12345.0f

static int test_number;
static int failures_in_test;

#define CHECK(cond, ...)                                         \
  do {                                                           \
    if (!(cond) && failures_in_test++ < 5)                       \
      {                                                          \
        printf ("# %s:%d: ", __FILE__, __LINE__);                \
        printf (__VA_ARGS__);                                    \
        printf ("\n");                                           \
      }                                                          \
  } while (0)

static void
report (const char *kernels,
        const char *name)
{
  printf ("%s %d /engine/simd/cross/%s/%s\n", failures_in_test ? "not ok" : "ok",
          ++test_number, kernels, name);
  failures_in_test = 0;
}

/* xorshift: deterministic and the same on every architecture. */
static uint32_t rng_state = 2463534242u;

static float
random_float (float lo,
              float hi)
{
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 17;
  rng_state ^= rng_state << 5;
  return lo + (hi - lo) * (float) (rng_state >> 8) / (float) (1u << 24);
}

static double
act_double (SmActivation act,
            double       x)
{
  switch (act.kind)
    {
    case SM_ACT_RELU: return x > 0 ? x : 0;
    case SM_ACT_LEAKY_RELU: return x < 0 ? act.alpha * x : x;
    case SM_ACT_SIGMOID: return 1.0 / (1.0 + exp (-x));
    case SM_ACT_TANH: return tanh (x);
    case SM_ACT_GELU: return 0.5 * x * (1.0 + tanh (sqrt (2.0 / M_PI) * (x + 0.044715 * x * x * x)));
    case SM_ACT_IDENTITY:
    case SM_ACT_SOFTMAX:
    case SM_ACT_N_KINDS:
    default: return x;
    }
}

static double
allowed_error (double reference)
{
  float r = fabsf ((float) reference);
  double ulp = (double) nextafterf (r, INFINITY) - r;

  return fmax (1e-6, 4 * ulp);
}

static void
check_gemm (const SmKernels *kernels,
            size_t m, size_t n, size_t k, size_t pad, int offset, SmActivation act)
{
  size_t lda = k + pad, ldc = n + pad;
  float *a_buf = malloc ((m * lda + 1) * sizeof (float));
  float *w = malloc (k * n * sizeof (float));
  float *bias = malloc (n * sizeof (float));
  float *c_buf = malloc (((m + 1) * ldc + 1) * sizeof (float));
  float *packed = aligned_alloc (64, ((sm_f32_packed_weights_size (k, n) * sizeof (float) + 63) / 64) * 64);
  float *a = a_buf + offset, *c = c_buf + offset;

  for (size_t i = 0; i < m * lda + 1; i++)
    a_buf[i] = random_float (-1, 1);
  for (size_t i = 0; i < k * n; i++)
    w[i] = random_float (-1, 1);
  for (size_t i = 0; i < n; i++)
    bias[i] = random_float (-1, 1);
  for (size_t i = 0; i < (m + 1) * ldc + 1; i++)
    c_buf[i] = GUARD;
  sm_f32_pack_weights (w, n, k, n, packed);

  {
    SmGemmArgs g = { m, n, k, a, lda, packed, bias, c, ldc, act };

    if (m == 1)
      kernels->gemv (&g, 0, 1, 0, sm_f32_packed_n_panels (n));
    else
      kernels->gemm (&g, 0, m, 0, sm_f32_packed_n_panels (n));
  }

  for (size_t i = 0; i <= m; i++)
    for (size_t j = 0; j < ldc; j++)
      {
        double sum = bias[j % n], magnitude = fabs (sum), ref;

        if (i == m || j >= n)
          {
            CHECK (c[i * ldc + j] == GUARD, "%s wrote outside C at [%zu,%zu] (m=%zu n=%zu)",
                   kernels->name, i, j, m, n);
            continue;
          }
        for (size_t kk = 0; kk < k; kk++)
          {
            double p = (double) a[i * lda + kk] * w[kk * n + j];
            sum += p;
            magnitude += fabs (p);
          }
        ref = act_double (act, sum);
        CHECK (fabs (c[i * ldc + j] - ref) <= 1e-6 * magnitude + 2e-6 + 4 * FLT_EPSILON * fabs (ref),
               "%s m=%zu n=%zu k=%zu act=%d: C[%zu,%zu] = %.9g, reference %.9g",
               kernels->name, m, n, k, act.kind, i, j, c[i * ldc + j], ref);
      }

  free (a_buf);
  free (w);
  free (bias);
  free (c_buf);
  free (packed);
}

static void
test_gemm (const SmKernels *kernels)
{
  static const size_t ns[] = { 1, 3, 15, 16, 17, 33, 47, 64 };
  static const size_t ks[] = { 1, 7, 33, 255, 256, 257, 513 };
  SmActivation identity = { SM_ACT_IDENTITY, 0 };

  for (size_t m = 1; m <= 14; m++)
    check_gemm (kernels, m, 33, 17, 0, 0, identity);
  report (kernels->name, "gemm/tail-m");

  for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
    {
      check_gemm (kernels, 7, ns[i], 33, 0, 0, identity);
      check_gemm (kernels, 1, ns[i], 33, 0, 0, identity);
    }
  report (kernels->name, "gemm/tail-n");

  for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++)
    {
      check_gemm (kernels, 13, 40, ks[i], 0, 0, identity);
      check_gemm (kernels, 1, 70, ks[i], 0, 0, identity);
    }
  report (kernels->name, "gemm/tail-k");

  check_gemm (kernels, 17, 33, 19, 5, 1, identity);
  check_gemm (kernels, 1, 33, 19, 5, 1, identity);
  report (kernels->name, "gemm/strides-unaligned");

  for (SmActKind kind = 0; kind < SM_ACT_SOFTMAX; kind++)
    {
      SmActivation act = { kind, 0.1f };

      check_gemm (kernels, 13, 37, 45, 0, 1, act);
      check_gemm (kernels, 1, 37, 45, 0, 1, act);
      check_gemm (kernels, 7, 19, 1023, 0, 0, act);
    }
  report (kernels->name, "gemm/activations");
}

static void
test_activations (const SmKernels *kernels)
{
  static const float extra[] = { 0.0f, -0.0f, 1e-30f, -1e-30f, FLT_MIN, 25, -25, 44, -44, 87, -87,
                                 89, -89, 100, -100, 1e4f, -1e4f, FLT_MAX, -FLT_MAX };
  const size_t grid = 100001, n = grid + sizeof extra / sizeof extra[0];
  float *x = malloc (n * sizeof (float)), *y = malloc ((n + 1) * sizeof (float));

  for (size_t i = 0; i < grid; i++)
    x[i] = (float) (-20.0 + 40.0 * i / (grid - 1));
  memcpy (x + grid, extra, sizeof extra);

  for (SmActKind kind = 0; kind < SM_ACT_SOFTMAX; kind++)
    {
      SmActivation act = { kind, 0.01f };

      kernels->activate (act, x, y + 1, n);
      for (size_t i = 0; i < n; i++)
        {
          double ref = kind == SM_ACT_LEAKY_RELU ? (x[i] < 0 ? (double) 0.01f * x[i] : x[i])
                                                 : act_double (act, x[i]);

          CHECK (fabs (y[i + 1] - ref) <= allowed_error (ref), "%s act=%d f(%.9g) = %.9g, reference %.17g",
                 kernels->name, kind, x[i], y[i + 1], ref);
        }
    }
  report (kernels->name, "vmath/activations");

  {
    float special[] = { INFINITY, -INFINITY, NAN, 0.5f, 0.5f };
    float out[5];

    kernels->activate ((SmActivation) { SM_ACT_SIGMOID, 0 }, special, out, 5);
    CHECK (out[0] == 1.0f && out[1] == 0.0f && isnan (out[2]), "sigmoid limits");
    kernels->activate ((SmActivation) { SM_ACT_TANH, 0 }, special, out, 5);
    CHECK (out[0] == 1.0f && out[1] == -1.0f && isnan (out[2]), "tanh limits");
    kernels->activate ((SmActivation) { SM_ACT_GELU, 0 }, special, out, 5);
    CHECK (out[0] == INFINITY && out[1] == 0.0f && isnan (out[2]), "gelu limits");
  }
  report (kernels->name, "vmath/special-values");

  free (x);
  free (y);
}

static void
test_softmax_and_helpers (const SmKernels *kernels)
{
  static const size_t sizes[] = { 1, 2, 3, 5, 8, 9, 17, 33, 127, 1000 };

  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
    {
      size_t n = sizes[s];
      float *x = malloc (n * sizeof (float)), *y = malloc (n * sizeof (float));
      double max = -INFINITY, sum = 0, dot = 0, magnitude = 0, plain = 0, abs_sum = 0;
      float got_max;

      for (size_t i = 0; i < n; i++)
        x[i] = random_float (-20, 20) + 1000.0f;
      for (size_t i = 0; i < n; i++)
        max = fmax (max, x[i]);
      for (size_t i = 0; i < n; i++)
        sum += exp ((double) x[i] - max);

      kernels->softmax (x, y, n);
      for (size_t i = 0; i < n; i++)
        {
          double ref = exp ((double) x[i] - max) / sum;
          CHECK (fabs (y[i] - ref) <= allowed_error (ref), "softmax n=%zu [%zu] = %g, reference %g", n, i, y[i], ref);
        }

      for (size_t i = 0; i < n; i++)
        {
          dot += (double) x[i] * y[i];
          magnitude += fabs ((double) x[i] * y[i]);
          plain += x[i];
          abs_sum += fabs (x[i]);
        }
      CHECK (fabs (kernels->dot (x, y, n) - dot) <= 1e-6 + n * FLT_EPSILON * magnitude, "dot n=%zu", n);
      CHECK (fabs (kernels->sum (x, n) - plain) <= 1e-6 + n * FLT_EPSILON * abs_sum, "sum n=%zu", n);
      CHECK (kernels->argmax (x, n, &got_max) == sm_kernels_generic.argmax (x, n, NULL) && got_max == max,
             "argmax n=%zu", n);

      kernels->add (x, y, y, n);
      kernels->scale (2.0f, y, y, n);
      kernels->axpy (-2.0f, x, y, n);
      for (size_t i = 0; i < n; i++)
        {
          double ref = 2.0 * exp ((double) x[i] - max) / sum;
          CHECK (fabs (y[i] - ref) <= 1e-3, "add/scale/axpy n=%zu [%zu] = %g, reference %g", n, i, y[i], ref);
        }

      free (x);
      free (y);
    }
  report (kernels->name, "vmath/softmax-and-helpers");
}

static void
test_conversions (const SmKernels *kernels)
{
  uint16_t *h = malloc (65536 * sizeof (uint16_t));
  float *ours = malloc (65536 * sizeof (float)), *generic = malloc (65536 * sizeof (float));

  for (uint32_t i = 0; i < 65536; i++)
    h[i] = (uint16_t) i;

  kernels->f16_to_f32 (h, ours, 65536);
  sm_f16_to_f32__generic (h, generic, 65536);
  for (uint32_t i = 0; i < 65536; i++)
    CHECK (memcmp (&ours[i], &generic[i], 4) == 0, "f16 0x%04x: %g, generic %g", i, ours[i], generic[i]);
  report (kernels->name, "vmath/f16-to-f32");

  kernels->bf16_to_f32 (h, ours, 65536);
  for (uint32_t i = 0; i < 65536; i++)
    {
      uint32_t bits;

      memcpy (&bits, &ours[i], 4);
      CHECK (bits == i << 16, "bf16 0x%04x", i);
    }
  report (kernels->name, "vmath/bf16-to-f32");

  free (h);
  free (ours);
  free (generic);
}

int
main (void)
{
  const SmKernels *tables[] = {
    &sm_kernels_generic,
#if defined(__aarch64__)
    &sm_kernels_neon,
#endif
  };
  const size_t n_tables = sizeof tables / sizeof tables[0];
  int failed = 0;

  printf ("1..%zu\n", n_tables * 10);
  for (size_t t = 0; t < n_tables; t++)
    {
      int before = test_number;

      test_gemm (tables[t]);
      test_activations (tables[t]);
      test_softmax_and_helpers (tables[t]);
      test_conversions (tables[t]);
      if (test_number - before != 10)
        failed = 1;
    }

  return failed;
}
