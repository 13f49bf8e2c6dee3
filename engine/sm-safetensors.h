/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "sm-model.h"

G_BEGIN_DECLS

/* Models in the safetensors format (huggingface/safetensors): an 8-byte
 * little-endian header length, a JSON header naming each tensor's dtype,
 * shape and byte range, then the raw data.  F32, F16 and BF16 load
 * (converted to F32); models are saved as F32.  Tensor names are described
 * in docs/model-format.md.
 *
 * Everything read is checked before it is used: a malformed file gives a
 * GError saying what is wrong and where, never a crash or a read outside
 * the file. */

/* Limits that keep a hostile file from making us allocate without bound. */
#define SM_SAFETENSORS_MAX_HEADER   (16 * 1024 * 1024)
#define SM_SAFETENSORS_MAX_DIM      (1 << 20)
#define SM_SAFETENSORS_MAX_ELEMENTS (1 << 28)

/* @precision is the one the model will run in: with bf16, an expert whose
 * weights are all BF16 keeps them as they are (sm_expert_new_bf16()),
 * without widening them to f32. */
SmModel  *sm_safetensors_load       (const char  *path,
                                     SmPool      *pool,
                                     SmPrecision  precision,
                                     GError     **error);
SmModel  *sm_safetensors_load_bytes (GBytes      *bytes,
                                     SmPool      *pool,
                                     SmPrecision  precision,
                                     GError     **error);

/* Writes @model (every expert present) atomically: a temporary file renamed
 * over @path, so that a full disk or a crash never leaves half a model. */
gboolean  sm_safetensors_save       (SmModel     *model,
                                     const char  *path,
                                     GError     **error);

G_END_DECLS
