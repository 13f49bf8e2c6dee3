/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>
#include <xxhash.h>

#include "sm-features.h"
#include "sm-keywords.h"

#define MAX_WORD_BYTES 64
#define KEYWORD_SLOTS  1024   /* a power of two, well above 2 × the table */

/* The keyword table as an open-addressing hash set keyed by the words'
 * XXH3 hashes: a lookup is one hash and, almost always, one probe. */
typedef struct
{
  guint64 hash;        /* 0 marks an empty slot */
  guint   domains;     /* bit d set when the word counts for domain d */
  float   weights[SM_N_DOMAINS];
} KeywordSlot;

static KeywordSlot keyword_slots[KEYWORD_SLOTS];

static guint64
hash_word (const char *word,
           gsize       length)
{
  guint64 h = XXH3_64bits (word, length);

  return h != 0 ? h : 1;
}

static gpointer
build_keyword_set (gpointer data)
{
  for (guint i = 0; i < sm_n_keywords; i++)
    {
      guint64 h = hash_word (sm_keywords[i].word, strlen (sm_keywords[i].word));
      guint slot = (guint) h & (KEYWORD_SLOTS - 1);

      while (keyword_slots[slot].hash != 0 && keyword_slots[slot].hash != h)
        slot = (slot + 1) & (KEYWORD_SLOTS - 1);
      keyword_slots[slot].hash = h;
      keyword_slots[slot].domains |= 1u << sm_keywords[i].domain;
      keyword_slots[slot].weights[sm_keywords[i].domain] = sm_keywords[i].weight;
    }

  return GINT_TO_POINTER (1);
}

static const KeywordSlot *
find_keyword (guint64 h)
{
  static GOnce once = G_ONCE_INIT;
  guint slot = (guint) h & (KEYWORD_SLOTS - 1);

  g_once (&once, build_keyword_set, NULL);

  for (;;)
    {
      if (keyword_slots[slot].hash == h)
        return &keyword_slots[slot];
      if (keyword_slots[slot].hash == 0)
        return NULL;
      slot = (slot + 1) & (KEYWORD_SLOTS - 1);
    }
}

guint
sm_features_lookup_keyword (const char *word,
                            gsize       length,
                            float      *weight)
{
  const KeywordSlot *slot = find_keyword (hash_word (word, length));
  float total = 0;

  if (slot == NULL)
    return 0;
  for (guint d = 0; d < SM_N_DOMAINS; d++)
    total = MAX (total, slot->weights[d]);
  if (weight != NULL)
    *weight = total;

  return slot->domains;
}

/* SplitMix64's finaliser: a full 64-bit mix of any integer. */
static inline guint64
mix64 (guint64 z)
{
  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return z ^ (z >> 31);
}

/* Byte classes, by table: this loop runs for every byte of every query. */
enum { WORD = 1, OPERATOR = 2, CODE = 4 };

static const guint8 byte_class[256] = {
  ['0' ... '9'] = WORD, ['A' ... 'Z'] = WORD, ['a' ... 'z'] = WORD, [0x80 ... 0xff] = WORD,
  ['+'] = OPERATOR, ['-'] = OPERATOR, ['*'] = OPERATOR, ['/'] = OPERATOR, ['='] = OPERATOR,
  ['^'] = OPERATOR, ['%'] = OPERATOR, ['<'] = OPERATOR, ['>'] = OPERATOR,
  ['{'] = CODE, ['}'] = CODE, ['('] = CODE, [')'] = CODE, [';'] = CODE, ['['] = CODE, [']'] = CODE,
};

static inline gboolean
is_word_byte (guint8 c)
{
  return byte_class[c] & WORD;
}

static inline gboolean
is_operator (guint8 c)
{
  return byte_class[c] & OPERATOR;
}

static inline gboolean
is_code_punctuation (guint8 c)
{
  return byte_class[c] & CODE;
}

/* ASCII lower case inline: g_ascii_tolower() is a call per byte. */
static inline char
lower (guint8 c)
{
  return (char) (c >= 'A' && c <= 'Z' ? c | 0x20 : c);
}

/* Adds ±1 to a hash-chosen bucket (the hashing trick), and what that
 * adds to the sum of the buckets' squares, (v ± 1)² − v² = 1 ± 2v:
 * summing the squares afterwards was a chain of a few hundred dependent
 * additions, an eighth of the whole extraction.  Buckets hold small
 * integers, so every float here is exact and the result the same (until
 * the sum passes 2^24, which takes a text of a few thousand repeats of one
 * 3-gram, where both roundings are within a float's precision). */
static inline void
add_to_bucket (float   *buckets,
               guint    n_buckets,
               guint64  h,
               float   *squares)
{
  guint index = (guint) (((unsigned __int128) (h >> 1) * n_buckets) >> 63);
  float sign = (h & 1) ? 1.0f : -1.0f;

  *squares += 1.0f + 2.0f * sign * buckets[index];
  buckets[index] += sign;
}

void
sm_features_extract (const char       *text,
                     gssize            length,
                     float            *features,
                     guint             width,
                     SmFeatureSummary *summary)
{
  const guint8 *bytes = (const guint8 *) text;
  gsize n = length < 0 ? strlen (text) : (gsize) length;
  guint32 draws[SM_FEATURES_EMBEDDING] = { 0 };   /* sums of the embeddings' 16-bit draws */
  double scores[SM_N_DOMAINS] = { 0 };
  float stats[8];
  guint n_words = 0, word_bytes = 0, digits = 0, upper = 0, operators = 0, code = 0, non_ascii = 0;
  guint n_buckets = width > SM_FEATURES_BUCKETS_AT ? width - SM_FEATURES_BUCKETS_AT : 0;
  float *buckets = features + SM_FEATURES_BUCKETS_AT;
  guint32 trigram = 0;
  float squares = 0;      /* of the buckets, kept as they change */

  memset (features, 0, width * sizeof (float));

  for (gsize i = 0; i < n; )
    {
      guint8 c = bytes[i];
      char word[MAX_WORD_BYTES];
      gsize start = i, len;
      gboolean numeric = TRUE;
      guint64 h;

      digits += g_ascii_isdigit (c);
      upper += g_ascii_isupper (c);
      non_ascii += c >= 0x80;

      if (!is_word_byte (c) && !is_operator (c))
        {
          code += is_code_punctuation (c);
          i++;
          continue;
        }

      /* A word, or one operator character. */
      if (is_operator (c))
        {
          operators++;
          i++;
        }
      else
        while (i < n && is_word_byte (bytes[i]))
          {
            numeric &= g_ascii_isdigit (bytes[i]);
            if (i > start)
              {
                digits += g_ascii_isdigit (bytes[i]);
                upper += g_ascii_isupper (bytes[i]);
                non_ascii += bytes[i] >= 0x80;
              }
            i++;
          }

      len = MIN (i - start, sizeof word);
      for (gsize k = 0; k < len; k++)
        word[k] = lower (bytes[start + k]);
      h = hash_word (word, len);
      word_bytes += i - start;
      n_words++;

      if (n_buckets > 0)
        add_to_bucket (buckets, n_buckets, h, &squares);

      if (n_words <= SM_FEATURES_MAX_WORDS)
        {
          const KeywordSlot *slot = find_keyword (h);
          guint64 state = h;

          for (guint d = 0; slot != NULL && d < SM_N_DOMAINS; d++)
            scores[d] += slot->weights[d];
          if (numeric && !is_operator (c))
            scores[SM_DOMAIN_MATHEMATICS] += 0.5;

          /* Four 16-bit draws per 64-bit mix: the word's embedding. */
#pragma GCC unroll 4
          for (guint e = 0; e < SM_FEATURES_EMBEDDING; e += 4)
            {
              guint64 r = mix64 (state += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15));

#pragma GCC unroll 4
              for (guint q = 0; q < 4; q++)
                draws[e + q] += (guint32) ((r >> (16 * q)) & 0xffff);
            }
        }
    }

  /* Character 3-grams of the lower-cased bytes, packed and mixed; their
   * squares in two sums, two chains of additions instead of one. */
  if (n_buckets > 0)
    {
      float odd = 0;

      for (gsize i = 0; i < n; i++)
        {
          trigram = (trigram << 8 | (guint8) lower (bytes[i])) & 0xffffff;
          if (i >= 2)
            add_to_bucket (buckets, n_buckets, mix64 (trigram | G_GUINT64_CONSTANT (0x3) << 40),
                           i & 1 ? &odd : &squares);
        }
      squares += odd;
    }

  scores[SM_DOMAIN_CODING] += 0.5 * code;

  stats[0] = log1pf ((float) n) / 8.0f;
  stats[1] = log1pf ((float) n_words) / 6.0f;
  stats[2] = n_words ? (float) word_bytes / n_words / 10.0f : 0.0f;
  stats[3] = n ? (float) digits / n : 0.0f;
  stats[4] = n ? (float) upper / n : 0.0f;
  stats[5] = n ? (float) operators / n : 0.0f;
  stats[6] = n ? (float) code / n : 0.0f;
  stats[7] = n ? (float) non_ascii / n : 0.0f;

  /* Lay out the prefix that fits in this width. */
  for (guint e = 0; e < SM_FEATURES_EMBEDDING && e < width; e++)
    {
      /* Each draw d is d / 32768 − 1 in [−1, 1).  Summed in integers and
       * scaled once: the same float as summing the scaled draws, which
       * was exact too (at most 512 words of 15 fractional bits fit in a
       * float), without a conversion per draw. */
      guint words = MIN (n_words, SM_FEATURES_MAX_WORDS);
      float embedding = (float) ((gint64) draws[e] - (gint64) words * 32768) * (1.0f / 32768.0f);

      features[e] = n_words ? embedding / words : 0.0f;
    }
  for (guint d = 0; d < SM_N_DOMAINS && SM_FEATURES_DOMAINS_AT + d < width; d++)
    features[SM_FEATURES_DOMAINS_AT + d] = (float) scores[d];
  for (guint s = 0; s < 8 && SM_FEATURES_STATS_AT + s < width; s++)
    features[SM_FEATURES_STATS_AT + s] = stats[s];
  if (n_buckets > 0 && squares > 0)
    {
      float inverse = 1.0f / sqrtf (squares);

      guint b = 0;

      /* Four at a time, which the compiler makes one vector multiply. */
      for (; b + 4 <= n_buckets; b += 4)
        {
          buckets[b] *= inverse;
          buckets[b + 1] *= inverse;
          buckets[b + 2] *= inverse;
          buckets[b + 3] *= inverse;
        }
      for (; b < n_buckets; b++)
        buckets[b] *= inverse;
    }

  if (summary != NULL)
    {
      summary->n_words = n_words;
      memcpy (summary->domain_scores, scores, sizeof scores);
    }
}
