#version 450
// C = act (A · W + bias) on tensor cores, through cooperative matrices:
// A and W are rounded to fp16 as they are staged in shared memory, the
// products summed in fp32.  A workgroup of four 32-wide subgroups computes
// a 64×64 tile of C, each subgroup a 32×32 quarter as 2×2 16×16×16
// matrices; the sums go through shared memory to add the bias and apply the
// activation element by element.  Used only where the device offers 16×16×16
// fp16 × fp16 + fp32 matrices in subgroup scope with 32-wide subgroups, the
// engine's weights are not f32, and a check at device open agreed with the
// FP32 shader (engine/gpu/sm-gpu.c).
//
// Two dialects, NV and KHR (sm-coop.glsl); the device's extensions pick one
// at run time.

#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#include "sm-coop.glsl"

#include "sm-args.glsl"

layout (local_size_x = 128) in;

layout (std430, binding = 0) readonly buffer In { float a[]; };
layout (std430, binding = 1) readonly buffer Weights { float w[]; };
layout (std430, binding = 2) writeonly buffer Out { float c[]; };

#include "sm-gemm-common.glsl"

const uint TILE = 64u;
const uint TK = 16u;
// Row strides in elements, padded; each a multiple of 16 bytes, as
// cooperative loads and stores from shared memory need.
const uint A_STRIDE = TK + 8u;
const uint W_STRIDE = TILE + 8u;
const uint C_STRIDE = TILE + 4u;

shared float16_t a_tile[TILE * A_STRIDE];   // [row][depth]
shared float16_t w_tile[TK * W_STRIDE];     // [depth][column]
shared float c_tile[TILE * C_STRIDE];       // [row][column]

void main ()
{
  uint tid = gl_LocalInvocationID.x;
  uint quarter_row = (gl_SubgroupID / 2u) * 32u;
  uint quarter_col = (gl_SubgroupID % 2u) * 32u;
  uint row0 = gl_WorkGroupID.y * TILE;
  uint col0 = gl_WorkGroupID.x * TILE;
  SUMS sums[2][2];

  for (uint i = 0u; i < 2u; i++)
    for (uint j = 0u; j < 2u; j++)
      sums[i][j] = SUMS (0.0);

  for (uint t = 0u; t < args.k; t += TK)
    {
      for (uint e = tid; e < TILE * TK; e += 128u)
        {
          // A along its rows (k fastest), W along its panel rows.
          uint r = e / TK, d = e % TK;
          uint wd = e / TILE, wc = e % TILE;
          uint gr = row0 + r, ga = t + d;
          uint gc = col0 + wc, gw = t + wd;

          a_tile[r * A_STRIDE + d] = float16_t (gr < args.m && ga < args.k ? a[gr * args.lda + ga] : 0.0);
          w_tile[wd * W_STRIDE + wc] = float16_t (gc < args.n && gw < args.k ? packed_w (gw, gc) : 0.0);
        }
      barrier ();

      {
        MATRIX_A a_part[2];
        MATRIX_W w_part[2];

        for (uint i = 0u; i < 2u; i++)
          LOAD (a_part[i], a_tile, (quarter_row + i * 16u) * A_STRIDE, A_STRIDE);
        for (uint j = 0u; j < 2u; j++)
          LOAD (w_part[j], w_tile, quarter_col + j * 16u, W_STRIDE);
        for (uint i = 0u; i < 2u; i++)
          for (uint j = 0u; j < 2u; j++)
            sums[i][j] = MUL_ADD (a_part[i], w_part[j], sums[i][j]);
      }
      barrier ();
    }

  for (uint i = 0u; i < 2u; i++)
    for (uint j = 0u; j < 2u; j++)
      STORE (sums[i][j], c_tile, (quarter_row + i * 16u) * C_STRIDE + quarter_col + j * 16u, C_STRIDE);
  barrier ();

  for (uint e = tid; e < TILE * TILE; e += 128u)
    {
      uint r = row0 + e / TILE, col = col0 + e % TILE;

      if (r < args.m && col < args.n)
        c[r * args.ldc + col] = activate (c_tile[(e / TILE) * C_STRIDE + e % TILE]
                                          + (args.has_bias != 0u ? w[args.bias_offset + col] : 0.0));
    }
}
