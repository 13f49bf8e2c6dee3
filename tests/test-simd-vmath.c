/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "sm-simd.h"
#include "simd-test-util.h"
#include "sm-simd-private.h"

/* The accuracy contract for sigmoid, tanh and GELU: within 1e-6 absolute or
 * 4 ulp of the correctly rounded result, whichever allows more. */
static double
allowed_error (double reference)
{
  float r = fabsf ((float) reference);
  double ulp = (double) nextafterf (r, INFINITY) - r;

  return MAX (1e-6, 4 * ulp);
}

static double
reference (SmActKind kind,
           double    x)
{
  switch (kind)
    {
    case SM_ACT_SIGMOID:
      return 1.0 / (1.0 + exp (-x));
    case SM_ACT_TANH:
      return tanh (x);
    case SM_ACT_GELU:
      return 0.5 * x * (1.0 + tanh (sqrt (2.0 / G_PI) * (x + 0.044715 * x * x * x)));
    case SM_ACT_RELU:
      return x > 0 ? x : 0;
    case SM_ACT_LEAKY_RELU:
      return x < 0 ? 0.01 * x : x;
    case SM_ACT_IDENTITY:
    case SM_ACT_SOFTMAX:
    case SM_ACT_N_KINDS:
    default:
      return x;
    }
}

static void
check_activation (const SmKernels *kernels,
                  SmActKind        kind)
{
  /* A dense grid over [-20, 20], every float of [-2^-20, 2^-20]'s
   * neighbourhood of zero sampled, and magnitudes far beyond. */
  const gsize grid = 400001;
  const float extra[] = { 0.0f, -0.0f, 1e-30f, -1e-30f, FLT_MIN, -FLT_MIN, 1e-45f,
                          25, -25, 44, -44, 87, -87, 89, -89, 100, -100, 1e4f, -1e4f,
                          1e30f, -1e30f, FLT_MAX, -FLT_MAX };
  gsize n = grid + G_N_ELEMENTS (extra);
  g_autofree float *x = g_new (float, n + 1);
  g_autofree float *y = g_new (float, n + 1);
  SmActivation act = { kind, 0.01f };
  double worst = 0;
  float worst_x = 0;

  for (gsize i = 0; i < grid; i++)
    x[i] = (float) (-20.0 + 40.0 * i / (grid - 1));
  memcpy (x + grid, extra, sizeof extra);

  /* Out of place, from an unaligned start. */
  kernels->activate (act, x, y + 1, n);

  for (gsize i = 0; i < n; i++)
    {
      double ref = reference (kind, x[i]);
      double err = fabs (y[i + 1] - ref);

      if (!isfinite (ref))
        continue;
      if (err / allowed_error (ref) > worst)
        {
          worst = err / allowed_error (ref);
          worst_x = x[i];
        }
      if (!(err <= allowed_error (ref)))
        g_error ("%s %d: f(%.9g) = %.9g, reference %.17g, error %.3g > %.3g",
                 kernels->name, kind, x[i], y[i + 1], ref, err, allowed_error (ref));
    }
  g_test_message ("%s activation %d: worst error %.3f of the allowance, at x = %g",
                  kernels->name, kind, worst, worst_x);

  /* In place gives the same bits. */
  kernels->activate (act, x, x, n);
  g_assert_cmpmem (x, n * sizeof (float), y + 1, n * sizeof (float));
}

static void
test_sigmoid (const SmKernels *kernels, const SimdCase *c) { check_activation (kernels, SM_ACT_SIGMOID); }
static void
test_tanh (const SmKernels *kernels, const SimdCase *c) { check_activation (kernels, SM_ACT_TANH); }
static void
test_gelu (const SmKernels *kernels, const SimdCase *c) { check_activation (kernels, SM_ACT_GELU); }
static void
test_relu (const SmKernels *kernels, const SimdCase *c) { check_activation (kernels, SM_ACT_RELU); }
static void
test_leaky_relu (const SmKernels *kernels, const SimdCase *c) { check_activation (kernels, SM_ACT_LEAKY_RELU); }

/* The limits that no finite reference shows. */
static void
test_special_values (const SmKernels *kernels,
                     const SimdCase  *c)
{
  float x[] = { INFINITY, -INFINITY, NAN, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f };
  float y[G_N_ELEMENTS (x)];

  kernels->activate ((SmActivation) { SM_ACT_SIGMOID, 0 }, x, y, G_N_ELEMENTS (x));
  g_assert_cmpfloat (y[0], ==, 1.0f);
  g_assert_cmpfloat (y[1], ==, 0.0f);
  g_assert_true (isnan (y[2]));

  kernels->activate ((SmActivation) { SM_ACT_TANH, 0 }, x, y, G_N_ELEMENTS (x));
  g_assert_cmpfloat (y[0], ==, 1.0f);
  g_assert_cmpfloat (y[1], ==, -1.0f);
  g_assert_true (isnan (y[2]));

  kernels->activate ((SmActivation) { SM_ACT_GELU, 0 }, x, y, G_N_ELEMENTS (x));
  g_assert_cmpfloat (y[0], ==, INFINITY);
  g_assert_cmpfloat (y[1], ==, 0.0f);
  g_assert_true (isnan (y[2]));

  kernels->activate ((SmActivation) { SM_ACT_RELU, 0 }, x, y, G_N_ELEMENTS (x));
  g_assert_cmpfloat (y[0], ==, INFINITY);
  g_assert_cmpfloat (y[1], ==, 0.0f);
}

static void
test_tails_untouched (const SmKernels *kernels,
                      const SimdCase  *c)
{
  for (gsize n = 0; n <= 40; n++)
    {
      float x[48], y[48];

      for (gsize i = 0; i < 48; i++)
        {
          x[i] = (float) i - 20;
          y[i] = 777.0f;
        }
      kernels->activate ((SmActivation) { SM_ACT_GELU, 0 }, x, y, n);
      kernels->scale (2.0f, x, y, 0);
      for (gsize i = n; i < 48; i++)
        g_assert_cmpfloat (y[i], ==, 777.0f);
    }
}

static void
test_softmax (const SmKernels *kernels,
              const SimdCase  *c)
{
  const gsize sizes[] = { 1, 2, 3, 7, 8, 9, 15, 16, 17, 33, 64, 127, 1000 };
  g_autoptr(GRand) rand = g_rand_new_with_seed (5);

  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
    for (int variant = 0; variant < 3; variant++)
      {
        gsize n = sizes[s];
        g_autofree float *x = g_new (float, n);
        g_autofree float *y = g_new (float, n);
        double max = -INFINITY, sum = 0, total = 0;

        /* Plain; shifted far up (overflows without the max trick); with -inf. */
        simd_fill_random (rand, x, n, -20, 20);
        if (variant == 1)
          for (gsize i = 0; i < n; i++)
            x[i] += 1000.0f;
        if (variant == 2 && n > 1)
          x[n / 2] = -INFINITY;

        for (gsize i = 0; i < n; i++)
          max = MAX (max, x[i]);
        for (gsize i = 0; i < n; i++)
          sum += exp ((double) x[i] - max);

        kernels->softmax (x, y, n);
        for (gsize i = 0; i < n; i++)
          {
            double ref = exp ((double) x[i] - max) / sum;

            g_assert_true (isfinite (y[i]));
            g_assert_cmpfloat_with_epsilon (y[i], ref, allowed_error (ref));
            total += y[i];
          }
        g_assert_cmpfloat_with_epsilon (total, 1.0, 1e-5);

        /* In place. */
        kernels->softmax (x, x, n);
        g_assert_cmpmem (x, n * sizeof (float), y, n * sizeof (float));
      }
}

static void
test_reductions (const SmKernels *kernels,
                 const SimdCase  *c)
{
  const gsize sizes[] = { 0, 1, 3, 7, 8, 9, 17, 31, 32, 33, 127, 257, 1023, 4096 };
  g_autoptr(GRand) rand = g_rand_new_with_seed (9);

  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
    {
      gsize n = sizes[s];
      g_autofree float *a = g_new (float, n + 1);
      g_autofree float *b = g_new (float, n + 1);
      double dot = 0, sum = 0, magnitude = 0, abs_sum = 0;

      simd_fill_random (rand, a, n + 1, -1, 1);
      simd_fill_random (rand, b, n + 1, -1, 1);
      for (gsize i = 0; i < n; i++)
        {
          dot += (double) a[i + 1] * b[i];
          magnitude += fabs ((double) a[i + 1] * b[i]);
          sum += a[i + 1];
          abs_sum += fabs (a[i + 1]);
        }

      /* Unaligned: a + 1.  Any summation order is fine within n·ε. */
      g_assert_cmpfloat_with_epsilon (kernels->dot (a + 1, b, n), dot, 1e-6 + n * FLT_EPSILON * magnitude);
      g_assert_cmpfloat_with_epsilon (kernels->sum (a + 1, n), sum, 1e-6 + n * FLT_EPSILON * abs_sum);
    }
}

static void
test_elementwise (const SmKernels *kernels,
                  const SimdCase  *c)
{
  const gsize n = 1027;
  g_autoptr(GRand) rand = g_rand_new_with_seed (3);
  g_autofree float *x = g_new (float, n);
  g_autofree float *y = g_new (float, n);
  g_autofree float *z = g_new (float, n);
  g_autofree float *y0 = g_new (float, n);

  simd_fill_random (rand, x, n, -100, 100);
  simd_fill_random (rand, y0, n, -100, 100);

  /* Each result is one rounding (two for axpy without FMA) of the exact one. */
  memcpy (y, y0, n * sizeof (float));
  kernels->axpy (0.37f, x + 1, y + 2, n - 2);
  for (gsize i = 0; i < n - 2; i++)
    {
      double ref = (double) y0[i + 2] + (double) 0.37f * x[i + 1];
      g_assert_cmpfloat_with_epsilon (y[i + 2], ref, 2 * FLT_EPSILON * (fabs (ref) + fabs (0.37 * x[i + 1])));
    }
  g_assert_cmpfloat (y[0], ==, y0[0]);
  g_assert_cmpfloat (y[1], ==, y0[1]);

  kernels->add (x, y0, z, n);
  for (gsize i = 0; i < n; i++)
    g_assert_cmpfloat (z[i], ==, x[i] + y0[i]);

  kernels->scale (-3.0f, x, z, n);
  for (gsize i = 0; i < n; i++)
    g_assert_cmpfloat (z[i], ==, -3.0f * x[i]);
}

static void
test_argmax (const SmKernels *kernels,
             const SimdCase  *c)
{
  float max;

  for (gsize n = 1; n <= 70; n++)
    for (gsize where = 0; where < n; where += 3)
      {
        float x[70];

        for (gsize i = 0; i < n; i++)
          x[i] = -(float) ((i * 37) % 11);
        x[where] = 5.0f;
        /* A later tie must not win; NaNs are skipped. */
        if (where + 1 < n)
          x[n - 1] = 5.0f;
        if (where > 0)
          x[0] = NAN;

        g_assert_cmpuint (kernels->argmax (x, n, &max), ==, where);
        g_assert_cmpfloat (max, ==, 5.0f);
        g_assert_cmpuint (kernels->argmax (x, n, NULL), ==,
                          sm_kernels_generic.argmax (x, n, NULL));
      }

  g_assert_cmpuint (kernels->argmax (NULL, 0, &max), ==, 0);
  g_assert_cmpfloat (max, ==, -INFINITY);
  {
    float nans[9] = { NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN };

    g_assert_cmpuint (kernels->argmax (nans, 9, &max), ==, 0);
    g_assert_cmpfloat (max, ==, -INFINITY);
  }
}

/* Every one of the 65536 half-precision values, against the exact value
 * computed in double. */
static void
test_f16 (const SmKernels *kernels,
          const SimdCase  *c)
{
  g_autofree guint16 *h = g_new (guint16, 65536 + 3);
  g_autofree float *f = g_new (float, 65536 + 3);

  for (guint i = 0; i < 65536; i++)
    h[i + 1] = (guint16) i;
  kernels->f16_to_f32 (h + 1, f + 1, 65536);

  for (guint i = 0; i < 65536; i++)
    {
      int exponent = (i >> 10) & 0x1f, mantissa = i & 0x3ff;
      double sign = (i & 0x8000) ? -1 : 1;
      float got = f[i + 1];

      if (exponent == 0x1f)
        {
          if (mantissa == 0)
            g_assert_cmpfloat (got, ==, sign * INFINITY);
          else
            g_assert_true (isnan (got));
        }
      else if (exponent == 0)
        g_assert_cmpfloat (got, ==, sign * ldexp (mantissa, -24));
      else
        g_assert_cmpfloat (got, ==, sign * ldexp (1024 + mantissa, exponent - 25));
      g_assert_true (!!signbit (got) == !!(i & 0x8000));
    }
}

static void
test_bf16 (const SmKernels *kernels,
           const SimdCase  *c)
{
  g_autofree guint16 *h = g_new (guint16, 65536);
  g_autofree float *f = g_new (float, 65536);

  for (guint i = 0; i < 65536; i++)
    h[i] = (guint16) i;
  kernels->bf16_to_f32 (h, f, 65536);

  /* bfloat16 is the top half of a float, bit for bit (NaN payloads too). */
  for (guint i = 0; i < 65536; i++)
    {
      guint32 bits;

      memcpy (&bits, &f[i], sizeof bits);
      g_assert_cmphex (bits, ==, (guint32) i << 16);
    }
}

/* Every op of the list (sm-kernel-ops.inc) is wired to this set's own
 * kernel: the list, not a table written by hand, says what a set has. */
static void
test_table (const SmKernels *kernels,
            const SimdCase  *simd_case)
{
  SmKernels listed = { 0 };

  if (g_str_equal (kernels->name, "generic"))
    {
#define SM_KERNEL_OP(field, stem, ret, params) listed.field = sm_##stem##__generic;
#include "sm-kernel-ops.inc"
#undef SM_KERNEL_OP
    }
#if defined(__x86_64__)
  else if (g_str_equal (kernels->name, "avx2"))
    {
#define SM_KERNEL_OP(field, stem, ret, params) listed.field = sm_##stem##__avx2;
#include "sm-kernel-ops.inc"
#undef SM_KERNEL_OP
    }
  else if (g_str_equal (kernels->name, "avx512"))
    {
#define SM_KERNEL_OP(field, stem, ret, params) listed.field = sm_##stem##__avx512;
#include "sm-kernel-ops.inc"
#undef SM_KERNEL_OP
    }
#endif
#if defined(__aarch64__)
  else if (g_str_equal (kernels->name, "neon"))
    {
#define SM_KERNEL_OP(field, stem, ret, params) listed.field = sm_##stem##__neon;
#include "sm-kernel-ops.inc"
#undef SM_KERNEL_OP
    }
#endif
  else
    g_assert_not_reached ();

#define SM_KERNEL_OP(field, stem, ret, params) \
  g_assert_nonnull (kernels->field);            \
  g_assert_true (kernels->field == listed.field);
#include "sm-kernel-ops.inc"
#undef SM_KERNEL_OP
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  simd_add_case ("vmath", "table", test_table);
  simd_add_case ("vmath", "sigmoid", test_sigmoid);
  simd_add_case ("vmath", "tanh", test_tanh);
  simd_add_case ("vmath", "gelu", test_gelu);
  simd_add_case ("vmath", "relu", test_relu);
  simd_add_case ("vmath", "leaky-relu", test_leaky_relu);
  simd_add_case ("vmath", "special-values", test_special_values);
  simd_add_case ("vmath", "tails-untouched", test_tails_untouched);
  simd_add_case ("vmath", "softmax", test_softmax);
  simd_add_case ("vmath", "reductions", test_reductions);
  simd_add_case ("vmath", "elementwise", test_elementwise);
  simd_add_case ("vmath", "argmax", test_argmax);
  simd_add_case ("vmath", "f16-to-f32", test_f16);
  simd_add_case ("vmath", "bf16-to-f32", test_bf16);

  return g_test_run ();
}
