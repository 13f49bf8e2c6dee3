/* SPDX-License-Identifier: GPL-3.0-or-later */

/* libFuzzer target for the mesh wire decoder: any bytes from a peer give a
 * message or a GError whose code is a status to send back, never a crash or
 * a read outside the frames.  What is accepted must re-encode to the very
 * same envelope (the decoder is exactly as strict as the encoder).
 *
 * The input is split into the two frames of a message: a 2-byte
 * little-endian envelope length, the envelope, and the rest as the tensor
 * frame (no tensor frame when nothing is left).  See fuzz-safetensors.c for
 * how to fuzz; the seeds are tests/data/wire/ (make-wire-corpus.py). */

#include "config.h"

#include <stdint.h>
#include <string.h>

#include "sm-wire.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GError) error = NULL;
  const uint8_t *envelope, *tensor;
  gsize envelope_size, tensor_size;
  SmWireMessage message;

  if (size < 2)
    return 0;
  envelope_size = MIN ((gsize) (data[0] | data[1] << 8), size - 2);
  envelope = data + 2;
  tensor = envelope + envelope_size;
  tensor_size = size - 2 - envelope_size;
  if (tensor_size == 0)
    tensor = NULL;

  if (sm_wire_decode (envelope, envelope_size, tensor, tensor_size, &message, &error))
    {
      guint8 again[SM_WIRE_ENVELOPE_MAX];

      g_assert (error == NULL);
      g_assert (sm_wire_encode (&message, again) == envelope_size);
      g_assert (memcmp (again, envelope, envelope_size) == 0);
    }
  else
    g_assert (error != NULL && error->domain == SM_WIRE_ERROR
              && error->code >= SM_WIRE_STATUS_MALFORMED && error->code <= SM_WIRE_STATUS_LAST);

  return 0;
}

#include "fuzz-standalone.h"
