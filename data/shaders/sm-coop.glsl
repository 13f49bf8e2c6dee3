// The cooperative-matrix types and calls the tensor-core shaders use, in
// one of two dialects: GL_NV_cooperative_matrix by default (glslang 11 and
// later), GL_KHR_cooperative_matrix when compiled with -DSM_COOP_KHR
// (glslang 14 and later).  16×16 fp16 operands, fp32 sums, subgroup scope.

#ifdef SM_COOP_KHR
#extension GL_KHR_cooperative_matrix : require
#define MATRIX_A coopmat<float16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseA>
#define MATRIX_W coopmat<float16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseB>
#define SUMS coopmat<float, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator>
#define LOAD(m, tile, at, stride) coopMatLoad (m, tile, at, stride, gl_CooperativeMatrixLayoutRowMajor)
#define STORE(m, tile, at, stride) coopMatStore (m, tile, at, stride, gl_CooperativeMatrixLayoutRowMajor)
#define MUL_ADD coopMatMulAdd
#else
#extension GL_NV_cooperative_matrix : require
#define MATRIX_A fcoopmatNV<16, gl_ScopeSubgroup, 16, 16>
#define MATRIX_W fcoopmatNV<16, gl_ScopeSubgroup, 16, 16>
#define SUMS fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>
#define LOAD(m, tile, at, stride) coopMatLoadNV (m, tile, at, stride, false)
#define STORE(m, tile, at, stride) coopMatStoreNV (m, tile, at, stride, false)
#define MUL_ADD coopMatMulAddNV
#endif
