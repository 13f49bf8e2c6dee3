/* SPDX-License-Identifier: GPL-3.0-or-later */

/* Every kernel set against a double-precision reference and against the
 * generic kernels: the specification of sm-kernels.h, as checks.  C library
 * only (see kernel-checks.h). */

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel-checks.h"
#include "sm-simd-private.h"

#define MAX_FAILURES_SHOWN 5

/* Sentinel for memory a kernel must not write. */
#define GUARD 12345.0f

#define N_ELEMENTS(a) (sizeof (a) / sizeof ((a)[0]))

static void say (KernelCheck *check, const char *format, ...) __attribute__ ((format (printf, 2, 3)));

static void
say (KernelCheck *check,
     const char  *format,
     ...)
{
  char line[512];
  va_list args;

  va_start (args, format);
  vsnprintf (line, sizeof line, format, args);
  va_end (args);
  check->say (check->say_data, line);
}

#define STRINGIFY_(x) #x
#define STRINGIFY(x)  STRINGIFY_ (x)

/* Counts a failure and says the first few, with where it was found. */
#define EXPECT(check, cond, ...)                                          \
  do {                                                                    \
    if (!(cond) && (check)->failures++ < MAX_FAILURES_SHOWN)              \
      say ((check), __FILE__ ":" STRINGIFY (__LINE__) ": " __VA_ARGS__);  \
  } while (0)

/* Helpers */

/* xorshift32: deterministic and the same on every architecture. */
static float
random_float (KernelCheck *check,
              float        lo,
              float        hi)
{
  uint32_t s = check->random_state;

  s ^= s << 13;
  s ^= s >> 17;
  s ^= s << 5;
  check->random_state = s;
  return lo + (hi - lo) * (float) (s >> 8) / (float) (1u << 24);
}

static void
fill_random (KernelCheck *check,
             float       *x,
             size_t       n,
             float        lo,
             float        hi)
{
  for (size_t i = 0; i < n; i++)
    x[i] = random_float (check, lo, hi);
}

static float *
alloc_floats (size_t n)
{
  float *x = calloc (n ? n : 1, sizeof (float));

  if (x == NULL)
    abort ();
  return x;
}

/* Packed weights must be 64-byte aligned; aligned_alloc wants a multiple. */
static float *
alloc_packed (size_t k,
              size_t n)
{
  size_t bytes = (sm_f32_packed_weights_size (k, n) * sizeof (float) + 63) / 64 * 64;
  float *packed = aligned_alloc (64, bytes ? bytes : 64);

  if (packed == NULL)
    abort ();
  memset (packed, 0, bytes);
  return packed;
}

static double
act_double (SmActivation act,
            double       x)
{
  switch (act.kind)
    {
    case SM_ACT_RELU:
      return x > 0 ? x : 0;
    case SM_ACT_LEAKY_RELU:
      return x < 0 ? (double) act.alpha * x : x;
    case SM_ACT_SIGMOID:
      return 1.0 / (1.0 + exp (-x));
    case SM_ACT_TANH:
      return tanh (x);
    case SM_ACT_GELU:
      return 0.5 * x * (1.0 + tanh (sqrt (2.0 / M_PI) * (x + 0.044715 * x * x * x)));
    case SM_ACT_IDENTITY:
    case SM_ACT_SOFTMAX:
    case SM_ACT_N_KINDS:
    default:
      return x;
    }
}

/* The accuracy contract for sigmoid, tanh and GELU: within 1e-6 absolute or
 * 4 ulp of the correctly rounded result, whichever allows more. */
static double
allowed_error (double reference)
{
  float r = fabsf ((float) reference);
  double ulp = (double) nextafterf (r, INFINITY) - r;

  return fmax (1e-6, 4 * ulp);
}

/* As sm_simd_gemm() chooses: the GEMV kernel for a single row. */
static void
run_gemm (const SmKernels  *kernels,
          const SmGemmArgs *args,
          size_t            m_start,
          size_t            m_end,
          size_t            panel_start,
          size_t            panel_end)
{
  if (m_end - m_start == 1)
    kernels->gemv (args, m_start, m_end, panel_start, panel_end);
  else
    kernels->gemm (args, m_start, m_end, panel_start, panel_end);
}

/* GEMM */

typedef struct
{
  size_t        m, n, k;
  size_t        lda_pad, ldc_pad;   /* extra columns: leading dimension > width */
  int           unaligned;          /* A and C start one float off alignment */
  int           with_bias;
  SmActivation  act;
} Shape;

/* Runs one shape and checks every element against a double-precision
 * reference, with a bound that scales with the sum of the magnitudes it
 * accumulated (normalised error), and that nothing outside C's m×n window
 * was written. */
static void
check_shape (KernelCheck *check,
             const Shape *s)
{
  const SmKernels *kernels = check->kernels;
  size_t lda = s->k + s->lda_pad, ldc = s->n + s->ldc_pad;
  size_t off = s->unaligned ? 1 : 0;
  float *a_buf = alloc_floats (s->m * lda + off);
  float *w = alloc_floats (s->k * s->n);
  float *bias = alloc_floats (s->n);
  float *c_buf = alloc_floats ((s->m + 1) * ldc + off);
  float *packed = alloc_packed (s->k, s->n);
  float *a = a_buf + off, *c = c_buf + off;
  double worst = 0;

  check->random_state = 2463534242u ^ (uint32_t) (s->m * 7919 + s->n * 104729 + s->k);
  fill_random (check, a_buf, s->m * lda + off, -1, 1);
  fill_random (check, w, s->k * s->n, -1, 1);
  fill_random (check, bias, s->n, -1, 1);
  for (size_t i = 0; i < (s->m + 1) * ldc + off; i++)
    c_buf[i] = GUARD;
  sm_f32_pack_weights (w, s->n, s->k, s->n, packed);

  run_gemm (kernels, &(SmGemmArgs) {
              .m = s->m, .n = s->n, .k = s->k,
              .a = a, .lda = lda,
              .w = packed,
              .bias = s->with_bias ? bias : NULL,
              .c = c, .ldc = ldc,
              .act = s->act,
            }, 0, s->m, 0, sm_f32_packed_n_panels (s->n));

  for (size_t i = 0; i <= s->m; i++)
    for (size_t j = 0; j < ldc; j++)
      {
        double sum = s->with_bias ? bias[j % s->n] : 0, magnitude = fabs (sum);
        double ref, err, bound;

        /* The padding columns, and the row after the last, untouched. */
        if (i == s->m || j >= s->n)
          {
            EXPECT (check, c[i * ldc + j] == GUARD, "%s wrote outside C at [%zu,%zu] (m=%zu n=%zu k=%zu)",
                    kernels->name, i, j, s->m, s->n, s->k);
            continue;
          }
        for (size_t kk = 0; kk < s->k; kk++)
          {
            double p = (double) a[i * lda + kk] * w[kk * s->n + j];

            sum += p;
            magnitude += fabs (p);
          }
        ref = act_double (s->act, sum);
        err = fabs (c[i * ldc + j] - ref);
        /* Float accumulation error grows with k and the magnitudes summed;
         * the activations add at most 1e-6 or a few ulp. */
        bound = 1e-6 * magnitude + 2e-6 + 4 * FLT_EPSILON * fabs (ref);
        worst = fmax (worst, err / bound);
        EXPECT (check, err <= bound,
                "%s act=%d: C[%zu,%zu] = %.9g, reference %.9g (error %.3g > %.3g), m=%zu n=%zu k=%zu",
                kernels->name, s->act.kind, i, j, c[i * ldc + j], ref, err, bound, s->m, s->n, s->k);
      }
  if (off)
    EXPECT (check, c_buf[0] == GUARD, "%s wrote before C", kernels->name);

  say (check, "%s m=%zu n=%zu k=%zu: worst error %.3f of the bound", kernels->name, s->m, s->n, s->k, worst);
  free (a_buf);
  free (w);
  free (bias);
  free (c_buf);
  free (packed);
}

static void
check_tail_m (KernelCheck *check)
{
  /* Below, at and above every tile height in use (4, 6, 12), and the
   * few-row path of batches up to eight. */
  for (size_t m = 1; m <= 26; m++)
    check_shape (check, &(Shape) { m, 33, 17, 0, 0, 0, 1, { SM_ACT_IDENTITY, 0 } });
  check_shape (check, &(Shape) { 33, 33, 17, 0, 0, 0, 1, { SM_ACT_IDENTITY, 0 } });
  check_shape (check, &(Shape) { 127, 20, 9, 0, 0, 0, 1, { SM_ACT_IDENTITY, 0 } });
}

static void
check_tail_n (KernelCheck *check)
{
  static const size_t ns[] = { 1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 48, 49, 63, 64, 65, 127, 257 };

  for (size_t i = 0; i < N_ELEMENTS (ns); i++)
    {
      /* 2, 3, 5: few rows over eight, four and two panels at once. */
      check_shape (check, &(Shape) { 7, ns[i], 33, 0, 0, 0, 1, { SM_ACT_IDENTITY, 0 } });
      check_shape (check, &(Shape) { 5, ns[i], 33, 0, 0, 0, 1, { SM_ACT_IDENTITY, 0 } });
      check_shape (check, &(Shape) { 3, ns[i], 33, 0, 0, 0, 1, { SM_ACT_IDENTITY, 0 } });
      check_shape (check, &(Shape) { 2, ns[i], 33, 0, 0, 0, 1, { SM_ACT_IDENTITY, 0 } });
      check_shape (check, &(Shape) { 1, ns[i], 33, 0, 0, 0, 1, { SM_ACT_IDENTITY, 0 } });
    }
}

static void
check_tail_k (KernelCheck *check)
{
  /* Across the K block (256) as well as the odd sizes. */
  static const size_t ks[] = { 1, 3, 7, 17, 33, 127, 255, 256, 257, 511, 513, 1023 };

  for (size_t i = 0; i < N_ELEMENTS (ks); i++)
    {
      check_shape (check, &(Shape) { 13, 40, ks[i], 0, 0, 0, 1, { SM_ACT_IDENTITY, 0 } });
      check_shape (check, &(Shape) { 4, 150, ks[i], 0, 0, 0, 1, { SM_ACT_IDENTITY, 0 } });
      check_shape (check, &(Shape) { 1, 70, ks[i], 0, 0, 0, 1, { SM_ACT_IDENTITY, 0 } });
    }
}

static void
check_strides (KernelCheck *check)
{
  check_shape (check, &(Shape) { 17, 33, 19, 5, 3, 1, 1, { SM_ACT_IDENTITY, 0 } });
  check_shape (check, &(Shape) { 1, 33, 19, 5, 3, 1, 1, { SM_ACT_IDENTITY, 0 } });
  check_shape (check, &(Shape) { 3, 150, 19, 5, 3, 1, 1, { SM_ACT_IDENTITY, 0 } });
  check_shape (check, &(Shape) { 80, 100, 300, 1, 7, 1, 0, { SM_ACT_RELU, 0 } });
}

static void
check_gemm_activations (KernelCheck *check)
{
  for (SmActKind kind = 0; kind < SM_ACT_N_KINDS; kind++)
    {
      SmActivation act = { kind, 0.1f };

      if (kind == SM_ACT_SOFTMAX)
        continue;
      check_shape (check, &(Shape) { 13, 37, 45, 0, 0, 1, 1, act });
      check_shape (check, &(Shape) { 3, 150, 45, 0, 0, 1, 1, act });
      check_shape (check, &(Shape) { 1, 37, 45, 0, 0, 1, 1, act });
      /* Large sums drive every activation into saturation. */
      check_shape (check, &(Shape) { 7, 19, 1023, 0, 0, 0, 1, act });
    }
}

static void
check_large (KernelCheck *check)
{
  check_shape (check, &(Shape) { 130, 300, 600, 0, 0, 0, 1, { SM_ACT_GELU, 0 } });
  /* Row blocks of 144: the last one a single row. */
  check_shape (check, &(Shape) { 145, 40, 300, 0, 0, 0, 1, { SM_ACT_RELU, 0 } });
}

/* Splitting the work into disjoint tile ranges, as the worker threads do,
 * must give exactly the same bits as one call over everything. */
static void
check_tile_ranges (KernelCheck *check)
{
  const size_t m = 29, n = 83, k = 300;
  const size_t panels = sm_f32_packed_n_panels (n);
  float *a = alloc_floats (m * k), *w = alloc_floats (k * n), *bias = alloc_floats (n);
  float *whole = alloc_floats (m * n), *split = alloc_floats (m * n);
  float *packed = alloc_packed (k, n);
  SmGemmArgs args = {
    .m = m, .n = n, .k = k, .a = a, .lda = k, .w = packed, .bias = bias,
    .c = whole, .ldc = n, .act = { SM_ACT_TANH, 0 },
  };

  check->random_state = 42;
  fill_random (check, a, m * k, -1, 1);
  fill_random (check, w, k * n, -1, 1);
  fill_random (check, bias, n, -1, 1);
  sm_f32_pack_weights (w, n, k, n, packed);

  run_gemm (check->kernels, &args, 0, m, 0, panels);
  args.c = split;
  run_gemm (check->kernels, &args, 0, 11, 0, 2);
  run_gemm (check->kernels, &args, 11, m, 0, 2);
  run_gemm (check->kernels, &args, 0, 5, 2, panels);
  run_gemm (check->kernels, &args, 5, m, 2, panels);

  EXPECT (check, memcmp (whole, split, m * n * sizeof (float)) == 0,
          "%s: tile ranges differ from one call", check->kernels->name);
  free (a);
  free (w);
  free (bias);
  free (whole);
  free (split);
  free (packed);
}

/* Reduced precision: GEMV with bfloat16 or int8 weights */

/* bfloat16 as sm-kernels.h specifies it: round to nearest, ties to even. */
static double
bf16_reference (float value)
{
  uint32_t bits;
  float rounded;

  memcpy (&bits, &value, sizeof bits);
  bits = (bits + 0x7fffu + ((bits >> 16) & 1)) & 0xffff0000u;
  memcpy (&rounded, &bits, sizeof rounded);
  return rounded;
}

/* int8 as sm-kernels.h specifies it: value / scale rounded half away from
 * zero, clamped to ±127, with the scale's inverse taken in float. */
static int
q8_reference (float value,
              float inverse)
{
  float q = value * inverse;

  q = q > 127.0f ? 127.0f : q < -127.0f ? -127.0f : q;
  return (int) (q < 0 ? q - 0.5f : q + 0.5f);
}

/* One shape through the gemv_bf16 or gemv_i8 kernel, against the same
 * arithmetic in double on the rounded or quantized values (tight), and
 * against the exact f32 product within what the rounding may cost
 * (loose); nothing written outside C. */
static void
check_reduced_shape (KernelCheck *check,
                     SmPrecision  precision,
                     const Shape *s)
{
  const SmKernels *kernels = check->kernels;
  size_t lda = s->k + s->lda_pad, ldc = s->n + s->ldc_pad, off = s->unaligned ? 1 : 0;
  float *a_buf = alloc_floats (s->m * lda + off), *a = a_buf + off;
  float *w = alloc_floats (s->k * s->n), *bias = alloc_floats (s->n), *scale = alloc_floats (s->n);
  float *c_buf = alloc_floats ((s->m + 1) * ldc + off), *c = c_buf + off;
  float *packed = alloc_packed (s->k, s->n);
  size_t bytes = (precision == SM_PRECISION_BF16 ? sm_bf16_packed_weights_size (s->k, s->n) * 2
                                                 : sm_i8_packed_weights_size (s->k, s->n));
  void *reduced = aligned_alloc (64, (bytes + 63) / 64 * 64);
  const char *name = precision == SM_PRECISION_BF16 ? "bf16" : "int8";
  double worst = 0, worst_rounding = 0;
  SmGemmArgs args = {
    .m = s->m, .n = s->n, .k = s->k, .a = a, .lda = lda, .bias = s->with_bias ? bias : NULL,
    .c = c, .ldc = ldc, .act = s->act, .precision = precision, .w_bf16 = reduced, .w_i8 = reduced,
    .w_scale = scale,
  };

  if (reduced == NULL)
    abort ();
  check->random_state = 2463534242u ^ (uint32_t) (s->m * 7919 + s->n * 104729 + s->k + precision);
  fill_random (check, a_buf, s->m * lda + off, -1, 1);
  fill_random (check, w, s->k * s->n, -1, 1);
  fill_random (check, bias, s->n, -1, 1);
  for (size_t i = 0; i < (s->m + 1) * ldc + off; i++)
    c_buf[i] = GUARD;
  sm_f32_pack_weights (w, s->n, s->k, s->n, packed);
  if (precision == SM_PRECISION_BF16)
    sm_bf16_pack_weights (packed, s->k, s->n, reduced);
  else
    sm_i8_pack_weights (packed, s->k, s->n, reduced, scale);

  (precision == SM_PRECISION_BF16 ? kernels->gemv_bf16 : kernels->gemv_i8) (&args, 0, s->m, 0,
                                                                            sm_f32_packed_n_panels (s->n));

  for (size_t i = 0; i <= s->m; i++)
    for (size_t j = 0; j < ldc; j++)
      {
        double sum = 0, magnitude = 0, exact = 0, rounding = 0, ref, err, bound;
        double b = s->with_bias ? bias[j % s->n] : 0;
        float top_w = 0, inverse_w;

        if (i == s->m || j >= s->n)
          {
            EXPECT (check, c[i * ldc + j] == GUARD, "%s %s wrote outside C at [%zu,%zu] (m=%zu n=%zu k=%zu)",
                    kernels->name, name, i, j, s->m, s->n, s->k);
            continue;
          }
        for (size_t kk = 0; kk < s->k; kk++)
          top_w = fmaxf (top_w, fabsf (w[kk * s->n + j]));
        EXPECT (check, precision != SM_PRECISION_INT8 || scale[j] == top_w / 127.0f,
                "%s int8 scale of column %zu is %g, not %g", kernels->name, j, scale[j], top_w / 127.0f);
        inverse_w = top_w > 0 ? 1.0f / (top_w / 127.0f) : 0.0f;
        for (size_t b0 = 0; b0 < s->k; b0 += SM_Q8_BLOCK)
          {
            size_t end = b0 + SM_Q8_BLOCK < s->k ? b0 + SM_Q8_BLOCK : s->k;
            float top_a = 0, inverse_a;
            double d, block = 0;

            for (size_t kk = b0; kk < end; kk++)
              top_a = fmaxf (top_a, fabsf (a[i * lda + kk]));
            d = top_a / 127.0f;
            inverse_a = top_a > 0 ? 127.0f / top_a : 0.0f;
            for (size_t kk = b0; kk < end; kk++)
              {
                float x = a[i * lda + kk], wv = w[kk * s->n + j];
                double term;

                exact += (double) x * wv;
                if (precision == SM_PRECISION_BF16)
                  {
                    term = x * bf16_reference (wv);
                    rounding += fabs (x * wv) / 256;   /* 2^-8 of each weight at most */
                  }
                else
                  {
                    int qa = q8_reference (x, inverse_a), qw = q8_reference (wv, inverse_w);

                    block += (double) qa * qw;
                    term = 0;
                    /* |x w − d qa · s qw| ≤ |x| s/2 + d/2 |s qw| */
                    rounding += fabs (x) * (top_w / 127.0) / 2 + d / 2 * fabs (qw * (top_w / 127.0));
                  }
                sum += term;
                magnitude += fabs ((double) x * wv);
              }
            if (precision == SM_PRECISION_INT8)
              sum += d * block * (top_w / 127.0f);
          }
        ref = act_double (s->act, sum + b);
        err = fabs (c[i * ldc + j] - ref);
        bound = 1e-6 * (magnitude + fabs (b)) + 2e-6 + 4 * FLT_EPSILON * fabs (ref);
        worst = fmax (worst, err / bound);
        EXPECT (check, err <= bound, "%s %s act=%d: C[%zu,%zu] = %.9g, reference %.9g (error %.3g > %.3g), m=%zu n=%zu k=%zu",
                kernels->name, name, s->act.kind, i, j, c[i * ldc + j], ref, err, bound, s->m, s->n, s->k);
        /* Against the exact product: only the identity keeps the bound's
         * shape. */
        if (s->act.kind == SM_ACT_IDENTITY)
          {
            double loose = rounding + bound;

            err = fabs (c[i * ldc + j] - (exact + b));
            worst_rounding = fmax (worst_rounding, err / loose);
            EXPECT (check, err <= loose, "%s %s: C[%zu,%zu] = %.9g, exact %.9g (error %.3g > %.3g from rounding)",
                    kernels->name, name, i, j, c[i * ldc + j], exact + b, err, loose);
          }
      }
  if (off)
    EXPECT (check, c_buf[0] == GUARD, "%s %s wrote before C", kernels->name, name);
  say (check, "%s %s m=%zu n=%zu k=%zu: worst error %.3f of the bound, %.3f of the rounding's",
       kernels->name, name, s->m, s->n, s->k, worst, worst_rounding);
  free (a_buf);
  free (w);
  free (bias);
  free (scale);
  free (c_buf);
  free (packed);
  free (reduced);
}

static void
check_reduced (KernelCheck *check,
               SmPrecision  precision)
{
  static const size_t ns[] = { 1, 7, 8, 9, 15, 16, 17, 33, 70 };
  /* Below, at and above a group of 4, a block of 32 activations and the K
   * block of 256. */
  static const size_t ks[] = { 1, 3, 4, 5, 31, 32, 33, 255, 256, 257, 300, 513, 1023 };

  for (size_t i = 0; i < N_ELEMENTS (ns); i++)
    check_reduced_shape (check, precision, &(Shape) { 1, ns[i], 45, 0, 0, 0, 1, { SM_ACT_IDENTITY, 0 } });
  for (size_t i = 0; i < N_ELEMENTS (ks); i++)
    check_reduced_shape (check, precision, &(Shape) { 1, 40, ks[i], 0, 0, 0, 1, { SM_ACT_IDENTITY, 0 } });
  for (SmActKind kind = 0; kind < SM_ACT_N_KINDS; kind++)
    if (kind != SM_ACT_SOFTMAX)
      check_reduced_shape (check, precision, &(Shape) { 2, 37, 300, 0, 0, 1, 1, { kind, 0.1f } });
  check_reduced_shape (check, precision, &(Shape) { 3, 33, 19, 5, 3, 1, 0, { SM_ACT_RELU, 0 } });
  check_reduced_shape (check, precision, &(Shape) { 1, 300, 600, 0, 0, 0, 1, { SM_ACT_IDENTITY, 0 } });
}

static void check_bf16_gemv (KernelCheck *check) { check_reduced (check, SM_PRECISION_BF16); }
static void check_i8_gemv (KernelCheck *check) { check_reduced (check, SM_PRECISION_INT8); }

/* Tile ranges, as worker threads split a GEMV, give the same bits as one
 * call, in both reduced precisions. */
static void
check_reduced_tile_ranges (KernelCheck *check)
{
  const size_t m = 3, n = 83, k = 600, panels = sm_f32_packed_n_panels (n);
  float *a = alloc_floats (m * k), *w = alloc_floats (k * n), *bias = alloc_floats (n), *scale = alloc_floats (n);
  float *whole = alloc_floats (m * n), *split = alloc_floats (m * n);
  float *packed = alloc_packed (k, n);
  uint16_t *bf16 = aligned_alloc (64, (sm_bf16_packed_weights_size (k, n) * 2 + 63) / 64 * 64);
  int8_t *i8 = aligned_alloc (64, (sm_i8_packed_weights_size (k, n) + 63) / 64 * 64);

  if (bf16 == NULL || i8 == NULL)
    abort ();
  check->random_state = 43;
  fill_random (check, a, m * k, -1, 1);
  fill_random (check, w, k * n, -1, 1);
  fill_random (check, bias, n, -1, 1);
  sm_f32_pack_weights (w, n, k, n, packed);
  sm_bf16_pack_weights (packed, k, n, bf16);
  sm_i8_pack_weights (packed, k, n, i8, scale);

  for (SmPrecision precision = SM_PRECISION_BF16; precision <= SM_PRECISION_INT8; precision++)
    {
      SmGemmFunc gemv = precision == SM_PRECISION_BF16 ? check->kernels->gemv_bf16 : check->kernels->gemv_i8;
      SmGemmArgs args = {
        .m = m, .n = n, .k = k, .a = a, .lda = k, .bias = bias, .c = whole, .ldc = n,
        .act = { SM_ACT_TANH, 0 }, .precision = precision, .w_bf16 = bf16, .w_i8 = i8, .w_scale = scale,
      };

      gemv (&args, 0, m, 0, panels);
      args.c = split;
      gemv (&args, 0, 1, 0, 2);
      gemv (&args, 1, m, 0, 2);
      gemv (&args, 0, 2, 2, panels);
      gemv (&args, 2, m, 2, panels);
      EXPECT (check, memcmp (whole, split, m * n * sizeof (float)) == 0,
              "%s %s: tile ranges differ from one call", check->kernels->name,
              precision == SM_PRECISION_BF16 ? "bf16" : "int8");
    }
  free (a);
  free (w);
  free (bias);
  free (scale);
  free (whole);
  free (split);
  free (packed);
  free (bf16);
  free (i8);
}

/* Element-wise */

static void
check_activation (KernelCheck *check,
                  SmActKind    kind)
{
  /* A dense grid over [-20, 20], values near zero, and magnitudes far
   * beyond, where the approximations must saturate. */
  static const float extra[] = { 0.0f, -0.0f, 1e-30f, -1e-30f, FLT_MIN, -FLT_MIN, 1e-45f,
                                 25, -25, 44, -44, 87, -87, 89, -89, 100, -100, 1e4f, -1e4f,
                                 1e30f, -1e30f, FLT_MAX, -FLT_MAX };
  const SmKernels *kernels = check->kernels;
  const size_t grid = 400001, n = grid + N_ELEMENTS (extra);
  float *x = alloc_floats (n + 1), *y = alloc_floats (n + 1);
  SmActivation act = { kind, 0.01f };
  double worst = 0;
  float worst_x = 0;

  for (size_t i = 0; i < grid; i++)
    x[i] = (float) (-20.0 + 40.0 * i / (grid - 1));
  memcpy (x + grid, extra, sizeof extra);

  /* Out of place, from an unaligned start. */
  kernels->activate (act, x, y + 1, n);
  for (size_t i = 0; i < n; i++)
    {
      double ref = act_double (act, x[i]);
      double err = fabs (y[i + 1] - ref);

      if (!isfinite (ref))
        continue;
      if (err / allowed_error (ref) > worst)
        {
          worst = err / allowed_error (ref);
          worst_x = x[i];
        }
      EXPECT (check, err <= allowed_error (ref), "%s act=%d: f(%.9g) = %.9g, reference %.17g, error %.3g > %.3g",
              kernels->name, kind, x[i], y[i + 1], ref, err, allowed_error (ref));
    }
  say (check, "%s activation %d: worst error %.3f of the allowance, at x = %g", kernels->name, kind, worst, worst_x);

  /* In place gives the same bits. */
  kernels->activate (act, x, x, n);
  EXPECT (check, memcmp (x, y + 1, n * sizeof (float)) == 0, "%s act=%d: in place differs", kernels->name, kind);
  free (x);
  free (y);
}

static void check_sigmoid (KernelCheck *check) { check_activation (check, SM_ACT_SIGMOID); }
static void check_tanh (KernelCheck *check) { check_activation (check, SM_ACT_TANH); }
static void check_gelu (KernelCheck *check) { check_activation (check, SM_ACT_GELU); }
static void check_relu (KernelCheck *check) { check_activation (check, SM_ACT_RELU); }
static void check_leaky_relu (KernelCheck *check) { check_activation (check, SM_ACT_LEAKY_RELU); }

/* The limits that no finite reference shows. */
static void
check_special_values (KernelCheck *check)
{
  static const struct {
    SmActKind kind;
    float     at_inf, at_minus_inf;
  } limits[] = {
    { SM_ACT_SIGMOID, 1.0f, 0.0f },
    { SM_ACT_TANH, 1.0f, -1.0f },
    { SM_ACT_GELU, INFINITY, 0.0f },
    { SM_ACT_RELU, INFINITY, 0.0f },
  };
  float x[] = { INFINITY, -INFINITY, NAN, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f };
  float y[N_ELEMENTS (x)];

  for (size_t i = 0; i < N_ELEMENTS (limits); i++)
    {
      check->kernels->activate ((SmActivation) { limits[i].kind, 0 }, x, y, N_ELEMENTS (x));
      EXPECT (check, y[0] == limits[i].at_inf && y[1] == limits[i].at_minus_inf,
              "%s act=%d: f(inf) = %g, f(-inf) = %g", check->kernels->name, limits[i].kind, y[0], y[1]);
      EXPECT (check, limits[i].kind == SM_ACT_RELU || isnan (y[2]),
              "%s act=%d: f(nan) = %g", check->kernels->name, limits[i].kind, y[2]);
    }
}

static void
check_tails_untouched (KernelCheck *check)
{
  for (size_t n = 0; n <= 40; n++)
    {
      float x[48], y[48];

      for (size_t i = 0; i < 48; i++)
        {
          x[i] = (float) i - 20;
          y[i] = 777.0f;
        }
      check->kernels->activate ((SmActivation) { SM_ACT_GELU, 0 }, x, y, n);
      check->kernels->scale (2.0f, x, y, 0);
      for (size_t i = n; i < 48; i++)
        EXPECT (check, y[i] == 777.0f, "%s: n=%zu wrote y[%zu]", check->kernels->name, n, i);
    }
}

static void
check_softmax (KernelCheck *check)
{
  static const size_t sizes[] = { 1, 2, 3, 7, 8, 9, 15, 16, 17, 33, 64, 127, 1000 };

  check->random_state = 5;
  for (size_t s = 0; s < N_ELEMENTS (sizes); s++)
    for (int variant = 0; variant < 3; variant++)
      {
        size_t n = sizes[s];
        float *x = alloc_floats (n), *y = alloc_floats (n);
        double max = -INFINITY, sum = 0, total = 0;

        /* Plain; shifted far up (overflows without the max trick); with -inf. */
        fill_random (check, x, n, -20, 20);
        if (variant == 1)
          for (size_t i = 0; i < n; i++)
            x[i] += 1000.0f;
        if (variant == 2 && n > 1)
          x[n / 2] = -INFINITY;

        for (size_t i = 0; i < n; i++)
          max = fmax (max, x[i]);
        for (size_t i = 0; i < n; i++)
          sum += exp ((double) x[i] - max);

        check->kernels->softmax (x, y, n);
        for (size_t i = 0; i < n; i++)
          {
            double ref = exp ((double) x[i] - max) / sum;

            EXPECT (check, isfinite (y[i]) && fabs (y[i] - ref) <= allowed_error (ref),
                    "%s softmax n=%zu variant %d: [%zu] = %g, reference %g", check->kernels->name, n, variant, i,
                    y[i], ref);
            total += y[i];
          }
        EXPECT (check, fabs (total - 1.0) <= 1e-5, "%s softmax n=%zu: sums to %.9g", check->kernels->name, n, total);

        /* In place. */
        check->kernels->softmax (x, x, n);
        EXPECT (check, memcmp (x, y, n * sizeof (float)) == 0, "%s softmax n=%zu: in place differs",
                check->kernels->name, n);
        free (x);
        free (y);
      }
}

static void
check_reductions (KernelCheck *check)
{
  static const size_t sizes[] = { 0, 1, 3, 7, 8, 9, 17, 31, 32, 33, 127, 257, 1023, 4096 };

  check->random_state = 9;
  for (size_t s = 0; s < N_ELEMENTS (sizes); s++)
    {
      size_t n = sizes[s];
      float *a = alloc_floats (n + 1), *b = alloc_floats (n + 1);
      double dot = 0, sum = 0, magnitude = 0, abs_sum = 0;

      fill_random (check, a, n + 1, -1, 1);
      fill_random (check, b, n + 1, -1, 1);
      for (size_t i = 0; i < n; i++)
        {
          dot += (double) a[i + 1] * b[i];
          magnitude += fabs ((double) a[i + 1] * b[i]);
          sum += a[i + 1];
          abs_sum += fabs (a[i + 1]);
        }

      /* Unaligned: a + 1.  Any summation order is fine within n·ε. */
      EXPECT (check, fabs (check->kernels->dot (a + 1, b, n) - dot) <= 1e-6 + n * FLT_EPSILON * magnitude,
              "%s dot n=%zu", check->kernels->name, n);
      EXPECT (check, fabs (check->kernels->sum (a + 1, n) - sum) <= 1e-6 + n * FLT_EPSILON * abs_sum,
              "%s sum n=%zu", check->kernels->name, n);
      free (a);
      free (b);
    }
}

static void
check_elementwise (KernelCheck *check)
{
  const SmKernels *kernels = check->kernels;
  const size_t n = 1027;
  float *x = alloc_floats (n), *y = alloc_floats (n), *z = alloc_floats (n), *y0 = alloc_floats (n);

  check->random_state = 3;
  fill_random (check, x, n, -100, 100);
  fill_random (check, y0, n, -100, 100);

  /* Each result is one rounding (two for axpy without FMA) of the exact one. */
  memcpy (y, y0, n * sizeof (float));
  kernels->axpy (0.37f, x + 1, y + 2, n - 2);
  for (size_t i = 0; i < n - 2; i++)
    {
      double ref = (double) y0[i + 2] + (double) 0.37f * x[i + 1];

      EXPECT (check, fabs (y[i + 2] - ref) <= 2 * FLT_EPSILON * (fabs (ref) + fabs (0.37 * x[i + 1])),
              "%s axpy [%zu] = %.9g, reference %.9g", kernels->name, i, y[i + 2], ref);
    }
  EXPECT (check, y[0] == y0[0] && y[1] == y0[1], "%s axpy wrote before its start", kernels->name);

  kernels->add (x, y0, z, n);
  for (size_t i = 0; i < n; i++)
    EXPECT (check, z[i] == x[i] + y0[i], "%s add [%zu]", kernels->name, i);

  kernels->scale (-3.0f, x, z, n);
  for (size_t i = 0; i < n; i++)
    EXPECT (check, z[i] == -3.0f * x[i], "%s scale [%zu]", kernels->name, i);
  free (x);
  free (y);
  free (z);
  free (y0);
}

static void
check_argmax (KernelCheck *check)
{
  const SmKernels *kernels = check->kernels;
  float nans[9] = { NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN };
  float max;

  for (size_t n = 1; n <= 70; n++)
    for (size_t where = 0; where < n; where += 3)
      {
        float x[70];
        size_t got;

        for (size_t i = 0; i < n; i++)
          x[i] = -(float) ((i * 37) % 11);
        x[where] = 5.0f;
        /* A later tie must not win; NaNs are skipped. */
        if (where + 1 < n)
          x[n - 1] = 5.0f;
        if (where > 0)
          x[0] = NAN;

        got = kernels->argmax (x, n, &max);
        EXPECT (check, got == where && max == 5.0f, "%s argmax n=%zu: %zu (%g), expected %zu",
                kernels->name, n, got, max, where);
        EXPECT (check, kernels->argmax (x, n, NULL) == sm_kernels_generic.argmax (x, n, NULL),
                "%s argmax n=%zu without max differs from generic", kernels->name, n);
      }

  EXPECT (check, kernels->argmax (NULL, 0, &max) == 0 && max == -INFINITY, "%s argmax of nothing", kernels->name);
  EXPECT (check, kernels->argmax (nans, 9, &max) == 0 && max == -INFINITY, "%s argmax of NaNs", kernels->name);
}

/* Every one of the 65536 half-precision values, against the exact value
 * computed in double. */
static void
check_f16 (KernelCheck *check)
{
  uint16_t *h = calloc (65536 + 3, sizeof (uint16_t));
  float *f = alloc_floats (65536 + 3);

  for (uint32_t i = 0; i < 65536; i++)
    h[i + 1] = (uint16_t) i;
  check->kernels->f16_to_f32 (h + 1, f + 1, 65536);

  for (uint32_t i = 0; i < 65536; i++)
    {
      int exponent = (i >> 10) & 0x1f, mantissa = i & 0x3ff;
      double sign = (i & 0x8000) ? -1 : 1;
      float got = f[i + 1];
      int ok;

      if (exponent == 0x1f)
        ok = mantissa == 0 ? got == sign * INFINITY : isnan (got);
      else if (exponent == 0)
        ok = got == sign * ldexp (mantissa, -24);
      else
        ok = got == sign * ldexp (1024 + mantissa, exponent - 25);
      ok = ok && !!signbit (got) == !!(i & 0x8000);
      EXPECT (check, ok, "%s f16 0x%04x gave %g", check->kernels->name, i, got);
    }
  free (h);
  free (f);
}

static void
check_bf16 (KernelCheck *check)
{
  uint16_t *h = calloc (65536, sizeof (uint16_t));
  float *f = alloc_floats (65536);

  for (uint32_t i = 0; i < 65536; i++)
    h[i] = (uint16_t) i;
  check->kernels->bf16_to_f32 (h, f, 65536);

  /* bfloat16 is the top half of a float, bit for bit (NaN payloads too). */
  for (uint32_t i = 0; i < 65536; i++)
    {
      uint32_t bits;

      memcpy (&bits, &f[i], sizeof bits);
      EXPECT (check, bits == i << 16, "%s bf16 0x%04x gave 0x%08x", check->kernels->name, i, bits);
    }
  free (h);
  free (f);
}

/* Every op of the list (sm-kernel-ops.inc) is wired to this set's own
 * kernel: the list, not a table written by hand, says what a set has. */
static void
check_table (KernelCheck *check)
{
  const SmKernels *kernels = check->kernels;
  SmKernels listed = { 0 };

  if (strcmp (kernels->name, "generic") == 0)
    {
#define SM_KERNEL_OP(field, stem, ret, params) listed.field = sm_##stem##__generic;
#include "sm-kernel-ops.inc"
#undef SM_KERNEL_OP
    }
#if defined(__x86_64__)
  else if (strcmp (kernels->name, "avx2") == 0)
    {
#define SM_KERNEL_OP(field, stem, ret, params) listed.field = sm_##stem##__avx2;
#include "sm-kernel-ops.inc"
#undef SM_KERNEL_OP
    }
  else if (strcmp (kernels->name, "avx512") == 0)
    {
#define SM_KERNEL_OP(field, stem, ret, params) listed.field = sm_##stem##__avx512;
#include "sm-kernel-ops.inc"
#undef SM_KERNEL_OP
    }
#endif
#if defined(__aarch64__)
  else if (strcmp (kernels->name, "neon") == 0)
    {
#define SM_KERNEL_OP(field, stem, ret, params) listed.field = sm_##stem##__neon;
#include "sm-kernel-ops.inc"
#undef SM_KERNEL_OP
    }
#endif
  else
    {
      EXPECT (check, 0, "unknown kernel set %s", kernels->name);
      return;
    }

#define SM_KERNEL_OP(field, stem, ret, params) \
  EXPECT (check, kernels->field != NULL && kernels->field == listed.field, "%s: %s is not sm_%s__%s", \
          kernels->name, #field, #stem, kernels->name);
#include "sm-kernel-ops.inc"
#undef SM_KERNEL_OP
}

const KernelCheckCase kernel_check_cases[] = {
  { "gemm", "tail-m", check_tail_m },
  { "gemm", "tail-n", check_tail_n },
  { "gemm", "tail-k", check_tail_k },
  { "gemm", "strides-unaligned", check_strides },
  { "gemm", "activations", check_gemm_activations },
  { "gemm", "large", check_large },
  { "gemm", "tile-ranges", check_tile_ranges },
  { "gemv-reduced", "bf16", check_bf16_gemv },
  { "gemv-reduced", "int8", check_i8_gemv },
  { "gemv-reduced", "tile-ranges", check_reduced_tile_ranges },
  { "vmath", "table", check_table },
  { "vmath", "sigmoid", check_sigmoid },
  { "vmath", "tanh", check_tanh },
  { "vmath", "gelu", check_gelu },
  { "vmath", "relu", check_relu },
  { "vmath", "leaky-relu", check_leaky_relu },
  { "vmath", "special-values", check_special_values },
  { "vmath", "tails-untouched", check_tails_untouched },
  { "vmath", "softmax", check_softmax },
  { "vmath", "reductions", check_reductions },
  { "vmath", "elementwise", check_elementwise },
  { "vmath", "argmax", check_argmax },
  { "vmath", "f16-to-f32", check_f16 },
  { "vmath", "bf16-to-f32", check_bf16 },
};

const size_t kernel_check_n_cases = N_ELEMENTS (kernel_check_cases);

unsigned
kernel_check_run (const KernelCheckCase *test_case,
                  const SmKernels       *kernels,
                  void                 (*say_line) (void *data, const char *line),
                  void                  *say_data)
{
  KernelCheck check = {
    .kernels = kernels,
    .say = say_line,
    .say_data = say_data,
    .random_state = 2463534242u,
  };

  test_case->run (&check);
  if (check.failures > MAX_FAILURES_SHOWN)
    say (&check, "… and %u more failures", check.failures - MAX_FAILURES_SHOWN);
  return check.failures;
}
