// The push constants every shader reads (one layout for the whole
// pipeline layout; engine/gpu/sm-gpu.c fills them in the same order).
layout (push_constant) uniform Args
{
  uint  m;            // rows of A and C (the batch)
  uint  n;            // columns of C
  uint  k;            // columns of A
  uint  lda;
  uint  ldc;
  uint  w_offset;     // the layer's packed weights in the weights buffer, in floats
  uint  bias_offset;  // its biases, in floats; ignored without has_bias
  uint  has_bias;
  uint  act;          // SmActKind
  float alpha;        // the leaky ReLU's slope
} args;

// The CPU kernels' packed layout (engine/simd/sm-kernels.h): K blocks of
// 256 rows, each cut into panels of 16 columns, a panel's rows contiguous.
const uint PANEL = 16u;
const uint KBLOCK = 256u;
