/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "sm-keywords.h"

/* The keyword patterns the router scores domains by: one table, so that
 * what routes where can be read in one place.  A word may count for
 * several domains.  Weights: 1.0 a clear sign, 0.5 a hint.  Operators and
 * digits are words too (the tokenizer keeps them). */
const SmKeyword sm_keywords[] = {
  /* Reasoning: argument, cause, inference */
  { SM_DOMAIN_REASONING, "why", 1.0f }, { SM_DOMAIN_REASONING, "because", 1.0f },
  { SM_DOMAIN_REASONING, "therefore", 1.0f }, { SM_DOMAIN_REASONING, "reason", 1.0f },
  { SM_DOMAIN_REASONING, "explain", 0.5f }, { SM_DOMAIN_REASONING, "logic", 1.0f },
  { SM_DOMAIN_REASONING, "logical", 1.0f }, { SM_DOMAIN_REASONING, "infer", 1.0f },
  { SM_DOMAIN_REASONING, "deduce", 1.0f }, { SM_DOMAIN_REASONING, "conclude", 1.0f },
  { SM_DOMAIN_REASONING, "conclusion", 1.0f }, { SM_DOMAIN_REASONING, "premise", 1.0f },
  { SM_DOMAIN_REASONING, "argument", 1.0f }, { SM_DOMAIN_REASONING, "if", 0.5f },
  { SM_DOMAIN_REASONING, "then", 0.5f }, { SM_DOMAIN_REASONING, "imply", 1.0f },
  { SM_DOMAIN_REASONING, "implies", 1.0f }, { SM_DOMAIN_REASONING, "cause", 1.0f },
  { SM_DOMAIN_REASONING, "evidence", 1.0f }, { SM_DOMAIN_REASONING, "compare", 0.5f },
  { SM_DOMAIN_REASONING, "puzzle", 1.0f }, { SM_DOMAIN_REASONING, "riddle", 1.0f },
  { SM_DOMAIN_REASONING, "true", 0.5f }, { SM_DOMAIN_REASONING, "false", 0.5f },
  { SM_DOMAIN_REASONING, "decide", 0.5f }, { SM_DOMAIN_REASONING, "tradeoff", 1.0f },

  /* Coding: languages, constructs, errors */
  { SM_DOMAIN_CODING, "code", 1.0f }, { SM_DOMAIN_CODING, "function", 1.0f },
  { SM_DOMAIN_CODING, "compile", 1.0f }, { SM_DOMAIN_CODING, "compiler", 1.0f },
  { SM_DOMAIN_CODING, "bug", 1.0f }, { SM_DOMAIN_CODING, "debug", 1.0f },
  { SM_DOMAIN_CODING, "python", 1.0f }, { SM_DOMAIN_CODING, "rust", 1.0f },
  { SM_DOMAIN_CODING, "javascript", 1.0f }, { SM_DOMAIN_CODING, "java", 1.0f },
  { SM_DOMAIN_CODING, "c", 0.5f }, { SM_DOMAIN_CODING, "struct", 1.0f },
  { SM_DOMAIN_CODING, "class", 0.5f }, { SM_DOMAIN_CODING, "variable", 1.0f },
  { SM_DOMAIN_CODING, "pointer", 1.0f }, { SM_DOMAIN_CODING, "segfault", 1.0f },
  { SM_DOMAIN_CODING, "exception", 1.0f }, { SM_DOMAIN_CODING, "stack", 0.5f },
  { SM_DOMAIN_CODING, "loop", 1.0f }, { SM_DOMAIN_CODING, "array", 1.0f },
  { SM_DOMAIN_CODING, "refactor", 1.0f }, { SM_DOMAIN_CODING, "git", 1.0f },
  { SM_DOMAIN_CODING, "regex", 1.0f }, { SM_DOMAIN_CODING, "sql", 1.0f },
  { SM_DOMAIN_CODING, "api", 0.5f }, { SM_DOMAIN_CODING, "def", 1.0f },
  { SM_DOMAIN_CODING, "return", 0.5f }, { SM_DOMAIN_CODING, "int", 1.0f },
  { SM_DOMAIN_CODING, "null", 1.0f }, { SM_DOMAIN_CODING, "thread", 0.5f },
  { SM_DOMAIN_CODING, "program", 1.0f }, { SM_DOMAIN_CODING, "script", 1.0f },

  /* Language: words, grammar, translation, writing */
  { SM_DOMAIN_LANGUAGE, "translate", 1.0f }, { SM_DOMAIN_LANGUAGE, "translation", 1.0f },
  { SM_DOMAIN_LANGUAGE, "grammar", 1.0f }, { SM_DOMAIN_LANGUAGE, "word", 1.0f },
  { SM_DOMAIN_LANGUAGE, "words", 1.0f }, { SM_DOMAIN_LANGUAGE, "sentence", 1.0f },
  { SM_DOMAIN_LANGUAGE, "synonym", 1.0f }, { SM_DOMAIN_LANGUAGE, "antonym", 1.0f },
  { SM_DOMAIN_LANGUAGE, "meaning", 1.0f }, { SM_DOMAIN_LANGUAGE, "spell", 1.0f },
  { SM_DOMAIN_LANGUAGE, "spelling", 1.0f }, { SM_DOMAIN_LANGUAGE, "french", 1.0f },
  { SM_DOMAIN_LANGUAGE, "german", 1.0f }, { SM_DOMAIN_LANGUAGE, "spanish", 1.0f },
  { SM_DOMAIN_LANGUAGE, "english", 1.0f }, { SM_DOMAIN_LANGUAGE, "poem", 1.0f },
  { SM_DOMAIN_LANGUAGE, "essay", 1.0f }, { SM_DOMAIN_LANGUAGE, "rewrite", 1.0f },
  { SM_DOMAIN_LANGUAGE, "summarize", 1.0f }, { SM_DOMAIN_LANGUAGE, "paraphrase", 1.0f },
  { SM_DOMAIN_LANGUAGE, "tone", 0.5f }, { SM_DOMAIN_LANGUAGE, "verb", 1.0f },
  { SM_DOMAIN_LANGUAGE, "noun", 1.0f }, { SM_DOMAIN_LANGUAGE, "write", 0.5f },
  { SM_DOMAIN_LANGUAGE, "story", 1.0f }, { SM_DOMAIN_LANGUAGE, "letter", 0.5f },

  /* Mathematics: arithmetic, algebra, calculus; digits and operators */
  { SM_DOMAIN_MATHEMATICS, "calculate", 1.0f }, { SM_DOMAIN_MATHEMATICS, "compute", 0.5f },
  { SM_DOMAIN_MATHEMATICS, "sum", 1.0f }, { SM_DOMAIN_MATHEMATICS, "product", 0.5f },
  { SM_DOMAIN_MATHEMATICS, "equation", 1.0f }, { SM_DOMAIN_MATHEMATICS, "solve", 1.0f },
  { SM_DOMAIN_MATHEMATICS, "integral", 1.0f }, { SM_DOMAIN_MATHEMATICS, "derivative", 1.0f },
  { SM_DOMAIN_MATHEMATICS, "matrix", 1.0f }, { SM_DOMAIN_MATHEMATICS, "prime", 1.0f },
  { SM_DOMAIN_MATHEMATICS, "probability", 1.0f }, { SM_DOMAIN_MATHEMATICS, "algebra", 1.0f },
  { SM_DOMAIN_MATHEMATICS, "geometry", 1.0f }, { SM_DOMAIN_MATHEMATICS, "theorem", 1.0f },
  { SM_DOMAIN_MATHEMATICS, "proof", 0.5f }, { SM_DOMAIN_MATHEMATICS, "number", 0.5f },
  { SM_DOMAIN_MATHEMATICS, "divide", 1.0f }, { SM_DOMAIN_MATHEMATICS, "multiply", 1.0f },
  { SM_DOMAIN_MATHEMATICS, "plus", 1.0f }, { SM_DOMAIN_MATHEMATICS, "minus", 1.0f },
  { SM_DOMAIN_MATHEMATICS, "times", 0.5f }, { SM_DOMAIN_MATHEMATICS, "square", 0.5f },
  { SM_DOMAIN_MATHEMATICS, "root", 0.5f }, { SM_DOMAIN_MATHEMATICS, "percent", 1.0f },
  { SM_DOMAIN_MATHEMATICS, "average", 1.0f }, { SM_DOMAIN_MATHEMATICS, "fraction", 1.0f },
  { SM_DOMAIN_MATHEMATICS, "+", 1.0f }, { SM_DOMAIN_MATHEMATICS, "-", 0.5f },
  { SM_DOMAIN_MATHEMATICS, "*", 1.0f }, { SM_DOMAIN_MATHEMATICS, "/", 0.5f },
  { SM_DOMAIN_MATHEMATICS, "=", 1.0f }, { SM_DOMAIN_MATHEMATICS, "^", 1.0f },
  { SM_DOMAIN_MATHEMATICS, "%", 0.5f },

  /* ToolUse: acting on the world through tools */
  { SM_DOMAIN_TOOL_USE, "search", 1.0f }, { SM_DOMAIN_TOOL_USE, "open", 0.5f },
  { SM_DOMAIN_TOOL_USE, "download", 1.0f }, { SM_DOMAIN_TOOL_USE, "upload", 1.0f },
  { SM_DOMAIN_TOOL_USE, "browse", 1.0f }, { SM_DOMAIN_TOOL_USE, "email", 1.0f },
  { SM_DOMAIN_TOOL_USE, "send", 1.0f }, { SM_DOMAIN_TOOL_USE, "schedule", 1.0f },
  { SM_DOMAIN_TOOL_USE, "calendar", 1.0f }, { SM_DOMAIN_TOOL_USE, "weather", 1.0f },
  { SM_DOMAIN_TOOL_USE, "book", 0.5f }, { SM_DOMAIN_TOOL_USE, "run", 0.5f },
  { SM_DOMAIN_TOOL_USE, "execute", 1.0f }, { SM_DOMAIN_TOOL_USE, "call", 0.5f },
  { SM_DOMAIN_TOOL_USE, "fetch", 1.0f }, { SM_DOMAIN_TOOL_USE, "file", 0.5f },
  { SM_DOMAIN_TOOL_USE, "files", 0.5f }, { SM_DOMAIN_TOOL_USE, "folder", 1.0f },
  { SM_DOMAIN_TOOL_USE, "install", 1.0f }, { SM_DOMAIN_TOOL_USE, "convert", 1.0f },
  { SM_DOMAIN_TOOL_USE, "reminder", 1.0f }, { SM_DOMAIN_TOOL_USE, "timer", 1.0f },
  { SM_DOMAIN_TOOL_USE, "api", 0.5f }, { SM_DOMAIN_TOOL_USE, "lookup", 1.0f },
  { SM_DOMAIN_TOOL_USE, "look", 0.5f },

  /* Context: the conversation itself, memory, references back */
  { SM_DOMAIN_CONTEXT, "earlier", 1.0f }, { SM_DOMAIN_CONTEXT, "previous", 1.0f },
  { SM_DOMAIN_CONTEXT, "previously", 1.0f }, { SM_DOMAIN_CONTEXT, "before", 0.5f },
  { SM_DOMAIN_CONTEXT, "above", 1.0f }, { SM_DOMAIN_CONTEXT, "remember", 1.0f },
  { SM_DOMAIN_CONTEXT, "recall", 1.0f }, { SM_DOMAIN_CONTEXT, "mentioned", 1.0f },
  { SM_DOMAIN_CONTEXT, "said", 1.0f }, { SM_DOMAIN_CONTEXT, "conversation", 1.0f },
  { SM_DOMAIN_CONTEXT, "context", 1.0f }, { SM_DOMAIN_CONTEXT, "history", 0.5f },
  { SM_DOMAIN_CONTEXT, "last", 0.5f }, { SM_DOMAIN_CONTEXT, "again", 0.5f },
  { SM_DOMAIN_CONTEXT, "continue", 1.0f }, { SM_DOMAIN_CONTEXT, "that", 0.5f },
  { SM_DOMAIN_CONTEXT, "it", 0.5f }, { SM_DOMAIN_CONTEXT, "you", 0.5f },
  { SM_DOMAIN_CONTEXT, "we", 0.5f }, { SM_DOMAIN_CONTEXT, "discussed", 1.0f },
};

const guint sm_n_keywords = G_N_ELEMENTS (sm_keywords);
