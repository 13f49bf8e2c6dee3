/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <math.h>

#include "sm-kernels.h"
#include "sm-vmath-constants.h"

/* Scalar activations, shared by the generic kernels and the vector kernels'
 * tails.  Each form is chosen to stay accurate over the whole float range:
 * sigmoid and GELU divide by 1 + exp(-z) (no cancellation near 0 or for
 * large negative inputs, and exp overflowing to infinity gives the right
 * limit), tanh uses the C library's. */

static inline float
sm_sigmoid_scalar (float x)
{
  return 1.0f / (1.0f + expf (-x));
}

/* GELU, tanh form: x/2 · (1 + tanh (z)) = x · sigmoid (2z), z = √(2/π)(x + 0.044715 x³). */
static inline float
sm_gelu_scalar (float x)
{
  float z2;

  x = x < SM_GELU_LOW ? SM_GELU_LOW : x;
  z2 = SM_GELU_TWO_SQRT_2_OVER_PI * (x + SM_GELU_CUBIC * x * x * x);

  return x / (1.0f + expf (-z2));
}

static inline float
sm_act_scalar (SmActivation act,
               float        x)
{
  switch (act.kind)
    {
    case SM_ACT_RELU:
      return x > 0.0f ? x : 0.0f;
    case SM_ACT_LEAKY_RELU:
      return x < 0.0f ? act.alpha * x : x;
    case SM_ACT_SIGMOID:
      return sm_sigmoid_scalar (x);
    case SM_ACT_TANH:
      return tanhf (x);
    case SM_ACT_GELU:
      return sm_gelu_scalar (x);
    case SM_ACT_IDENTITY:
    case SM_ACT_SOFTMAX:
    case SM_ACT_N_KINDS:
    default:
      return x;
    }
}
