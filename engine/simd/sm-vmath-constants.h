/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* The constants of the vector math, once for every instruction set (and,
 * like the kernels, free of GLib so that the cross checks can build them). */

/* exp(x) = 2^n · exp(r), x = n·ln2 + r: log2(e), and ln2 in two parts
 * (Cody–Waite) so that n·ln2_hi is exact in float. */
#define SM_EXP_LOG2E   1.44269504088896341f
#define SM_EXP_LN2_HI  0.693359375f
#define SM_EXP_LN2_LO  (-2.12194440e-4f)
/* exp overflows past this, and is 0 (below the subnormals) under the next. */
#define SM_EXP_X_MAX   88.8f
#define SM_EXP_X_MIN   (-104.0f)

/* GELU, tanh form: x · sigmoid(2z), z = √(2/π)(x + 0.044715 x³). */
#define SM_GELU_CUBIC              0.044715f
#define SM_GELU_TWO_SQRT_2_OVER_PI 1.5957691216057308f
/* Below this GELU is 0 to far better than float precision (|gelu(-20)| is
 * about 1e-80); clamping there makes gelu(-inf) 0 rather than -inf/inf. */
#define SM_GELU_LOW                (-20.0f)
