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

// Parses and renders with every allocation from the arena; the HTML is the
// arena's too. Not inlined: __builtin_setjmp's caller must not be the function
// that holds cmark-gfm's state in registers.
[[gnu::noinline]] char* parse_and_render(std::string_view markdown, int options) {
  cmark_parser* parser = cmark_parser_new_with_mem(options, &arena_allocator);
  for (const char* name : extensions) {
    // Registered by render_html before this runs: never null.
    cmark_parser_attach_syntax_extension(parser, cmark_find_syntax_extension(name));
  }
  cmark_parser_feed(parser, markdown.data(), markdown.size());
  cmark_node* document = cmark_parser_finish(parser);
  char* html =
      cmark_render_html_with_mem(document, options, cmark_parser_get_syntax_extensions(parser), &arena_allocator);
  cmark_node_free(document);
  cmark_parser_free(parser);
  return html;
}

} // namespace

Result<std::string> render_html(std::string_view markdown, const MarkdownOptions& options) {
  if (markdown.size() > options.max_input) return fail(Errc::limit_reached, "markdown input");
  // cmark-gfm's registry of extensions: filled once, with its own allocator.
  cmark_gfm_core_extensions_ensure_registered();
  int flags = CMARK_OPT_UNSAFE | CMARK_OPT_FOOTNOTES | CMARK_OPT_VALIDATE_UTF8;
  if (options.smart) flags |= CMARK_OPT_SMART;

  Arena arena(options.max_memory);
  ArenaScope scope(arena);
  if (__builtin_setjmp(arena.jump) != 0) return fail(Errc::no_memory, "markdown rendering");
  char* html = parse_and_render(markdown, flags);
  // The copy is as large as the HTML, which max_memory bounds; it comes from
  // operator new, which cannot fail softly, so check that the heap has it.
  std::size_t length = std::strlen(html);
  if (memory_stats().free < length) return fail(Errc::no_memory, "markdown HTML");
  return std::string(html, length);
}

} // namespace morgana::markdown
