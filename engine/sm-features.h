/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "sm-model.h"

G_BEGIN_DECLS

/* Query text → features.  Any byte sequence is valid input: text is read as
 * bytes, ASCII letters and digits and every byte ≥ 0x80 (the parts of UTF-8
 * characters) make words, operator characters are words of their own, the
 * rest separates.  Words and character 3-grams are hashed with XXH3 (64-bit).
 *
 * The feature vector of width W, in this order (a narrower expert takes a
 * prefix):
 *   [0, 16)   hashed token embeddings: each word's hash seeds 16 values in
 *             [−1, 1), averaged over the words
 *   [16, 22)  the six domain scores of the keyword patterns (sm-keywords.c)
 *   [22, 30)  length and character statistics
 *   [30, W)   the hashing trick: words and character 3-grams, each added
 *             with a hash-chosen sign to a hash-chosen bucket, L2-normalised */

#define SM_FEATURES_EMBEDDING    16
#define SM_FEATURES_DOMAINS_AT   16
#define SM_FEATURES_STATS_AT     (SM_FEATURES_DOMAINS_AT + SM_N_DOMAINS)
#define SM_FEATURES_BUCKETS_AT   (SM_FEATURES_STATS_AT + 8)
#define SM_FEATURES_MAX_WORDS    512

typedef struct
{
  guint   n_words;
  double  domain_scores[SM_N_DOMAINS];  /* keyword evidence, ≥ 0 */
} SmFeatureSummary;

/* Fills @features (@width floats) from @text (@length bytes, or -1 when
 * NUL-terminated) and, if given, @summary.  Thread-safe; allocates nothing
 * (texts longer than SM_FEATURES_MAX_WORDS words are read in full for the
 * statistics and buckets, the first words for embeddings and scores). */
void     sm_features_extract (const char       *text,
                              gssize            length,
                              float            *features,
                              guint             width,
                              SmFeatureSummary *summary);

/* The keyword table's domains for one lower-case word, as a bit mask by
 * SmDomain, with the word's weight; 0 when it is no keyword. */
guint    sm_features_lookup_keyword (const char *word,
                                     gsize       length,
                                     float      *weight);

G_END_DECLS
