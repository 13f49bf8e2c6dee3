// What the GEMM shaders share: the packed weights' addressing and the
// activations (the CPU kernels' forms, engine/simd/sm-vmath-generic.h).
// Included after the args and a `w` buffer of floats are declared.

const uint ACT_IDENTITY = 0u;
const uint ACT_RELU = 1u;
const uint ACT_LEAKY_RELU = 2u;
const uint ACT_SIGMOID = 3u;
const uint ACT_TANH = 4u;
const uint ACT_GELU = 5u;

float packed_w (uint row, uint col)
{
  uint k0 = (row / KBLOCK) * KBLOCK;
  uint kc = min (KBLOCK, args.k - k0);
  uint panels = (args.n + PANEL - 1u) / PANEL;

  return w[args.w_offset + k0 * panels * PANEL + (col / PANEL) * kc * PANEL + (row - k0) * PANEL + col % PANEL];
}

float sigmoid (float x)
{
  return 1.0 / (1.0 + exp (-x));
}

// tanh through exp, stable at both ends (GLSL's tanh may overflow there).
float tanh_stable (float x)
{
  float e = exp (-2.0 * abs (x));
  return sign (x) * (1.0 - e) / (1.0 + e);
}

float activate (float x)
{
  switch (args.act)
    {
    case ACT_RELU:
      return max (x, 0.0);
    case ACT_LEAKY_RELU:
      return x < 0.0 ? args.alpha * x : x;
    case ACT_SIGMOID:
      return sigmoid (x);
    case ACT_TANH:
      return tanh_stable (x);
    case ACT_GELU:
      {
        float xc = max (x, -20.0);
        return xc * sigmoid (1.5957691216057308 * (xc + 0.044715 * xc * xc * xc));
      }
    default:
      return x;
    }
}
