/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <math.h>
#include <string.h>

#include "sm-error.h"
#include "sm-model.h"
#include "sm-names.h"
#include "sm-simd.h"

typedef struct
{
  SmLayerShape  shape;
  /* The weights as loaded, in the sm_f32_pack_weights() layout: f32, or
   * bf16 where BF16 tensors were loaded for an engine that runs bf16
   * (the expert's origin). */
  SmPoolBlock  *packed;
  SmPoolBlock  *bias;     /* shape.out floats */
  /* The weights in the precision the expert runs, when it is not the
   * origin's: those stay, to switch back, to measure against and for the
   * GPU. */
  SmPoolBlock  *reduced;
  SmPoolBlock  *scale;    /* int8: shape.out floats */
} Layer;

struct _SmExpert
{
  guint        n_layers;
  Layer       *layers;
  SmPrecision  precision;   /* the weights it runs */
  SmPrecision  origin;      /* what `packed` holds: F32 or BF16 */
};

struct _SmModel
{
  SmExpert          *experts[SM_N_DOMAINS];
  gboolean           single;     /* experts[0] answers every domain */
  char              *description;
  SmPrecisionError   errors[SM_PRECISION_N_KINDS];
  gboolean           measured[SM_PRECISION_N_KINDS];
};

static const struct {
  const char *id;
  const char *name;
} domains[SM_N_DOMAINS] = {
  { "reasoning", "Reasoning" },
  { "coding", "Coding" },
  { "language", "Language" },
  { "mathematics", "Mathematics" },
  { "tooluse", "Tool use" },
  { "context", "Context" },
};

static const char * const preset_names[SM_N_PRESETS] = { "micro", "standard", "large" };

static const char * const precision_names[SM_PRECISION_N_KINDS] = { "f32", "bf16", "int8" };

static const char * const activation_names[SM_ACT_N_KINDS] = {
  "identity", "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "softmax",
};

/* Layer widths of each preset's experts, per domain, 0-terminated. */
static const guint preset_widths[SM_N_PRESETS][SM_N_DOMAINS][6] = {
  /* micro: the six small shapes of the original system */
  { { 128, 64, 32, 32 }, { 192, 96, 48, 48 }, { 256, 128, 64, 64 },
    { 96, 48, 24, 24 }, { 64, 32, 16, 16 }, { 160, 80, 40, 40 } },
  /* standard: fits the default 25 MiB pool with room for activations */
  { { 256, 512, 512, 64 }, { 256, 512, 512, 64 }, { 256, 512, 512, 64 },
    { 256, 512, 512, 64 }, { 256, 512, 512, 64 }, { 256, 512, 512, 64 } },
  /* large: GPU-sized, 127 MiB of weights (raise the pool limit) */
  { { 512, 2048, 2048, 128 }, { 512, 2048, 2048, 128 }, { 512, 2048, 2048, 128 },
    { 512, 2048, 2048, 128 }, { 512, 2048, 2048, 128 }, { 512, 2048, 2048, 128 } },
};

const char *
sm_domain_get_name (SmDomain domain)
{
  g_return_val_if_fail (domain < SM_N_DOMAINS, NULL);
  return domains[domain].name;
}

const char *
sm_domain_get_id (SmDomain domain)
{
  g_return_val_if_fail (domain < SM_N_DOMAINS, NULL);
  return domains[domain].id;
}

gboolean
sm_domain_from_id (const char *id,
                   SmDomain   *domain)
{
  for (guint d = 0; d < SM_N_DOMAINS; d++)
    if (g_ascii_strcasecmp (id, domains[d].id) == 0 || g_ascii_strcasecmp (id, domains[d].name) == 0)
      {
        *domain = d;
        return TRUE;
      }
  return FALSE;
}

const char *
sm_preset_get_name (SmPreset preset)
{
  g_return_val_if_fail (preset < SM_N_PRESETS, NULL);
  return preset_names[preset];
}

gboolean
sm_preset_from_name (const char *name,
                     SmPreset   *preset)
{
  return sm_names_lookup (preset_names, SM_N_PRESETS, name, preset);
}

const char *
sm_precision_get_name (SmPrecision precision)
{
  g_return_val_if_fail (precision < SM_PRECISION_N_KINDS, NULL);
  return precision_names[precision];
}

gboolean
sm_precision_from_name (const char  *name,
                        SmPrecision *precision)
{
  return sm_names_lookup (precision_names, SM_PRECISION_N_KINDS, name, precision);
}

void
sm_model_set_precision_error (SmModel                *model,
                              SmPrecision             precision,
                              const SmPrecisionError *error)
{
  g_return_if_fail (precision < SM_PRECISION_N_KINDS);
  model->errors[precision] = *error;
  model->measured[precision] = TRUE;
}

void
sm_model_get_precision_error (SmModel          *model,
                              SmPrecision       precision,
                              SmPrecisionError *error)
{
  g_return_if_fail (precision < SM_PRECISION_N_KINDS);
  *error = model->measured[precision] ? model->errors[precision] : (SmPrecisionError) { NAN, NAN };
}

gboolean
sm_model_set_precision (SmModel      *model,
                        SmPrecision   precision,
                        SmPool       *pool,
                        GError      **error)
{
  SmPrecision was[SM_N_DOMAINS];

  for (guint d = 0; d < SM_N_DOMAINS; d++)
    {
      was[d] = model->experts[d] != NULL ? model->experts[d]->precision : SM_PRECISION_F32;
      if (model->experts[d] != NULL && !sm_expert_set_precision (model->experts[d], precision, pool, error))
        {
          /* All experts or none: those done go back. */
          for (guint e = 0; e < d; e++)
            if (model->experts[e] != NULL)
              sm_expert_set_precision (model->experts[e], was[e], pool, NULL);
          return FALSE;
        }
    }
  return TRUE;
}

const char *
sm_activation_get_name (SmActKind kind)
{
  g_return_val_if_fail (kind < SM_ACT_N_KINDS, NULL);
  return activation_names[kind];
}

gboolean
sm_activation_from_name (const char *name,
                         SmActKind  *kind)
{
  return sm_names_lookup (activation_names, SM_ACT_N_KINDS, name, kind);
}

/* ---- experts ---- */

void
sm_expert_free (SmExpert *expert)
{
  if (expert == NULL)
    return;

  for (guint l = 0; l < expert->n_layers; l++)
    {
      sm_pool_block_free (expert->layers[l].packed);
      sm_pool_block_free (expert->layers[l].bias);
      sm_pool_block_free (expert->layers[l].reduced);
      sm_pool_block_free (expert->layers[l].scale);
    }
  g_free (expert->layers);
  g_free (expert);
}

/* Layer @layer's packed weights, of a bf16 origin, widened into @packed
 * (sm_f32_packed_weights_size() floats): a bf16 value is a float's top half. */
static void
widen_layer (const Layer *layer,
             float       *packed)
{
  sm_simd_get_kernels ()->bf16_to_f32 (sm_pool_block_get_data (layer->packed), packed,
                                       sm_f32_packed_weights_size (layer->shape.in, layer->shape.out));
}

/* Layer @layer's weights in f32, packed: the origin's own, or widened from
 * bf16 into *@widened, which the caller frees. */
static const float *
layer_f32 (const SmExpert  *expert,
           const Layer     *layer,
           float          **widened)
{
  *widened = NULL;
  if (expert->origin == SM_PRECISION_F32)
    return sm_pool_block_get_data (layer->packed);
  *widened = g_new (float, sm_f32_packed_weights_size (layer->shape.in, layer->shape.out));
  widen_layer (layer, *widened);
  return *widened;
}

/* Layer @layer's weights in @precision (not the origin's), from the pool. */
static gboolean
convert_layer (const SmExpert  *expert,
               const Layer     *layer,
               SmPrecision      precision,
               SmPool          *pool,
               SmPoolBlock    **converted,
               SmPoolBlock    **scale,
               GError         **error)
{
  gsize k = layer->shape.in, n = layer->shape.out;
  gsize bytes = precision == SM_PRECISION_F32 ? sm_f32_packed_weights_size (k, n) * sizeof (float)
                : precision == SM_PRECISION_BF16 ? sm_bf16_packed_weights_size (k, n) * sizeof (guint16)
                : sm_i8_packed_weights_size (k, n);
  g_autofree float *widened = NULL;
  const float *f32;

  *converted = sm_pool_alloc (pool, bytes, error);
  if (*converted != NULL && precision == SM_PRECISION_INT8)
    *scale = sm_pool_alloc (pool, n * sizeof (float), error);
  if (*converted == NULL || (precision == SM_PRECISION_INT8 && *scale == NULL))
    {
      g_clear_pointer (converted, sm_pool_block_free);
      return FALSE;
    }

  /* Not the origin's precision: f32 is widened from a bf16 origin. */
  if (precision == SM_PRECISION_F32)
    {
      widen_layer (layer, sm_pool_block_get_data (*converted));
      return TRUE;
    }
  f32 = layer_f32 (expert, layer, &widened);
  if (precision == SM_PRECISION_BF16)
    sm_bf16_pack_weights (f32, k, n, sm_pool_block_get_data (*converted));
  else
    sm_i8_pack_weights (f32, k, n, sm_pool_block_get_data (*converted), sm_pool_block_get_data (*scale));
  return TRUE;
}

gboolean
sm_expert_set_precision (SmExpert     *expert,
                         SmPrecision   precision,
                         SmPool       *pool,
                         GError      **error)
{
  g_autofree SmPoolBlock **reduced = g_new0 (SmPoolBlock *, expert->n_layers);
  g_autofree SmPoolBlock **scale = g_new0 (SmPoolBlock *, expert->n_layers);

  g_return_val_if_fail (precision < SM_PRECISION_N_KINDS, FALSE);

  if (precision == expert->precision)
    return TRUE;

  /* All of the new weights first: a pool at its limit changes nothing. */
  for (guint l = 0; l < expert->n_layers && precision != expert->origin; l++)
    if (!convert_layer (expert, &expert->layers[l], precision, pool, &reduced[l], &scale[l], error))
      {
        for (guint i = 0; i < l; i++)
          {
            sm_pool_block_free (reduced[i]);
            sm_pool_block_free (scale[i]);
          }
        g_prefix_error (error, _("No memory for %s weights: "), sm_precision_get_name (precision));
        return FALSE;
      }

  for (guint l = 0; l < expert->n_layers; l++)
    {
      Layer *layer = &expert->layers[l];

      sm_pool_block_free (layer->reduced);
      sm_pool_block_free (layer->scale);
      layer->reduced = reduced[l];
      layer->scale = scale[l];
    }
  expert->precision = precision;
  return TRUE;
}

SmPrecision
sm_expert_get_precision (SmExpert *expert)
{
  return expert->precision;
}

static gboolean
check_finite (const float  *values,
              gsize         n,
              const char   *what,
              guint         layer,
              GError      **error)
{
  for (gsize i = 0; i < n; i++)
    if (!isfinite (values[i]))
      {
        g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT,
                     _("Layer %u: %s value %zu is %s"), layer, what, i,
                     isnan (values[i]) ? "NaN" : "infinite");
        return FALSE;
      }
  return TRUE;
}

/* A bf16 value is finite unless its exponent bits are all set. */
static gboolean
check_finite_bf16 (const guint16  *values,
                   gsize           n,
                   guint           layer,
                   GError        **error)
{
  for (gsize i = 0; i < n; i++)
    if ((values[i] & 0x7f80) == 0x7f80)
      {
        g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT,
                     _("Layer %u: %s value %zu is %s"), layer, "weight", i,
                     (values[i] & 0x7f) != 0 ? "NaN" : "infinite");
        return FALSE;
      }
  return TRUE;
}

static gboolean
check_shape (const SmLayerShape  *shapes,
             guint                l,
             GError             **error)
{
  const SmLayerShape *s = &shapes[l];

  if (s->in == 0 || s->out == 0)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT,
                   _("Layer %u has an empty shape (%u×%u)"), l, s->out, s->in);
      return FALSE;
    }
  if (l > 0 && shapes[l - 1].out != s->in)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT,
                   _("Layer %u takes %u inputs but layer %u gives %u outputs: the shapes do not chain"),
                   l, s->in, l - 1, shapes[l - 1].out);
      return FALSE;
    }
  if (s->act.kind >= SM_ACT_N_KINDS)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT,
                   _("Layer %u has an unknown activation"), l);
      return FALSE;
    }
  return TRUE;
}

/* PyTorch stores out×in; the kernels want in×out (K×N), packed: @weights
 * holds f32 or, for a bf16 origin, bf16 values. */
static gboolean
pack_layer (Layer       *layer,
            SmPrecision  origin,
            const void  *weights,
            SmPool      *pool,
            GError     **error)
{
  gsize in = layer->shape.in, out = layer->shape.out;
  gsize size = origin == SM_PRECISION_BF16 ? sizeof (guint16) : sizeof (float);
  g_autofree char *w_kn = g_malloc (in * out * size);

  for (gsize o = 0; o < out; o++)
    for (gsize i = 0; i < in; i++)
      memcpy (w_kn + (i * out + o) * size, (const char *) weights + (o * in + i) * size, size);

  layer->packed = sm_pool_alloc (pool, sm_f32_packed_weights_size (in, out) * size, error);
  if (layer->packed == NULL)
    return FALSE;
  if (origin == SM_PRECISION_BF16)
    sm_bf16_pack_bf16 ((const guint16 *) w_kn, out, in, out, sm_pool_block_get_data (layer->packed));
  else
    sm_f32_pack_weights ((const float *) w_kn, out, in, out, sm_pool_block_get_data (layer->packed));
  return TRUE;
}

static SmExpert *
expert_new (SmPool              *pool,
            guint                n_layers,
            const SmLayerShape  *shapes,
            SmPrecision          origin,
            const void * const  *weights,
            const float * const *biases,
            GError             **error)
{
  g_autoptr(SmExpert) expert = g_new0 (SmExpert, 1);

  g_return_val_if_fail (pool != NULL && shapes != NULL && weights != NULL, NULL);

  if (n_layers == 0)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT, _("An expert needs at least one layer"));
      return NULL;
    }

  expert->origin = expert->precision = origin;
  expert->layers = g_new0 (Layer, n_layers);
  for (guint l = 0; l < n_layers; l++)
    {
      const SmLayerShape *s = &shapes[l];
      Layer *layer = &expert->layers[l];
      gsize values = (gsize) s->in * s->out;
      float *bias;

      if (!check_shape (shapes, l, error))
        return NULL;
      if (origin == SM_PRECISION_BF16 ? !check_finite_bf16 (weights[l], values, l, error)
                                      : !check_finite (weights[l], values, "weight", l, error))
        return NULL;
      if (biases != NULL && biases[l] != NULL && !check_finite (biases[l], s->out, "bias", l, error))
        return NULL;

      layer->shape = *s;
      expert->n_layers = l + 1;
      if (!pack_layer (layer, origin, weights[l], pool, error))
        return NULL;

      layer->bias = sm_pool_alloc (pool, (gsize) s->out * sizeof (float), error);
      if (layer->bias == NULL)
        return NULL;
      bias = sm_pool_block_get_data (layer->bias);
      if (biases != NULL && biases[l] != NULL)
        memcpy (bias, biases[l], (gsize) s->out * sizeof (float));
      else
        memset (bias, 0, (gsize) s->out * sizeof (float));
    }

  return g_steal_pointer (&expert);
}

SmExpert *
sm_expert_new (SmPool              *pool,
               guint                n_layers,
               const SmLayerShape  *shapes,
               const float * const *weights,
               const float * const *biases,
               GError             **error)
{
  return expert_new (pool, n_layers, shapes, SM_PRECISION_F32, (const void * const *) weights, biases, error);
}

SmExpert *
sm_expert_new_bf16 (SmPool                *pool,
                    guint                  n_layers,
                    const SmLayerShape    *shapes,
                    const guint16 * const *weights,
                    const float * const   *biases,
                    GError               **error)
{
  return expert_new (pool, n_layers, shapes, SM_PRECISION_BF16, (const void * const *) weights, biases, error);
}

guint
sm_expert_get_n_layers (SmExpert *expert)
{
  return expert->n_layers;
}

const SmLayerShape *
sm_expert_get_layer (SmExpert *expert,
                     guint     layer)
{
  g_return_val_if_fail (layer < expert->n_layers, NULL);
  return &expert->layers[layer].shape;
}

guint
sm_expert_get_input_width (SmExpert *expert)
{
  return expert->layers[0].shape.in;
}

guint
sm_expert_get_output_width (SmExpert *expert)
{
  return expert->layers[expert->n_layers - 1].shape.out;
}

guint
sm_expert_get_max_width (SmExpert *expert)
{
  guint width = 0;

  for (guint l = 0; l < expert->n_layers; l++)
    width = MAX (width, expert->layers[l].shape.out);
  return width;
}

guint64
sm_expert_get_flops (SmExpert *expert)
{
  guint64 flops = 0;

  for (guint l = 0; l < expert->n_layers; l++)
    flops += 2 * (guint64) expert->layers[l].shape.in * expert->layers[l].shape.out;
  return flops;
}

void
sm_expert_copy_layer (SmExpert *expert,
                      guint     layer,
                      float    *weights,
                      float    *bias)
{
  const Layer *l = &expert->layers[layer];
  const float *packed = sm_pool_block_get_data (l->packed);
  const guint16 *packed_bf16 = sm_pool_block_get_data (l->packed);
  gboolean bf16 = expert->origin == SM_PRECISION_BF16;
  gsize in = l->shape.in, out = l->shape.out;

  /* The inverse of packing, in the packed order (reads in sequence, a
   * bf16 origin widened as it is read: a bf16 value is a float's top half). */
  for (gsize k0 = 0; k0 < in; k0 += SM_GEMM_KC)
    for (gsize p = 0; p * SM_GEMM_NR < out; p++)
      {
        gsize at = sm_packed_block_offset (in, out, k0, p);

        for (gsize i = k0; i < MIN (in, k0 + SM_GEMM_KC); i++)
          for (gsize c = 0; c < SM_GEMM_NR; c++, at++)
            {
              gsize o = p * SM_GEMM_NR + c;
              guint32 bits = bf16 ? (guint32) packed_bf16[at] << 16 : 0;

              if (o >= out)
                continue;
              if (bf16)
                memcpy (&weights[o * in + i], &bits, sizeof bits);
              else
                weights[o * in + i] = packed[at];
            }
      }
  memcpy (bias, sm_pool_block_get_data (l->bias), out * sizeof (float));
}

void
sm_expert_copy_packed_layer (SmExpert *expert,
                             guint     layer,
                             float    *packed,
                             float    *bias)
{
  const Layer *l = &expert->layers[layer];
  gsize size = sm_f32_packed_weights_size (l->shape.in, l->shape.out);

  if (expert->origin == SM_PRECISION_BF16)
    widen_layer (l, packed);
  else
    memcpy (packed, sm_pool_block_get_data (l->packed), size * sizeof (float));
  memcpy (bias, sm_pool_block_get_data (l->bias), (gsize) l->shape.out * sizeof (float));
}

SmPrecision
sm_expert_get_origin (SmExpert *expert)
{
  return expert->origin;
}

/* Two ping-pong buffers of batch × widest layer, each rounded to 16 floats
 * so that the second starts 64-byte aligned. */
gsize
sm_expert_scratch_floats (SmExpert *expert,
                          guint     batch)
{
  gsize one = ((gsize) batch * sm_expert_get_max_width (expert) + 15) & ~(gsize) 15;

  return 2 * one;
}

void
sm_expert_forward (SmExpert        *expert,
                   const SmKernels *kernels,
                   const float     *input,
                   guint            batch,
                   float           *output,
                   float           *scratch)
{
  gsize half = sm_expert_scratch_floats (expert, batch) / 2;
  const float *in = input;

  for (guint l = 0; l < expert->n_layers; l++)
    {
      const Layer *layer = &expert->layers[l];
      float *out = l + 1 == expert->n_layers ? output : scratch + (l % 2) * half;
      gboolean softmax = layer->shape.act.kind == SM_ACT_SOFTMAX;
      SmGemmArgs args = {
        .m = batch, .n = layer->shape.out, .k = layer->shape.in,
        .a = in, .lda = layer->shape.in,
        .bias = sm_pool_block_get_data (layer->bias),
        .c = out, .ldc = layer->shape.out,
        .act = softmax ? (SmActivation) { SM_ACT_IDENTITY, 0 } : layer->shape.act,
        .precision = expert->precision,
      };

      /* The origin's weights, or those converted to the running precision. */
      const void *weights = sm_pool_block_get_data (expert->precision == expert->origin ? layer->packed
                                                                                        : layer->reduced);

      if (expert->precision == SM_PRECISION_F32)
        args.w = weights;
      else if (expert->precision == SM_PRECISION_BF16)
        args.w_bf16 = weights;
      else
        {
          args.w_i8 = weights;
          args.w_scale = sm_pool_block_get_data (layer->scale);
        }

      sm_simd_gemm (kernels, &args, 0, batch, 0, sm_f32_packed_n_panels (layer->shape.out));
      if (softmax)
        for (guint r = 0; r < batch; r++)
          kernels->softmax (out + (gsize) r * layer->shape.out, out + (gsize) r * layer->shape.out,
                            layer->shape.out);
      in = out;
    }
}

/* ---- models ---- */

SmModel *
sm_model_new (void)
{
  return g_new0 (SmModel, 1);
}

void
sm_model_free (SmModel *model)
{
  if (model == NULL)
    return;

  for (guint d = 0; d < SM_N_DOMAINS; d++)
    sm_expert_free (model->experts[d]);
  g_free (model->description);
  g_free (model);
}

void
sm_model_set_expert (SmModel  *model,
                     SmDomain  domain,
                     SmExpert *expert)
{
  g_return_if_fail (domain < SM_N_DOMAINS);
  g_return_if_fail (!model->single);

  sm_expert_free (model->experts[domain]);
  model->experts[domain] = expert;
}

void
sm_model_set_single_expert (SmModel  *model,
                            SmExpert *expert)
{
  for (guint d = 0; d < SM_N_DOMAINS; d++)
    g_clear_pointer (&model->experts[d], sm_expert_free);
  model->experts[0] = expert;
  model->single = TRUE;
}

gboolean
sm_model_is_single_expert (SmModel *model)
{
  return model->single;
}

SmExpert *
sm_model_get_expert (SmModel  *model,
                     SmDomain  domain)
{
  g_return_val_if_fail (domain < SM_N_DOMAINS, NULL);
  return model->experts[model->single ? 0 : domain];
}

const char *
sm_model_get_description (SmModel *model)
{
  return model->description;
}

void
sm_model_set_description (SmModel    *model,
                          const char *description)
{
  g_free (model->description);
  model->description = g_strdup (description);
}

/* SplitMix64 (Steele, Lea, Flood 2014): tiny, and the same everywhere. */
static guint64
splitmix64 (guint64 *state)
{
  guint64 z = (*state += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15));

  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return z ^ (z >> 31);
}

/* Uniform in [-bound, bound), from the top 24 bits. */
static float
uniform (guint64 *state,
         float    bound)
{
  return bound * (2.0f * (float) (splitmix64 (state) >> 40) / (float) (1 << 24) - 1.0f);
}

SmModel *
sm_model_new_preset (SmPreset  preset,
                     SmPool   *pool,
                     GError  **error)
{
  g_autoptr(SmModel) model = NULL;

  g_return_val_if_fail (preset < SM_N_PRESETS, NULL);

  model = sm_model_new ();
  model->description = g_strdup_printf ("preset %s", preset_names[preset]);

  for (guint d = 0; d < SM_N_DOMAINS; d++)
    {
      const guint *widths = preset_widths[preset][d];
      SmLayerShape shapes[5];
      float *weights[5] = { NULL }, *biases[5] = { NULL };
      guint64 state = SM_MODEL_SEED + d;
      guint n_layers = 0;
      SmExpert *expert;

      while (widths[n_layers + 1] != 0)
        {
          guint in = widths[n_layers], out = widths[n_layers + 1];
          float bound = 1.0f / sqrtf ((float) in);
          gboolean last = widths[n_layers + 2] == 0;

          shapes[n_layers] = (SmLayerShape) { in, out, { last ? SM_ACT_IDENTITY : SM_ACT_RELU, 0 } };
          weights[n_layers] = g_new (float, (gsize) in * out);
          biases[n_layers] = g_new (float, out);
          for (gsize i = 0; i < (gsize) in * out; i++)
            weights[n_layers][i] = uniform (&state, bound);
          for (guint i = 0; i < out; i++)
            biases[n_layers][i] = uniform (&state, bound);
          n_layers++;
        }

      expert = sm_expert_new (pool, n_layers, shapes, (const float * const *) weights,
                              (const float * const *) biases, error);
      for (guint l = 0; l < n_layers; l++)
        {
          g_free (weights[l]);
          g_free (biases[l]);
        }
      if (expert == NULL)
        {
          g_prefix_error (error, _("Preset %s, expert %s: "), preset_names[preset], domains[d].name);
          return NULL;
        }
      model->experts[d] = expert;
    }

  return g_steal_pointer (&model);
}
