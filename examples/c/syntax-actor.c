// A Tessera actor that parses source code: tree-sitter's runtime with its C, C++, C#, JavaScript,
// TypeScript and TSX grammars (the C sources their npm packages ship), compiled to one wasm32-wasi
// reactor of about 10 MB — most of it the grammars' lexers and parse tables.
//
// A message is "<language>\n<source>"; the reply is one line of figures for the syntax tree
// (named nodes, error nodes, depth) and then the tree as an S-expression, cut at 16 KiB. The
// actor's durable state counts, per language, the files and named nodes it has parsed; the
// message "stats" replies with those counts. A language it does not know panics.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tree_sitter/api.h>
#include "tessera.h"

const TSLanguage *tree_sitter_c(void);
const TSLanguage *tree_sitter_cpp(void);
const TSLanguage *tree_sitter_c_sharp(void);
const TSLanguage *tree_sitter_javascript(void);
const TSLanguage *tree_sitter_typescript(void);
const TSLanguage *tree_sitter_tsx(void);

static const struct {
  const char *name;
  const TSLanguage *(*language)(void);
} LANGUAGES[] = {
    {"c", tree_sitter_c},
    {"cpp", tree_sitter_cpp},
    {"csharp", tree_sitter_c_sharp},
    {"javascript", tree_sitter_javascript},
    {"typescript", tree_sitter_typescript},
    {"tsx", tree_sitter_tsx},
};
#define LANGUAGE_COUNT (sizeof LANGUAGES / sizeof LANGUAGES[0])
#define TREE_LIMIT 16384

static void fail(const char *msg) {
  tessera_panic(msg, (int)strlen(msg));
}

/** Per-language counters in state: key "<language>", value two little-endian u64 (files, nodes). */
static void count(const char *language, uint64_t nodes) {
  uint64_t v[2] = {0, 0};
  int n = tessera_state_read(language, (int)strlen(language), v, sizeof v);
  if (n != -1 && n != (int)sizeof v) fail("corrupt counter in state");
  v[0] += 1;
  v[1] += nodes;
  tessera_state_write(language, (int)strlen(language), v, sizeof v);
}

static void reply_stats(void) {
  char out[1024];
  int len = 0;
  for (size_t i = 0; i < LANGUAGE_COUNT; i++) {
    uint64_t v[2] = {0, 0};
    if (tessera_state_read(LANGUAGES[i].name, (int)strlen(LANGUAGES[i].name), v, sizeof v) == -1) continue;
    len += snprintf(out + len, sizeof out - len, "%s files=%llu nodes=%llu\n", LANGUAGES[i].name, (unsigned long long)v[0], (unsigned long long)v[1]);
  }
  tessera_reply(out, len);
}

__attribute__((export_name("handle"))) void handle(void) {
  int size = tessera_input_size();
  char *input = malloc((size_t)size + 1);
  if (!input) fail("out of memory");
  tessera_input_read(input);
  input[size] = 0;
  if (strcmp(input, "stats") == 0) {
    reply_stats();
    return;
  }
  char *newline = memchr(input, '\n', (size_t)size);
  if (!newline) fail("expected \"<language>\\n<source>\"");
  *newline = 0;
  const TSLanguage *language = NULL;
  for (size_t i = 0; i < LANGUAGE_COUNT; i++) {
    if (strcmp(input, LANGUAGES[i].name) == 0) language = LANGUAGES[i].language();
  }
  if (!language) fail("unknown language (c, cpp, csharp, javascript, typescript, tsx)");

  TSParser *parser = ts_parser_new();
  if (!ts_parser_set_language(parser, language)) fail("grammar and runtime disagree on the ABI version");
  const char *source = newline + 1;
  TSTree *tree = ts_parser_parse_string(parser, NULL, source, (uint32_t)(size - (source - input)));
  if (!tree) fail("parse failed");
  TSNode root = ts_tree_root_node(tree);

  // Walk the whole tree once: named nodes, error or missing nodes, depth.
  uint64_t nodes = 0, errors = 0;
  uint32_t depth = 0, max_depth = 0;
  TSTreeCursor cursor = ts_tree_cursor_new(root);
  for (;;) {
    TSNode node = ts_tree_cursor_current_node(&cursor);
    if (ts_node_is_named(node)) nodes++;
    if (ts_node_is_error(node) || ts_node_is_missing(node)) errors++;
    if (depth > max_depth) max_depth = depth;
    if (ts_tree_cursor_goto_first_child(&cursor)) {
      depth++;
      continue;
    }
    while (!ts_tree_cursor_goto_next_sibling(&cursor)) {
      if (!ts_tree_cursor_goto_parent(&cursor)) goto walked;
      depth--;
    }
  }
walked:
  ts_tree_cursor_delete(&cursor);

  char *sexp = ts_node_string(root);
  size_t sexp_len = strlen(sexp);
  int cut = sexp_len > TREE_LIMIT;
  char head[128];
  int head_len = snprintf(head, sizeof head, "nodes=%llu errors=%llu depth=%u%s\n", (unsigned long long)nodes, (unsigned long long)errors, max_depth, cut ? " (tree cut)" : "");
  size_t body = cut ? TREE_LIMIT : sexp_len;
  char *out = malloc((size_t)head_len + body);
  if (!out) fail("out of memory");
  memcpy(out, head, (size_t)head_len);
  memcpy(out + head_len, sexp, body);
  tessera_reply(out, head_len + (int)body);
  count(input, nodes);

  free(out);
  free(sexp);
  ts_tree_delete(tree);
  ts_parser_delete(parser);
  free(input);
}
