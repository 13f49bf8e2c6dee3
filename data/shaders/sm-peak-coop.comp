#version 450
// The tensor cores' ceiling, measured like the FP32 one (sm-peak.comp):
// each 32-wide subgroup runs four independent chains of 16×16×16 fp16
// products summed in fp32 for args.k steps, on operands the compiler
// cannot know (push constants), and stores each so that none is dropped
// (their sum would be fewer stores, but Debian 12's spirv-opt crashes on
// an addition of NV matrices).  4 subgroups × 4 chains × 8192 FLOP a step
// per workgroup; 4096 floats out per workgroup.

#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#include "sm-coop.glsl"
#include "sm-args.glsl"

layout (local_size_x = 128) in;

layout (std430, binding = 2) buffer Out { float c[]; };

void main ()
{
  uint subgroup = gl_WorkGroupID.x * gl_NumSubgroups + gl_SubgroupID;
  MATRIX_A a = MATRIX_A (float16_t (args.alpha));
  MATRIX_W w = MATRIX_W (float16_t (1.0 - args.alpha));
  SUMS s0 = SUMS (0.0), s1 = SUMS (0.1), s2 = SUMS (0.2), s3 = SUMS (0.3);

  for (uint i = 0u; i < args.k; i++)
    {
      s0 = MUL_ADD (a, w, s0);
      s1 = MUL_ADD (a, w, s1);
      s2 = MUL_ADD (a, w, s2);
      s3 = MUL_ADD (a, w, s3);
    }
  STORE (s0, c, subgroup * 1024u, 16u);
  STORE (s1, c, subgroup * 1024u + 256u, 16u);
  STORE (s2, c, subgroup * 1024u + 512u, 16u);
  STORE (s3, c, subgroup * 1024u + 768u, 16u);
}
