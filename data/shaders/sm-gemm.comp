#version 450
// C = act (A · W + bias), tiled: each workgroup computes a TS×TS tile of C
// through shared memory, each invocation WPT×WPT outputs of it kept in
// registers.  Tile sizes are specialisation constants (the host builds a
// 64-wide, 4×4 pipeline and a 128-wide, 8×8 one for large products), odd
// shapes are padded with zeros at the edges.  The next tile's elements are
// loaded into registers while the current one is multiplied, so that the
// arithmetic hides the memory's latency.  The tiles are read from shared
// memory four words at a time (vec4): per depth step an invocation does
// 2 · WPT / 4 reads for WPT² FMAs, where scalar reads would make the
// shared memory, not the arithmetic, the limit.  The activations and their forms
// are the CPU kernels' (engine/simd/sm-vmath-generic.h).

#extension GL_GOOGLE_include_directive : require
#include "sm-args.glsl"

layout (constant_id = 0) const uint TS = 64u;    // tile side
layout (constant_id = 1) const uint WPT = 4u;    // outputs per invocation, each way
layout (constant_id = 2) const uint TK = 16u;    // tile depth
// The workgroup is (TS / WPT)²: the host sets both to TS / WPT.
layout (local_size_x_id = 3, local_size_y_id = 4) in;

layout (std430, binding = 0) readonly buffer In { float a[]; };
layout (std430, binding = 1) readonly buffer Weights { float w[]; };
layout (std430, binding = 2) writeonly buffer Out { float c[]; };

const uint SIDE = TS / WPT;
const uint THREADS = SIDE * SIDE;
const uint LOADS = TK * TS / THREADS;   // elements of each tile an invocation loads (the host checks it divides)
// A's tile is stored with depth varying fastest across invocations: four
// spare words per row spread their words over the banks (16-way conflicts
// without them, 2-way with) and keep every row's vec4s aligned.
const uint A_STRIDE = TS + 4u;

shared vec4 a_tile[TK * A_STRIDE / 4u];   // [depth][row]
shared vec4 w_tile[TK * TS / 4u];         // [depth][column]

// An invocation's WPT rows (and columns) are WPT / 4 runs of four, the
// runs SIDE · 4 apart: neighbouring invocations read neighbouring vec4s
// (no bank conflicts) and store neighbouring outputs.
uint owned (uint me, uint i)
{
  return (i / 4u) * SIDE * 4u + me * 4u + i % 4u;
}

#include "sm-gemm-common.glsl"

// Element @e of A's tile at depth @t: A along its rows (k fastest).
float a_element (uint t, uint row0, uint e)
{
  uint gr = row0 + e / TK, ga = t + e % TK;

  return gr < args.m && ga < args.k ? a[gr * args.lda + ga] : 0.0;
}

// Element @e of W's tile at depth @t: along its panel rows (columns fastest).
float w_element (uint t, uint col0, uint e)
{
  uint gc = col0 + e % TS, gw = t + e / TS;

  return gc < args.n && gw < args.k ? packed_w (gw, gc) : 0.0;
}

void main ()
{
  uint tx = gl_LocalInvocationID.x;
  uint ty = gl_LocalInvocationID.y;
  uint tid = ty * SIDE + tx;
  uint row0 = gl_WorkGroupID.y * TS;
  uint col0 = gl_WorkGroupID.x * TS;
  float acc[WPT][WPT];
  float a_next[LOADS];
  float w_next[LOADS];

  for (uint i = 0u; i < WPT; i++)
    for (uint j = 0u; j < WPT; j++)
      acc[i][j] = 0.0;
  for (uint l = 0u; l < LOADS; l++)
    {
      a_next[l] = a_element (0u, row0, tid + l * THREADS);
      w_next[l] = w_element (0u, col0, tid + l * THREADS);
    }

  for (uint t = 0u; t < args.k; t += TK)
    {
      for (uint l = 0u; l < LOADS; l++)
        {
          uint e = tid + l * THREADS;

          uint at = (e % TK) * A_STRIDE + e / TK;

          a_tile[at / 4u][at % 4u] = a_next[l];
          w_tile[e / 4u][e % 4u] = w_next[l];
        }
      barrier ();

      if (t + TK < args.k)
        for (uint l = 0u; l < LOADS; l++)
          {
            a_next[l] = a_element (t + TK, row0, tid + l * THREADS);
            w_next[l] = w_element (t + TK, col0, tid + l * THREADS);
          }

      for (uint d = 0u; d < TK; d++)
        {
          float a_reg[WPT];
          float w_reg[WPT];

          for (uint q = 0u; q < WPT / 4u; q++)
            {
              vec4 a4 = a_tile[(d * A_STRIDE + owned (ty, 4u * q)) / 4u];
              vec4 w4 = w_tile[(d * TS + owned (tx, 4u * q)) / 4u];

              for (uint i = 0u; i < 4u; i++)
                {
                  a_reg[4u * q + i] = a4[i];
                  w_reg[4u * q + i] = w4[i];
                }
            }
          for (uint i = 0u; i < WPT; i++)
            for (uint j = 0u; j < WPT; j++)
              acc[i][j] = fma (a_reg[i], w_reg[j], acc[i][j]);
        }
      barrier ();
    }

  for (uint i = 0u; i < WPT; i++)
    for (uint j = 0u; j < WPT; j++)
      {
        uint r = row0 + owned (ty, i);
        uint col = col0 + owned (tx, j);

        if (r < args.m && col < args.n)
          c[r * args.ldc + col] = activate (acc[i][j] + (args.has_bias != 0u ? w[args.bias_offset + col] : 0.0));
      }
}
