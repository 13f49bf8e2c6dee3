#version 450
// Row-wise softmax in place, numerically stable (the row's maximum is
// subtracted first): one workgroup per row, reductions in shared memory.

#extension GL_GOOGLE_include_directive : require
#include "sm-args.glsl"

layout (local_size_x = 256) in;

layout (std430, binding = 2) buffer Out { float c[]; };

shared float partial[256];

void main ()
{
  uint row = gl_WorkGroupID.x;
  uint t = gl_LocalInvocationID.x;
  uint base = row * args.ldc;
  float largest = uintBitsToFloat (0xff800000u);   // -infinity
  float sum = 0.0;

  for (uint i = t; i < args.n; i += 256u)
    largest = max (largest, c[base + i]);
  partial[t] = largest;
  barrier ();
  for (uint s = 128u; s > 0u; s >>= 1)
    {
      if (t < s)
        partial[t] = max (partial[t], partial[t + s]);
      barrier ();
    }
  largest = partial[0];
  barrier ();

  for (uint i = t; i < args.n; i += 256u)
    {
      float e = exp (c[base + i] - largest);

      c[base + i] = e;
      sum += e;
    }
  partial[t] = sum;
  barrier ();
  for (uint s = 128u; s > 0u; s >>= 1)
    {
      if (t < s)
        partial[t] += partial[t + s];
      barrier ();
    }
  sum = partial[0];

  for (uint i = t; i < args.n; i += 256u)
    c[base + i] /= sum;
}
