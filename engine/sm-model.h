/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "sm-kernels.h"
#include "sm-pool.h"

G_BEGIN_DECLS

/* Models: an expert is an MLP (dense layers, each with bias and an
 * activation); a model is up to six experts, one per domain (the router
 * picks the domain from the query's features).  Weights live in the
 * engine's memory pool, packed once for the kernels at load. */

typedef enum {
  SM_DOMAIN_REASONING,
  SM_DOMAIN_CODING,
  SM_DOMAIN_LANGUAGE,
  SM_DOMAIN_MATHEMATICS,
  SM_DOMAIN_TOOL_USE,
  SM_DOMAIN_CONTEXT,
  SM_N_DOMAINS
} SmDomain;

typedef enum {
  SM_PRESET_MICRO,
  SM_PRESET_STANDARD,
  SM_PRESET_LARGE,
  SM_N_PRESETS
} SmPreset;

/* The seed every preset derives from ("SYNMESH!" in ASCII); expert d of a
 * preset uses SM_MODEL_SEED + d.  See sm_model_new_preset(). */
#define SM_MODEL_SEED G_GUINT64_CONSTANT (0x53594e4d45534821)

typedef struct _SmModel  SmModel;
typedef struct _SmExpert SmExpert;

typedef struct
{
  guint         in;
  guint         out;
  SmActivation  act;
} SmLayerShape;

const char   *sm_domain_get_name       (SmDomain       domain);   /* "Reasoning" */
const char   *sm_domain_get_id         (SmDomain       domain);   /* "reasoning" */
gboolean      sm_domain_from_id        (const char    *id,
                                        SmDomain      *domain);
const char   *sm_preset_get_name       (SmPreset       preset);   /* "standard" */
gboolean      sm_preset_from_name      (const char    *name,
                                        SmPreset      *preset);
const char   *sm_activation_get_name   (SmActKind      kind);     /* "relu" */
gboolean      sm_activation_from_name  (const char    *name,
                                        SmActKind     *kind);

/* A preset, generated deterministically: SplitMix64 seeded per expert,
 * weights and biases drawn from U(−1/√fan_in, 1/√fan_in) as PyTorch's
 * nn.Linear initialises them; ReLU between layers, identity at the end. */
SmModel      *sm_model_new_preset      (SmPreset       preset,
                                        SmPool        *pool,
                                        GError       **error);

/* An empty model; experts are added with sm_model_set_expert(). */
SmModel      *sm_model_new             (void);
void          sm_model_free            (SmModel       *model);

/* Builds an expert from row-major weights as PyTorch stores them
 * (weights[l] is out×in), packing them into the pool.  Checks that shapes
 * chain and that no value is NaN or infinite. */
SmExpert     *sm_expert_new            (SmPool             *pool,
                                        guint               n_layers,
                                        const SmLayerShape *shapes,
                                        const float * const *weights,
                                        const float * const *biases,
                                        GError            **error);
/* The same from bf16 weights (their bits), kept in bf16 without an f32
 * copy: the expert's origin and precision are BF16 (a BF16 model loaded
 * for an engine that runs bf16).  Other precisions convert from them. */
SmExpert     *sm_expert_new_bf16       (SmPool             *pool,
                                        guint               n_layers,
                                        const SmLayerShape *shapes,
                                        const guint16 * const *weights,
                                        const float * const *biases,
                                        GError            **error);
void          sm_expert_free           (SmExpert      *expert);

/* Takes ownership of @expert. */
void          sm_model_set_expert      (SmModel       *model,
                                        SmDomain       domain,
                                        SmExpert      *expert);
/* One network answering every domain, as a plain nn.Sequential loads.
 * Takes ownership of @expert. */
void          sm_model_set_single_expert (SmModel     *model,
                                        SmExpert      *expert);
gboolean      sm_model_is_single_expert (SmModel      *model);
/* The expert for @domain (the single one, if so), or NULL if absent. */
SmExpert     *sm_model_get_expert      (SmModel       *model,
                                        SmDomain       domain);
const char   *sm_model_get_description (SmModel       *model);
void          sm_model_set_description (SmModel       *model,
                                        const char    *description);

/* "f32", "bf16", "int8": the tokens of --precision and of settings. */
const char   *sm_precision_get_name    (SmPrecision    precision);
gboolean      sm_precision_from_name   (const char    *name,
                                        SmPrecision   *precision);

/* What running a model's weights in a precision costs against f32, on
 * the engine's calibration batch: the largest difference of any output,
 * and that over the largest output (of its expert).  NaN: not measured. */
typedef struct
{
  double max_abs;
  double max_rel;
} SmPrecisionError;

void          sm_model_set_precision_error (SmModel                *model,
                                        SmPrecision             precision,
                                        const SmPrecisionError *error);
void          sm_model_get_precision_error (SmModel                *model,
                                        SmPrecision             precision,
                                        SmPrecisionError       *error);

/* Stores every expert's weights also in @precision, from the pool, and
 * runs them so from now on (f32: frees the reduced copies).  All or
 * nothing: with the pool at its limit, an error and no change.  Not
 * while a forward runs (the engine holds its model lock for writing). */
gboolean      sm_model_set_precision   (SmModel       *model,
                                        SmPrecision    precision,
                                        SmPool        *pool,
                                        GError       **error);
gboolean      sm_expert_set_precision  (SmExpert      *expert,
                                        SmPrecision    precision,
                                        SmPool        *pool,
                                        GError       **error);
SmPrecision   sm_expert_get_precision  (SmExpert      *expert);

guint         sm_expert_get_n_layers   (SmExpert      *expert);
const SmLayerShape *sm_expert_get_layer (SmExpert     *expert,
                                        guint          layer);
guint         sm_expert_get_input_width  (SmExpert    *expert);
guint         sm_expert_get_output_width (SmExpert    *expert);
/* The widest layer output: sizes the scratch a forward needs per row. */
guint         sm_expert_get_max_width  (SmExpert      *expert);
/* FLOPs of one row through the expert (2 · Σ in·out). */
guint64       sm_expert_get_flops      (SmExpert      *expert);

/* Unpacks layer @layer into @weights (out×in, PyTorch order) and @bias. */
void          sm_expert_copy_layer     (SmExpert      *expert,
                                        guint          layer,
                                        float         *weights,
                                        float         *bias);

/* Layer @layer's weights in f32 in the packed layout (@packed holds
 * sm_f32_packed_weights_size() floats), widened if the expert's origin is
 * bf16, and its shape.out biases. */
void          sm_expert_copy_packed_layer (SmExpert   *expert,
                                         guint       layer,
                                         float      *packed,
                                         float      *bias);
/* What the expert's weights were loaded as: F32, or BF16 for BF16 tensors
 * loaded for an engine running bf16 (sm_expert_new_bf16()). */
SmPrecision   sm_expert_get_origin     (SmExpert      *expert);

/* Scratch floats sm_expert_forward() needs for @batch rows. */
gsize         sm_expert_scratch_floats (SmExpert      *expert,
                                        guint          batch);

/* output[batch × out] = expert (input[batch × in]) with @kernels, the
 * intermediate activations in @scratch (sm_expert_scratch_floats() floats,
 * 64-byte aligned).  Not thread-safe per scratch; any number of threads may
 * run the same expert with their own scratch. */
void          sm_expert_forward        (SmExpert        *expert,
                                        const SmKernels *kernels,
                                        const float     *input,
                                        guint            batch,
                                        float           *output,
                                        float           *scratch);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SmModel, sm_model_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SmExpert, sm_expert_free)

G_END_DECLS
