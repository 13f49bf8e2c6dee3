/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The mesh wire format, version 2 (docs/protocol.md is the specification;
 * keep the two in step).  A message is one envelope frame — a fixed
 * little-endian header and a typed body — and, for INFER requests and
 * replies, one raw tensor frame of little-endian float32 that is never
 * copied by the codec.  Decoding allocates nothing (but the GError of a
 * refusal), checks every length before it reads, and rejects anything a
 * strict encoder would not have written, so that decode ∘ encode is the
 * identity on accepted frames. */

#define SM_WIRE_MAGIC           0x48534d53u   /* "SMSH" on the wire */
#define SM_WIRE_VERSION         2
#define SM_WIRE_HEADER_SIZE     40
#define SM_WIRE_NAME_MAX        64            /* bytes of UTF-8 */
#define SM_WIRE_SOFTWARE_MAX    32
#define SM_WIRE_MESSAGE_MAX     256
#define SM_WIRE_ROWS_MAX        1024          /* the engine's largest batch */
#define SM_WIRE_COLS_MAX        16384
/* rows × cols: a tensor frame is at most 16 MiB, whatever its shape. */
#define SM_WIRE_TENSOR_FLOATS_MAX (4u * 1024 * 1024)
/* The largest envelope any type may have. */
#define SM_WIRE_ENVELOPE_MAX    (SM_WIRE_HEADER_SIZE + 512)
#define SM_WIRE_TENSOR_MAX      ((gsize) SM_WIRE_TENSOR_FLOATS_MAX * sizeof (float))
/* What the transport carries (the node's ZMQ_MAXMSGSIZE): twice the
 * largest legal frame, so that CURVE's framing never pushes a legal frame
 * over it and a frame too large by up to 16 MiB still reaches the decoder
 * and is answered TOO_LARGE.  Larger frames make libzmq drop the
 * connection before anyone could read them (docs/protocol.md says so). */
#define SM_WIRE_TRANSPORT_MAX   (2 * SM_WIRE_TENSOR_MAX)

typedef enum {
  SM_WIRE_HELLO = 1,
  SM_WIRE_PING,
  SM_WIRE_PONG,
  SM_WIRE_INFER_REQUEST,
  SM_WIRE_INFER_REPLY,
  SM_WIRE_ERROR_REPLY,
  SM_WIRE_METRICS,
  SM_WIRE_BYE,
} SmWireType;

/* Envelope flags.  Bits not defined here must be zero in version 1. */
#define SM_WIRE_FLAG_TENSOR     (1u << 0)     /* a tensor frame follows */
#define SM_WIRE_FLAGS_KNOWN     SM_WIRE_FLAG_TENSOR

/* Why a frame was refused: the GError code of SM_WIRE_ERROR and, sent back
 * in an ERROR reply, the code on the wire. */
typedef enum {
  SM_WIRE_STATUS_MALFORMED = 1,   /* lengths, magic, reserved bits, UTF-8 */
  SM_WIRE_STATUS_BAD_VERSION,
  SM_WIRE_STATUS_BAD_TYPE,
  SM_WIRE_STATUS_TOO_LARGE,
  SM_WIRE_STATUS_MODEL_MISMATCH,
  SM_WIRE_STATUS_NO_EXPERT,
  SM_WIRE_STATUS_OVERLOADED,
  SM_WIRE_STATUS_INTERNAL,
  SM_WIRE_STATUS_LAST = SM_WIRE_STATUS_INTERNAL,
} SmWireStatus;

#define SM_WIRE_ERROR (sm_wire_error_quark ())
GQuark sm_wire_error_quark (void);

/* Reserved in requests for "let the peer route"; no version-2 node routes
 * features, so it is answered NO_EXPERT (docs/protocol.md). */
#define SM_WIRE_EXPERT_ROUTE    0xff

typedef struct
{
  guint8  node_id[16];
  char    name[SM_WIRE_NAME_MAX + 1];          /* NUL-terminated UTF-8 */
  char    software[SM_WIRE_SOFTWARE_MAX + 1];  /* e.g. "0.1.0" */
  guint64 model_hash;                          /* XXH64 of the model's weights */
  guint32 expert_mask;                         /* bit i: expert i is served */
  guint32 input_width;
  guint8  simd_level;                          /* SmSimdLevel of the sender */
  guint8  gpu;                                 /* 1 when a GPU backend runs */
} SmWireHello;

typedef struct
{
  guint8  expert;                              /* or SM_WIRE_EXPERT_ROUTE */
  guint32 rows;                                /* batch */
  guint32 cols;                                /* features (request) or outputs (reply) */
  guint64 queue_ns;                            /* reply: time queued at the peer */
  guint64 compute_ns;                          /* reply: time computing */
} SmWireInfer;

typedef struct
{
  guint16 code;                                /* an SmWireStatus */
  char    message[SM_WIRE_MESSAGE_MAX + 1];
} SmWireErrorReply;

/* A node's once-a-second summary, so that a dashboard can chart it. */
typedef struct
{
  guint64 uptime_ms;
  guint64 completed;
  guint64 failed;
  double  ops_per_s;
  guint64 p50_ns;
  guint64 p99_ns;
  guint64 p999_ns;
  guint64 pool_in_use;
  guint64 pool_limit;
  double  fragmentation;
  guint32 queue_depth;
  guint32 peers;
  guint64 replies_dropped;     /* replies lost at clients' high-water marks */
} SmWireMetrics;

typedef struct
{
  SmWireType type;
  guint32    flags;
  guint64    request_id;     /* PONG and replies echo the request's */
  guint64    sent_ns;        /* sender's monotonic clock when sent */
  guint64    echo_ns;        /* PONG and replies: the request's sent_ns */
  union {
    SmWireHello      hello;
    SmWireInfer      infer;
    SmWireErrorReply error;
    SmWireMetrics    metrics;
  } body;
  /* INFER request and reply: rows × cols floats, borrowed from the tensor
   * frame (decode) or from the caller (encode), never copied here. */
  const guint8 *tensor;
  gsize         tensor_size;
} SmWireMessage;

/* Writes @message's envelope frame into @out (at least
 * SM_WIRE_ENVELOPE_MAX bytes) and returns its length.  The tensor, when
 * there is one, is sent as the next frame as it is. */
gsize    sm_wire_encode         (const SmWireMessage *message,
                                 guint8              *out);

/* Reads an envelope frame and the tensor frame after it (NULL, 0 when the
 * message had only one frame) into @message.  On failure the GError code is
 * the SmWireStatus to send back; @message->request_id is set whenever the
 * header was readable, so that the reply can name the request. */
gboolean sm_wire_decode         (const guint8        *envelope,
                                 gsize                envelope_size,
                                 const guint8        *tensor,
                                 gsize                tensor_size,
                                 SmWireMessage       *message,
                                 GError             **error);

/* Copies the tensor of a decoded INFER message into @out (rows × cols
 * floats).  The frame need not be aligned for float. */
void     sm_wire_tensor_copy    (const SmWireMessage *message,
                                 float               *out);

const char *sm_wire_type_name   (SmWireType           type);
const char *sm_wire_status_name (SmWireStatus         status);

/* A copy of @text (from a peer) fit to be shown anywhere: control
 * characters, which could forge log lines or drive a terminal, are written
 * as \xNN escapes, and invalid UTF-8 as U+FFFD.  NULL gives "". */
char       *sm_wire_text_for_display (const char     *text);

G_END_DECLS
