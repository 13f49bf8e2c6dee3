/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include "sm-wire.h"

/* Byte offsets of the header fields (docs/protocol.md, "Envelope"). */
enum {
  AT_MAGIC = 0,
  AT_VERSION = 4,
  AT_TYPE = 6,
  AT_FLAGS = 8,
  AT_BODY_SIZE = 12,
  AT_REQUEST_ID = 16,
  AT_SENT_NS = 24,
  AT_ECHO_NS = 32,
};

/* Fixed body sizes; HELLO and ERROR add their strings to theirs. */
enum {
  HELLO_FIXED = 16 + 8 + 4 + 4 + 4,
  INFER_BODY = 1 + 3 + 4 + 4 + 4 + 8 + 8,
  ERROR_FIXED = 2 + 2,
  METRICS_BODY = 10 * 8 + 2 * 4 + 8,
};

G_STATIC_ASSERT (METRICS_BODY == 96);
G_STATIC_ASSERT (SM_WIRE_TENSOR_FLOATS_MAX <= (gsize) SM_WIRE_ROWS_MAX * SM_WIRE_COLS_MAX);
G_STATIC_ASSERT (HELLO_FIXED + SM_WIRE_NAME_MAX + SM_WIRE_SOFTWARE_MAX <= SM_WIRE_ENVELOPE_MAX - SM_WIRE_HEADER_SIZE);
G_STATIC_ASSERT (ERROR_FIXED + SM_WIRE_MESSAGE_MAX <= SM_WIRE_ENVELOPE_MAX - SM_WIRE_HEADER_SIZE);
/* Tensor frames are sent and read as they lie in memory. */
G_STATIC_ASSERT (G_BYTE_ORDER == G_LITTLE_ENDIAN);

G_DEFINE_QUARK (sm-wire-error-quark, sm_wire_error)

static inline void
put16 (guint8 *p, guint16 v)
{
  v = GUINT16_TO_LE (v);
  memcpy (p, &v, sizeof v);
}

static inline void
put32 (guint8 *p, guint32 v)
{
  v = GUINT32_TO_LE (v);
  memcpy (p, &v, sizeof v);
}

static inline void
put64 (guint8 *p, guint64 v)
{
  v = GUINT64_TO_LE (v);
  memcpy (p, &v, sizeof v);
}

static inline void
put_double (guint8 *p, double v)
{
  guint64 bits;

  memcpy (&bits, &v, sizeof bits);
  put64 (p, bits);
}

static inline guint16
get16 (const guint8 *p)
{
  guint16 v;

  memcpy (&v, p, sizeof v);
  return GUINT16_FROM_LE (v);
}

static inline guint32
get32 (const guint8 *p)
{
  guint32 v;

  memcpy (&v, p, sizeof v);
  return GUINT32_FROM_LE (v);
}

static inline guint64
get64 (const guint8 *p)
{
  guint64 v;

  memcpy (&v, p, sizeof v);
  return GUINT64_FROM_LE (v);
}

static inline double
get_double (const guint8 *p)
{
  guint64 bits = get64 (p);
  double v;

  memcpy (&v, &bits, sizeof v);
  return v;
}

const char *
sm_wire_type_name (SmWireType type)
{
  static const char *const names[] = {
    [SM_WIRE_HELLO] = "HELLO",
    [SM_WIRE_PING] = "PING",
    [SM_WIRE_PONG] = "PONG",
    [SM_WIRE_INFER_REQUEST] = "INFER_REQUEST",
    [SM_WIRE_INFER_REPLY] = "INFER_REPLY",
    [SM_WIRE_ERROR_REPLY] = "ERROR",
    [SM_WIRE_METRICS] = "METRICS",
    [SM_WIRE_BYE] = "BYE",
  };

  if (type < SM_WIRE_HELLO || type > SM_WIRE_BYE)
    return "unknown";
  return names[type];
}

const char *
sm_wire_status_name (SmWireStatus status)
{
  static const char *const names[] = {
    [SM_WIRE_STATUS_MALFORMED] = "MALFORMED",
    [SM_WIRE_STATUS_BAD_VERSION] = "BAD_VERSION",
    [SM_WIRE_STATUS_BAD_TYPE] = "BAD_TYPE",
    [SM_WIRE_STATUS_TOO_LARGE] = "TOO_LARGE",
    [SM_WIRE_STATUS_MODEL_MISMATCH] = "MODEL_MISMATCH",
    [SM_WIRE_STATUS_NO_EXPERT] = "NO_EXPERT",
    [SM_WIRE_STATUS_OVERLOADED] = "OVERLOADED",
    [SM_WIRE_STATUS_INTERNAL] = "INTERNAL",
  };

  if (status < SM_WIRE_STATUS_MALFORMED || status > SM_WIRE_STATUS_LAST)
    return "unknown";
  return names[status];
}

char *
sm_wire_text_for_display (const char *text)
{
  g_autofree char *valid = NULL;
  GString *out;

  if (text == NULL)
    return g_strdup ("");
  valid = g_utf8_make_valid (text, -1);
  out = g_string_sized_new (strlen (valid));
  for (const char *p = valid; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      /* C0, DEL and C1: newlines forge lines, ESC drives terminals. */
      if (g_unichar_iscntrl (c))
        g_string_append_printf (out, "\\x%02x", c);
      else
        g_string_append_unichar (out, c);
    }
  return g_string_free (out, FALSE);
}

static gboolean
carries_tensor (SmWireType type)
{
  return type == SM_WIRE_INFER_REQUEST || type == SM_WIRE_INFER_REPLY;
}

/* Writes a string's length byte (at @length_at) and bytes (at @at);
 * returns the bytes written after @at. */
static gsize
put_string (guint8     *length_at,
            guint8     *at,
            const char *text,
            gsize       max)
{
  gsize n = strnlen (text, max);

  *length_at = (guint8) n;
  memcpy (at, text, n);
  return n;
}

gsize
sm_wire_encode (const SmWireMessage *message,
                guint8              *out)
{
  guint8 *body = out + SM_WIRE_HEADER_SIZE;
  gsize body_size = 0;

  g_return_val_if_fail (message != NULL && out != NULL, 0);
  g_return_val_if_fail (message->type >= SM_WIRE_HELLO && message->type <= SM_WIRE_BYE, 0);

  switch (message->type)
    {
    case SM_WIRE_HELLO:
      {
        const SmWireHello *h = &message->body.hello;

        g_return_val_if_fail (g_utf8_validate (h->name, -1, NULL), 0);
        g_return_val_if_fail (g_utf8_validate (h->software, -1, NULL), 0);
        memcpy (body, h->node_id, 16);
        put64 (body + 16, h->model_hash);
        put32 (body + 24, h->expert_mask);
        put32 (body + 28, h->input_width);
        body[32] = h->simd_level;
        body[33] = h->gpu;
        body_size = HELLO_FIXED;
        body_size += put_string (body + 34, body + body_size, h->name, SM_WIRE_NAME_MAX);
        body_size += put_string (body + 35, body + body_size, h->software, SM_WIRE_SOFTWARE_MAX);
        break;
      }

    case SM_WIRE_INFER_REQUEST:
    case SM_WIRE_INFER_REPLY:
      {
        const SmWireInfer *in = &message->body.infer;

        g_return_val_if_fail (message->tensor_size == (gsize) in->rows * in->cols * sizeof (float), 0);
        memset (body, 0, INFER_BODY);
        body[0] = in->expert;
        put32 (body + 4, in->rows);
        put32 (body + 8, in->cols);
        put64 (body + 16, in->queue_ns);
        put64 (body + 24, in->compute_ns);
        body_size = INFER_BODY;
        break;
      }

    case SM_WIRE_ERROR_REPLY:
      {
        const SmWireErrorReply *e = &message->body.error;
        gsize n = strnlen (e->message, SM_WIRE_MESSAGE_MAX);

        g_return_val_if_fail (g_utf8_validate (e->message, n, NULL), 0);
        put16 (body, e->code);
        put16 (body + 2, (guint16) n);
        memcpy (body + ERROR_FIXED, e->message, n);
        body_size = ERROR_FIXED + n;
        break;
      }

    case SM_WIRE_METRICS:
      {
        const SmWireMetrics *m = &message->body.metrics;

        put64 (body, m->uptime_ms);
        put64 (body + 8, m->completed);
        put64 (body + 16, m->failed);
        put_double (body + 24, m->ops_per_s);
        put64 (body + 32, m->p50_ns);
        put64 (body + 40, m->p99_ns);
        put64 (body + 48, m->p999_ns);
        put64 (body + 56, m->pool_in_use);
        put64 (body + 64, m->pool_limit);
        put_double (body + 72, m->fragmentation);
        put32 (body + 80, m->queue_depth);
        put32 (body + 84, m->peers);
        put64 (body + 88, m->replies_dropped);
        body_size = METRICS_BODY;
        break;
      }

    case SM_WIRE_PING:
    case SM_WIRE_PONG:
    case SM_WIRE_BYE:
    default:
      break;
    }

  put32 (out + AT_MAGIC, SM_WIRE_MAGIC);
  put16 (out + AT_VERSION, SM_WIRE_VERSION);
  put16 (out + AT_TYPE, message->type);
  put32 (out + AT_FLAGS, carries_tensor (message->type) ? SM_WIRE_FLAG_TENSOR : 0);
  put32 (out + AT_BODY_SIZE, (guint32) body_size);
  put64 (out + AT_REQUEST_ID, message->request_id);
  put64 (out + AT_SENT_NS, message->sent_ns);
  put64 (out + AT_ECHO_NS, message->echo_ns);

  return SM_WIRE_HEADER_SIZE + body_size;
}

static gboolean
reject (GError       **error,
        SmWireStatus   status,
        const char    *format,
        ...) G_GNUC_PRINTF (3, 4);

static gboolean
reject (GError       **error,
        SmWireStatus   status,
        const char    *format,
        ...)
{
  va_list args;

  va_start (args, format);
  if (error != NULL)
    g_propagate_error (error, g_error_new_valist (SM_WIRE_ERROR, status, format, args));
  va_end (args);
  return FALSE;
}

/* Copies a length-prefixed string into @out, refusing invalid UTF-8 and
 * NUL bytes (which could not survive the round trip through a C string)
 * and, in names (@printable), control characters: a name is shown on
 * terminals, in logs and in the UI, where a newline forges a line. */
static gboolean
get_string (const guint8 *at,
            gsize         n,
            char         *out,
            gboolean      printable,
            const char   *what,
            GError      **error)
{
  if (memchr (at, '\0', n) != NULL || !g_utf8_validate ((const char *) at, n, NULL))
    return reject (error, SM_WIRE_STATUS_MALFORMED, "%s is not valid UTF-8 text", what);
  memcpy (out, at, n);
  out[n] = '\0';
  if (printable)
    for (const char *p = out; *p != '\0'; p = g_utf8_next_char (p))
      if (g_unichar_iscntrl (g_utf8_get_char (p)))
        return reject (error, SM_WIRE_STATUS_MALFORMED, "%s holds a control character", what);
  return TRUE;
}

/* Any float a peer sends is fed to a model or shown: NaN and ±Inf are
 * refused, not answered with made-up figures. */
static gboolean
all_finite (const guint8 *tensor,
            gsize         size)
{
  for (gsize i = 0; i + sizeof (float) <= size; i += sizeof (float))
    {
      float v;

      memcpy (&v, tensor + i, sizeof v);
      if (!isfinite (v))
        return FALSE;
    }
  return TRUE;
}

static gboolean
decode_hello (const guint8  *body,
              gsize          size,
              SmWireHello   *h,
              GError       **error)
{
  gsize name_len, software_len;

  if (size < HELLO_FIXED)
    return reject (error, SM_WIRE_STATUS_MALFORMED, "HELLO body of %zu bytes is shorter than %d", size, HELLO_FIXED);
  name_len = body[34];
  software_len = body[35];
  if (name_len > SM_WIRE_NAME_MAX || software_len > SM_WIRE_SOFTWARE_MAX)
    return reject (error, SM_WIRE_STATUS_TOO_LARGE, "HELLO name or software version is too long");
  if (size != HELLO_FIXED + name_len + software_len)
    return reject (error, SM_WIRE_STATUS_MALFORMED, "HELLO body size %zu does not match its strings", size);
  if (name_len == 0)
    return reject (error, SM_WIRE_STATUS_MALFORMED, "HELLO without a node name");
  if (body[33] > 1)
    return reject (error, SM_WIRE_STATUS_MALFORMED, "HELLO GPU flag %u is neither 0 nor 1", body[33]);

  memcpy (h->node_id, body, 16);
  h->model_hash = get64 (body + 16);
  h->expert_mask = get32 (body + 24);
  h->input_width = get32 (body + 28);
  h->simd_level = body[32];
  h->gpu = body[33];
  return get_string (body + HELLO_FIXED, name_len, h->name, TRUE, "HELLO node name", error)
      && get_string (body + HELLO_FIXED + name_len, software_len, h->software, TRUE, "HELLO software version", error);
}

static gboolean
decode_infer (SmWireType     type,
              const guint8  *body,
              gsize          size,
              const guint8  *tensor,
              gsize          tensor_size,
              SmWireInfer   *in,
              GError       **error)
{
  if (size != INFER_BODY)
    return reject (error, SM_WIRE_STATUS_MALFORMED, "%s body is %zu bytes, not %d", sm_wire_type_name (type), size, INFER_BODY);
  if (body[1] != 0 || body[2] != 0 || body[3] != 0 || get32 (body + 12) != 0)
    return reject (error, SM_WIRE_STATUS_MALFORMED, "reserved bytes of %s are not zero", sm_wire_type_name (type));

  in->expert = body[0];
  in->rows = get32 (body + 4);
  in->cols = get32 (body + 8);
  in->queue_ns = get64 (body + 16);
  in->compute_ns = get64 (body + 24);

  if (in->expert >= 32 && !(type == SM_WIRE_INFER_REQUEST && in->expert == SM_WIRE_EXPERT_ROUTE))
    return reject (error, SM_WIRE_STATUS_MALFORMED, "expert %u out of range", in->expert);
  if (type == SM_WIRE_INFER_REQUEST && (in->queue_ns != 0 || in->compute_ns != 0))
    return reject (error, SM_WIRE_STATUS_MALFORMED, "INFER_REQUEST carries timings");
  if (in->rows == 0 || in->cols == 0)
    return reject (error, SM_WIRE_STATUS_MALFORMED, "empty %u×%u tensor", in->rows, in->cols);
  if (in->rows > SM_WIRE_ROWS_MAX || in->cols > SM_WIRE_COLS_MAX
      || (gsize) in->rows * in->cols > SM_WIRE_TENSOR_FLOATS_MAX)
    return reject (error, SM_WIRE_STATUS_TOO_LARGE, "%u×%u tensor exceeds %d×%d or %u floats",
                   in->rows, in->cols, SM_WIRE_ROWS_MAX, SM_WIRE_COLS_MAX, SM_WIRE_TENSOR_FLOATS_MAX);
  if (tensor_size != (gsize) in->rows * in->cols * sizeof (float))
    return reject (error, SM_WIRE_STATUS_MALFORMED, "tensor frame of %zu bytes for a %u×%u float32 tensor",
                   tensor_size, in->rows, in->cols);
  if (!all_finite (tensor, tensor_size))
    return reject (error, SM_WIRE_STATUS_MALFORMED, "%s tensor holds NaN or infinity", sm_wire_type_name (type));
  return TRUE;
}

static gboolean
decode_error_reply (const guint8      *body,
                    gsize              size,
                    SmWireErrorReply  *e,
                    GError           **error)
{
  gsize n;

  if (size < ERROR_FIXED)
    return reject (error, SM_WIRE_STATUS_MALFORMED, "ERROR body of %zu bytes is too short", size);
  e->code = get16 (body);
  n = get16 (body + 2);
  if (e->code < SM_WIRE_STATUS_MALFORMED || e->code > SM_WIRE_STATUS_LAST)
    return reject (error, SM_WIRE_STATUS_MALFORMED, "unknown error code %u", e->code);
  if (n > SM_WIRE_MESSAGE_MAX)
    return reject (error, SM_WIRE_STATUS_TOO_LARGE, "ERROR message of %zu bytes is too long", n);
  if (size != ERROR_FIXED + n)
    return reject (error, SM_WIRE_STATUS_MALFORMED, "ERROR body size %zu does not match its message", size);
  return get_string (body + ERROR_FIXED, n, e->message, FALSE, "ERROR message", error);
}

static gboolean
decode_metrics (const guint8   *body,
                gsize           size,
                SmWireMetrics  *m,
                GError        **error)
{
  if (size != METRICS_BODY)
    return reject (error, SM_WIRE_STATUS_MALFORMED, "METRICS body is %zu bytes, not %d", size, METRICS_BODY);

  m->uptime_ms = get64 (body);
  m->completed = get64 (body + 8);
  m->failed = get64 (body + 16);
  m->ops_per_s = get_double (body + 24);
  m->p50_ns = get64 (body + 32);
  m->p99_ns = get64 (body + 40);
  m->p999_ns = get64 (body + 48);
  m->pool_in_use = get64 (body + 56);
  m->pool_limit = get64 (body + 64);
  m->fragmentation = get_double (body + 72);
  m->queue_depth = get32 (body + 80);
  m->peers = get32 (body + 84);
  m->replies_dropped = get64 (body + 88);

  /* A dashboard charts these as they come: nothing it could not draw. */
  if (!isfinite (m->ops_per_s) || m->ops_per_s < 0)
    return reject (error, SM_WIRE_STATUS_MALFORMED, "METRICS ops/s is not a finite rate");
  if (!(m->fragmentation >= 0 && m->fragmentation <= 1))
    return reject (error, SM_WIRE_STATUS_MALFORMED, "METRICS fragmentation is outside [0, 1]");
  return TRUE;
}

gboolean
sm_wire_decode (const guint8   *envelope,
                gsize           envelope_size,
                const guint8   *tensor,
                gsize           tensor_size,
                SmWireMessage  *message,
                GError        **error)
{
  const guint8 *body = envelope + SM_WIRE_HEADER_SIZE;
  gsize body_size;
  guint version, type;

  g_return_val_if_fail (envelope != NULL || envelope_size == 0, FALSE);
  g_return_val_if_fail (tensor != NULL || tensor_size == 0, FALSE);
  g_return_val_if_fail (message != NULL, FALSE);

  memset (message, 0, sizeof *message);

  if (envelope_size < SM_WIRE_HEADER_SIZE)
    return reject (error, SM_WIRE_STATUS_MALFORMED, "frame of %zu bytes is shorter than the %d-byte header",
                   envelope_size, SM_WIRE_HEADER_SIZE);
  if (get32 (envelope + AT_MAGIC) != SM_WIRE_MAGIC)
    return reject (error, SM_WIRE_STATUS_MALFORMED, "not a Synaptic Mesh frame (bad magic)");

  /* From here on the header is ours: an error reply can name the request. */
  message->request_id = get64 (envelope + AT_REQUEST_ID);
  message->sent_ns = get64 (envelope + AT_SENT_NS);
  message->echo_ns = get64 (envelope + AT_ECHO_NS);
  message->flags = get32 (envelope + AT_FLAGS);
  version = get16 (envelope + AT_VERSION);
  type = get16 (envelope + AT_TYPE);
  body_size = get32 (envelope + AT_BODY_SIZE);

  if (version != SM_WIRE_VERSION)
    return reject (error, SM_WIRE_STATUS_BAD_VERSION, "protocol version %u is not supported (this node speaks %d)",
                   version, SM_WIRE_VERSION);
  if (type < SM_WIRE_HELLO || type > SM_WIRE_BYE)
    return reject (error, SM_WIRE_STATUS_BAD_TYPE, "unknown message type %u", type);
  message->type = type;
  if (envelope_size > SM_WIRE_ENVELOPE_MAX)
    return reject (error, SM_WIRE_STATUS_TOO_LARGE, "%s frame of %zu bytes exceeds %d",
                   sm_wire_type_name (type), envelope_size, SM_WIRE_ENVELOPE_MAX);
  if (body_size != envelope_size - SM_WIRE_HEADER_SIZE)
    return reject (error, SM_WIRE_STATUS_MALFORMED, "header says %zu body bytes, the frame has %zu",
                   body_size, envelope_size - SM_WIRE_HEADER_SIZE);
  if ((message->flags & ~SM_WIRE_FLAGS_KNOWN) != 0)
    return reject (error, SM_WIRE_STATUS_MALFORMED, "reserved flag bits 0x%x are set", message->flags & ~SM_WIRE_FLAGS_KNOWN);
  if (tensor_size > SM_WIRE_TENSOR_MAX)
    return reject (error, SM_WIRE_STATUS_TOO_LARGE, "tensor frame of %zu bytes exceeds %zu", tensor_size, SM_WIRE_TENSOR_MAX);
  if (((message->flags & SM_WIRE_FLAG_TENSOR) != 0) != carries_tensor (type)
      || (tensor != NULL) != carries_tensor (type))
    return reject (error, SM_WIRE_STATUS_MALFORMED, "%s %s a tensor frame", sm_wire_type_name (type),
                   carries_tensor (type) ? "needs" : "cannot have");

  /* Only answers echo a request's clock; in anything else a value there
   * would be a field nobody reads, which a strict decoder refuses. */
  if (message->echo_ns != 0 && (type == SM_WIRE_PING || type == SM_WIRE_INFER_REQUEST
                                || type == SM_WIRE_METRICS || type == SM_WIRE_BYE))
    return reject (error, SM_WIRE_STATUS_MALFORMED, "%s carries an echo time", sm_wire_type_name (type));

  switch ((SmWireType) type)
    {
    case SM_WIRE_HELLO:
      return decode_hello (body, body_size, &message->body.hello, error);

    case SM_WIRE_INFER_REQUEST:
    case SM_WIRE_INFER_REPLY:
      if (!decode_infer (type, body, body_size, tensor, tensor_size, &message->body.infer, error))
        return FALSE;
      message->tensor = tensor;
      message->tensor_size = tensor_size;
      return TRUE;

    case SM_WIRE_ERROR_REPLY:
      return decode_error_reply (body, body_size, &message->body.error, error);

    case SM_WIRE_METRICS:
      return decode_metrics (body, body_size, &message->body.metrics, error);

    case SM_WIRE_PING:
    case SM_WIRE_PONG:
    case SM_WIRE_BYE:
      if (body_size != 0)
        return reject (error, SM_WIRE_STATUS_MALFORMED, "%s has a %zu-byte body", sm_wire_type_name (type), body_size);
      return TRUE;

    default:
      g_assert_not_reached ();
    }
}

void
sm_wire_tensor_copy (const SmWireMessage *message,
                     float               *out)
{
  g_return_if_fail (carries_tensor (message->type));

  memcpy (out, message->tensor, message->tensor_size);
}
