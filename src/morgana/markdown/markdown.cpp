#include "morgana/markdown/markdown.h"

#include <cmark-gfm-core-extensions.h>
#include <cmark-gfm-extension_api.h>
#include <cmark-gfm.h>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "morgana/core/memory.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/asan_interface.h>
#define MORGANA_MARKDOWN_ASAN 1
#endif
#endif

namespace morgana::markdown {
namespace {

constexpr const char* extensions[] = {"table", "strikethrough", "autolink", "tasklist"};

// Memory for one render_html call. cmark-gfm uses whatever its allocator
// returns without checking (its own default aborts on failure), so this one
// never returns null: past the budget, or when the heap is empty, it jumps
// back into render_html (__builtin_longjmp, which needs no C library), over
// cmark-gfm's C frames only. Those frames own nothing but blocks from here,
// which are all on one list and freed together, so the jump leaks nothing.
class Arena {
public:
  explicit Arena(std::size_t limit) : m_limit(limit) {}
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  ~Arena() {
    while (m_blocks) release(m_blocks + 1);
  }

  void* calloc(std::size_t count, std::size_t size) {
    if (size && count > SIZE_MAX / size) out_of_memory();
    void* memory = reallocate(nullptr, count * size);
    std::memset(memory, 0, count * size);
    return memory;
  }

  void* reallocate(void* memory, std::size_t size) {
    Block* old = memory ? static_cast<Block*>(memory) - 1 : nullptr;
    std::size_t old_size = old ? old->size : 0;
    if (size > SIZE_MAX - sizeof(Block)) out_of_memory();
    if (size > old_size && size - old_size > m_limit - m_used) out_of_memory();
    if (old) unlink(old);
    auto* block = static_cast<Block*>(std::realloc(old, sizeof(Block) + size));
    if (!block) {
      if (old) link(old); // realloc failed: the old block is still cmark-gfm's, freed with the rest
      out_of_memory();
    }
    block->size = size;
    m_used = m_used - old_size + size;
    link(block);
    return block + 1;
  }

  void release(void* memory) {
    if (!memory) return;
    Block* block = static_cast<Block*>(memory) - 1;
    unlink(block);
    m_used -= block->size;
    std::free(block);
  }

  // Where out_of_memory jumps to: set by render_html with __builtin_setjmp.
  void* jump[5] = {};

private:
  // In front of every allocation; alignas keeps what follows aligned for any type.
  struct alignas(std::max_align_t) Block {
    Block* previous;
    Block* next;
    std::size_t size;
  };

  void link(Block* block) {
    block->previous = nullptr;
    block->next = m_blocks;
    if (m_blocks) m_blocks->previous = block;
    m_blocks = block;
  }

  void unlink(Block* block) {
    if (block->previous) block->previous->next = block->next;
    else m_blocks = block->next;
    if (block->next) block->next->previous = block->previous;
  }

  [[noreturn]] void out_of_memory() {
#ifdef MORGANA_MARKDOWN_ASAN
    __asan_handle_no_return(); // the skipped frames' stack must not stay poisoned
#endif
    __builtin_longjmp(jump, 1);
  }

  Block* m_blocks = nullptr;
  std::size_t m_used = 0;
  std::size_t m_limit;
};

// cmark_mem's functions take no context, so the arena of the call in progress
// is reached through this. render_html runs to completion without yielding and
// restores it when it returns, so calls never see each other's arena.
constinit Arena* g_arena = nullptr;

cmark_mem arena_allocator = {
    .calloc = [](std::size_t count, std::size_t size) { return g_arena->calloc(count, size); },
    .realloc = [](void* memory, std::size_t size) { return g_arena->reallocate(memory, size); },
    .free = [](void* memory) { g_arena->release(memory); },
};

class ArenaScope {
public:
  explicit ArenaScope(Arena& arena) : m_previous(g_arena) { g_arena = &arena; }
  ArenaScope(const ArenaScope&) = delete;
  ArenaScope& operator=(const ArenaScope&) = delete;
  ~ArenaScope() { g_arena = m_previous; }

private:
  Arena* m_previous;
};

struct Document {
  cmark_parser* parser;
  cmark_node* root;
};

// Every allocation from the arena, which frees the parser and the tree with
// the rest.
Document parse(std::string_view markdown, int flags) {
  cmark_parser* parser = cmark_parser_new_with_mem(flags, &arena_allocator);
  for (const char* name : extensions) {
    // Registered by with_document before this runs: never null.
    cmark_parser_attach_syntax_extension(parser, cmark_find_syntax_extension(name));
  }
  cmark_parser_feed(parser, markdown.data(), markdown.size());
  return {parser, cmark_parser_finish(parser)};
}

int cmark_flags(const MarkdownOptions& options) {
  int flags = CMARK_OPT_UNSAFE | CMARK_OPT_FOOTNOTES | CMARK_OPT_VALIDATE_UTF8;
  if (options.smart) flags |= CMARK_OPT_SMART;
  return flags;
}

// Parses `markdown` and calls use(Document) with every cmark-gfm allocation,
// use's included, from an arena that ends with this call. When the arena runs
// out it jumps back here and this returns Errc::no_memory; use's own frame is
// skipped then, so what use allocates outside the arena must belong to its
// caller (reserved before, destroyed by the caller).
template <class Use>
auto with_document(std::string_view markdown, const MarkdownOptions& options, Use use) -> decltype(use(Document{})) {
  if (markdown.size() > options.max_input) return fail(Errc::limit_reached, "markdown input");
  // cmark-gfm's registry of extensions: filled once, with its own allocator.
  cmark_gfm_core_extensions_ensure_registered();
  Arena arena(options.max_memory);
  ArenaScope scope(arena);
  if (__builtin_setjmp(arena.jump) != 0) return fail(Errc::no_memory, "markdown");
  return use(parse(markdown, cmark_flags(options)));
}

// Appends at most `room` bytes of `text` to `out`, never ending inside a UTF-8
// character. False when it had to stop short.
bool append_within(std::string& out, std::string_view text, std::size_t room) {
  if (text.size() <= room) {
    out.append(text);
    return true;
  }
  while (room > 0 && (static_cast<unsigned char>(text[room]) & 0xC0) == 0x80) --room;
  out.append(text.substr(0, room));
  return false;
}

} // namespace

Result<std::string> render_html(std::string_view markdown, const MarkdownOptions& options) {
  return with_document(markdown, options, [&](Document document) -> Result<std::string> {
    char* html = cmark_render_html_with_mem(document.root, cmark_flags(options),
                                            cmark_parser_get_syntax_extensions(document.parser), &arena_allocator);
    // Nothing more comes from the arena: the copy cannot be jumped over. It is
    // as large as the HTML, which max_memory bounds, and comes from operator
    // new, which cannot fail softly, so check that the heap has it.
    std::size_t length = std::strlen(html);
    if (memory_stats().free < length) return fail(Errc::no_memory, "markdown HTML");
    return std::string(html, length);
  });
}

Result<std::string> first_paragraph_text(std::string_view markdown, std::size_t max_length,
                                         const MarkdownOptions& options) {
  // Reserved here, outside the arena's jumps: appending within it allocates nothing.
  std::string text;
  text.reserve(max_length);
  TRY(with_document(markdown, options, [&](Document document) -> Result<void> {
    cmark_node* paragraph = nullptr;
    cmark_iter* iter = cmark_iter_new(document.root);
    while (!paragraph && cmark_iter_next(iter) != CMARK_EVENT_DONE) {
      cmark_node* node = cmark_iter_get_node(iter);
      if (cmark_node_get_type(node) == CMARK_NODE_PARAGRAPH) paragraph = node;
    }
    if (!paragraph) return {};
    cmark_iter_reset(iter, paragraph, CMARK_EVENT_ENTER);
    bool room = true;
    for (cmark_event_type event; room && (event = cmark_iter_next(iter)) != CMARK_EVENT_DONE;) {
      cmark_node* node = cmark_iter_get_node(iter);
      if (event != CMARK_EVENT_ENTER) {
        if (node == paragraph) break;
        continue;
      }
      switch (cmark_node_get_type(node)) {
      case CMARK_NODE_TEXT:
      case CMARK_NODE_CODE: room = append_within(text, cmark_node_get_literal(node), max_length - text.size()); break;
      case CMARK_NODE_SOFTBREAK:
      case CMARK_NODE_LINEBREAK: room = append_within(text, " ", max_length - text.size()); break;
      default: break; // markup: emphasis, links and images keep only their text; inline HTML is dropped
      }
    }
    return {};
  }));
  return text;
}

} // namespace morgana::markdown
