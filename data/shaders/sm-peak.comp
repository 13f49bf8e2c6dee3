#version 450
// The device's FP32 ceiling, measured rather than taken from a data
// sheet: each invocation runs eight independent FMA chains for args.k
// steps, with a multiplier and addend the compiler cannot know (push
// constants), and writes their sum so that none is dropped.  16 FLOP a
// step per invocation.

#extension GL_GOOGLE_include_directive : require
#include "sm-args.glsl"

layout (local_size_x = 256) in;

layout (std430, binding = 2) buffer Out { float c[]; };

void main ()
{
  uint id = gl_GlobalInvocationID.x;
  float x = args.alpha, y = 1.0 - args.alpha;
  float a0 = float (id & 255u) * 1e-3, a1 = a0 + 0.1, a2 = a0 + 0.2, a3 = a0 + 0.3;
  float a4 = a0 + 0.4, a5 = a0 + 0.5, a6 = a0 + 0.6, a7 = a0 + 0.7;

  for (uint i = 0u; i < args.k; i++)
    {
      a0 = fma (a0, x, y);
      a1 = fma (a1, x, y);
      a2 = fma (a2, x, y);
      a3 = fma (a3, x, y);
      a4 = fma (a4, x, y);
      a5 = fma (a5, x, y);
      a6 = fma (a6, x, y);
      a7 = fma (a7, x, y);
    }
  c[id] = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7));
}
