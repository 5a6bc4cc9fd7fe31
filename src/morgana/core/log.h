#pragma once

#include <cstdint>
#include <string_view>

#include "morgana/core/format.h"
#include "morgana/core/result.h"

namespace morgana::log {

enum class Level : std::uint8_t { off, error, warn, info, debug, trace };

// A named log source ("arp", "dhcp", …). Each layer defines one at namespace
// scope; levels are chosen at boot with --logs=arp:debug,*:info.
class Source {
public:
  explicit Source(std::string_view name);
  Source(const Source&) = delete;
  Source& operator=(const Source&) = delete;

  [[nodiscard]] std::string_view name() const { return m_name; }
  [[nodiscard]] Level level() const;
  [[nodiscard]] bool enabled(Level level) const { return level <= this->level(); }
  void set_level(Level level) {
    m_level = level;
    m_level_set = true;
  }

  template <class... Args>
  void error(std::string_view pattern, const Args&... args) const {
    write(Level::error, pattern, args...);
  }
  template <class... Args>
  void warn(std::string_view pattern, const Args&... args) const {
    write(Level::warn, pattern, args...);
  }
  template <class... Args>
  void info(std::string_view pattern, const Args&... args) const {
    write(Level::info, pattern, args...);
  }
  template <class... Args>
  void debug(std::string_view pattern, const Args&... args) const {
    write(Level::debug, pattern, args...);
  }
  template <class... Args>
  void trace(std::string_view pattern, const Args&... args) const {
    write(Level::trace, pattern, args...);
  }

  template <class... Args>
  void write(Level level, std::string_view pattern, const Args&... args) const {
    if (!enabled(level)) return;
    Line line(*this, level);
    format_to(line.sink(), pattern, args...);
  }

  Source* next() const { return m_next; }

private:
  // One log line: prefix on construction, newline and console write on destruction.
  class Line {
  public:
    Line(const Source& source, Level level);
    ~Line();
    FormatSink& sink() { return m_text; }

  private:
    StringBuilder<1024> m_text;
  };

  std::string_view m_name;
  Level m_level;
  bool m_level_set = false;
  Source* m_next;
  friend Result<void> configure(std::string_view spec);
};

// Applies a level spec such as "arp:debug,*:info" (`*` is every other source).
// Unknown source names and levels fail with Errc::invalid_argument.
[[nodiscard]] Result<void> configure(std::string_view spec);

// The default source, for applications and boot messages.
extern Source main;

} // namespace morgana::log
