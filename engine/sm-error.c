/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "sm-error.h"

G_DEFINE_QUARK (sm-engine-error-quark, sm_engine_error)
