/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define SM_ENGINE_ERROR (sm_engine_error_quark ())

/* Errors every engine module reports through GError.  Each code names what
 * the caller can do about it, not where it happened. */
typedef enum {
  SM_ENGINE_ERROR_FAILED,        /* anything without a better code */
  SM_ENGINE_ERROR_INVALID_INPUT, /* malformed data from outside: a file, a peer */
  SM_ENGINE_ERROR_NOT_SUPPORTED, /* not built in, or this machine lacks it */
  SM_ENGINE_ERROR_NO_MEMORY,     /* a pool or size limit was reached */
  SM_ENGINE_ERROR_IO,            /* reading or writing a file failed */
} SmEngineError;

GQuark sm_engine_error_quark (void);

G_END_DECLS
