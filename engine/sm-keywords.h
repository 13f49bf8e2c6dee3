/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "sm-model.h"

G_BEGIN_DECLS

/* One entry of the routing keyword table (sm-keywords.c). */
typedef struct
{
  SmDomain    domain;
  const char *word;     /* lower case, as the tokenizer yields it */
  float       weight;
} SmKeyword;

extern const SmKeyword sm_keywords[];
extern const guint     sm_n_keywords;

G_END_DECLS
