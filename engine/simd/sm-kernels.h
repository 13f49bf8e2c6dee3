/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* The kernel contract, shared by every instruction set.  This header and the
 * kernels use only the C library, not GLib, so that the very same files can
 * be cross-built and checked on another architecture (tests/simd-cross/). */

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Columns per packed weight panel, and rows per K block.  They are the same
 * for every instruction set, so packed weights stay valid when the engine
 * switches kernels live. */
#define SM_GEMM_NR 16
#define SM_GEMM_KC 256

typedef enum {
  SM_ACT_IDENTITY,
  SM_ACT_RELU,
  SM_ACT_LEAKY_RELU,  /* x < 0 ? alpha * x : x */
  SM_ACT_SIGMOID,
  SM_ACT_TANH,
  SM_ACT_GELU,        /* the tanh form: x/2 * (1 + tanh (sqrt (2/pi) * (x + 0.044715 x^3))) */
  SM_ACT_SOFTMAX,     /* row-wise; never fused into a GEMM tile (it needs whole rows) */
  SM_ACT_N_KINDS
} SmActKind;

typedef struct
{
  SmActKind kind;
  float     alpha;    /* the slope of SM_ACT_LEAKY_RELU; ignored otherwise */
} SmActivation;

/* How weights are stored.  bf16 halves the bytes a batch of one reads
 * (each weight widened in the inner loop); int8 quarters them, with one
 * scale per output, and multiplies in integers against activations
 * quantized per SM_Q8_BLOCK values of K (ggml's Q8_0 scheme). */
typedef enum {
  SM_PRECISION_F32,
  SM_PRECISION_BF16,
  SM_PRECISION_INT8,
  SM_PRECISION_N_KINDS
} SmPrecision;

#define SM_Q8_BLOCK 32

/* C[m×n] = act (A[m×k] · W[k×n] + bias).  A and C are row-major with leading
 * dimensions lda ≥ k and ldc ≥ n; W is packed by sm_f32_pack_weights(), or
 * in a reduced precision by sm_bf16_pack_weights() or sm_i8_pack_weights()
 * for the gemv_bf16 and gemv_i8 kernels. */
typedef struct
{
  size_t          m, n, k;
  const float    *a;
  size_t          lda;
  const float    *w;        /* packed panels, 64-byte aligned */
  const float    *bias;     /* n values, or NULL for none */
  float          *c;
  size_t          ldc;
  SmActivation    act;      /* any kind but SM_ACT_SOFTMAX */
  SmPrecision     precision;  /* which of the weights below: f32 by default */
  const uint16_t *w_bf16;   /* SM_PRECISION_BF16, 64-byte aligned */
  const int8_t   *w_i8;     /* SM_PRECISION_INT8, 64-byte aligned */
  const float    *w_scale;  /* SM_PRECISION_INT8: n scales, W = w_i8 × scale */
} SmGemmArgs;

/* Computes the rows [m_start, m_end) and the panels [panel_start, panel_end)
 * of C (panel p covers columns p·16 … p·16+15): disjoint ranges can run on
 * different threads at once. */
typedef void   (*SmGemmFunc)     (const SmGemmArgs *args,
                                  size_t            m_start,
                                  size_t            m_end,
                                  size_t            panel_start,
                                  size_t            panel_end);
/* One instruction set's kernels: the dispatch table.  An entry may point to
 * the generic version where a vector one would not pay. */
typedef struct
{
  const char    *name;        /* "generic", "avx2", "avx512", "neon" */
  int            is_vector;   /* counts its FLOPs as vector work */
  unsigned       gemm_mr;     /* rows per GEMM tile */
  SmGemmFunc     gemm;
  SmGemmFunc     gemv;        /* the same contract, tuned for m == 1 */
  /* The same contract with reduced-precision weights, a row at a time
   * (for batches of one, where the weights' bytes set the pace). */
  SmGemmFunc     gemv_bf16;
  SmGemmFunc     gemv_i8;
  /* The element-wise ops (sm-kernel-ops.inc): function pointers. */
#define SM_KERNEL_OP(field, stem, ret, params) ret (*field) params;
#include "sm-kernel-ops.inc"
#undef SM_KERNEL_OP
} SmKernels;

/* Packed layout: W is cut into K blocks of SM_GEMM_KC rows (the last one
 * shorter), each block into panels of SM_GEMM_NR columns (the last one
 * zero-padded); a panel's rows of one block are contiguous, and so are the
 * panels of one block.  A kernel sweeping all panels of one K block — the
 * inner loops of every GEMM here — thus reads one sequential stream, which
 * prefetchers and the TLB handle far better than panel-major strides. */
static inline size_t
sm_f32_packed_n_panels (size_t n)
{
  return (n + SM_GEMM_NR - 1) / SM_GEMM_NR;
}

/* Where the rows [k0, k0 + min (SM_GEMM_KC, k - k0)) of panel p start, in
 * elements; k0 is a multiple of SM_GEMM_KC. */
static inline size_t
sm_packed_block_offset (size_t k,
                        size_t n,
                        size_t k0,
                        size_t p)
{
  size_t kc = k - k0 < SM_GEMM_KC ? k - k0 : SM_GEMM_KC;

  return k0 * sm_f32_packed_n_panels (n) * SM_GEMM_NR + p * kc * SM_GEMM_NR;
}

static inline const float *
sm_f32_packed_block (const float *w,
                     size_t       k,
                     size_t       n,
                     size_t       k0,
                     size_t       p)
{
  return w + sm_packed_block_offset (k, n, k0, p);
}

size_t sm_f32_packed_weights_size (size_t k, size_t n);   /* in floats */
void   sm_f32_pack_weights        (const float *w,
                                   size_t       ldw,
                                   size_t       k,
                                   size_t       n,
                                   float       *packed);

/* bfloat16 weights: the f32 layout, element for element, rounded to
 * nearest even (NaN stays NaN). */
size_t sm_bf16_packed_weights_size (size_t k, size_t n);   /* in uint16 */
static inline const uint16_t *
sm_bf16_packed_block (const uint16_t *w,
                      size_t          k,
                      size_t          n,
                      size_t          k0,
                      size_t          p)
{
  return w + sm_packed_block_offset (k, n, k0, p);
}
void   sm_bf16_pack_weights       (const float *packed_f32,
                                   size_t       k,
                                   size_t       n,
                                   uint16_t    *packed);
/* bf16 weights, row-major k×n with leading dimension @ldw, packed as they
 * are: a BF16 model loaded without widening. */
void   sm_bf16_pack_bf16          (const uint16_t *w,
                                   size_t          ldw,
                                   size_t          k,
                                   size_t          n,
                                   uint16_t       *packed);

/* int8 weights: the same K blocks and panels, each block's rows padded
 * with zeros to a multiple of 4 and stored four rows of a column together
 * (a panel's group of 4 rows is 16 columns × 4 bytes), the order integer
 * dot products read.  W[k][j] ≈ q[k][j] × scale[j], scale[j] = max |W[·][j]|
 * / 127, q in −127 … 127. */
static inline size_t
sm_i8_block_rows (size_t k,
                  size_t k0)
{
  size_t kc = k - k0 < SM_GEMM_KC ? k - k0 : SM_GEMM_KC;

  return (kc + 3) & ~(size_t) 3;
}

static inline const int8_t *
sm_i8_packed_block (const int8_t *w,
                    size_t        k,
                    size_t        n,
                    size_t        k0,
                    size_t        p)
{
  return w + k0 * sm_f32_packed_n_panels (n) * SM_GEMM_NR + p * sm_i8_block_rows (k, k0) * SM_GEMM_NR;
}

size_t sm_i8_packed_weights_size  (size_t k, size_t n);    /* in bytes */
void   sm_i8_pack_weights         (const float *packed_f32,
                                   size_t       k,
                                   size_t       n,
                                   int8_t      *packed,
                                   float       *scale);

/* An activation row quantized as int8 kernels read it: per block of
 * SM_Q8_BLOCK values, d = max |x| / 127 and q = round (x / d); @q holds
 * k rounded up to the block (zeros past k), @d one scale per block. */
void   sm_q8_quantize_row         (const float *x,
                                   size_t       k,
                                   int8_t      *q,
                                   float       *d);

extern const SmKernels sm_kernels_generic;
#if defined(__x86_64__)
extern const SmKernels sm_kernels_avx2;
extern const SmKernels sm_kernels_avx512;
extern const SmKernels sm_kernels_avx512_vnni;   /* the same, its int8 GEMV with AVX512-VNNI */
#endif
#if defined(__aarch64__)
extern const SmKernels sm_kernels_neon;
#endif

#ifdef __cplusplus
}
#endif
