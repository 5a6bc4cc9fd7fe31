#pragma once

// Header fields (RFC 9110 §5): an ordered list of name/value pairs with
// case-insensitive lookup. A parsed message's fields are views into the
// connection's buffer (add_view); fields a program adds are copied (add).

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace morgana::http {

struct Field {
  std::string_view name;
  std::string_view value;
};

// tchar (RFC 9110 §5.6.2).
[[nodiscard]] bool is_token_char(char c);
[[nodiscard]] bool is_token(std::string_view text);
// Bytes allowed in field values and chunk extensions: VCHAR, SP, HTAB,
// obs-text; no CR, LF, NUL or other controls (RFC 9110 §5.5).
[[nodiscard]] bool is_field_char(char c);
[[nodiscard]] bool is_field_value(std::string_view value);
// Removes leading and trailing SP and HTAB (OWS, RFC 9110 §5.6.3).
[[nodiscard]] std::string_view trim_ows(std::string_view text);

// Calls fn(element) for each element of a comma-separated list (RFC 9110
// §5.6.1), trimmed, skipping empty elements. Commas inside quoted strings do
// not split.
template <class Fn>
void for_each_list_element(std::string_view value, Fn&& fn) {
  std::size_t start = 0;
  bool quoted = false;
  for (std::size_t i = 0; i <= value.size(); ++i) {
    if (i < value.size()) {
      char c = value[i];
      if (quoted && c == '\\') {
        ++i;
        continue;
      }
      if (c == '"') quoted = !quoted;
      if (c != ',' || quoted) continue;
    }
    auto element = trim_ows(value.substr(start, i - start));
    if (!element.empty()) fn(element);
    start = i + 1;
  }
}

class Headers {
public:
  Headers() = default;
  // A copy owns copies of every field, views included.
  Headers(const Headers& other);
  Headers& operator=(const Headers& other);
  Headers(Headers&&) noexcept = default;
  Headers& operator=(Headers&&) noexcept = default;
  ~Headers() = default;

  // Appends a field, copying name and value.
  void add(std::string_view name, std::string_view value);
  // Appends a field that refers to storage the caller keeps alive.
  void add_view(std::string_view name, std::string_view value);
  // Replaces every field named `name` with one.
  void set(std::string_view name, std::string_view value);
  // Removes every field named `name`; returns how many.
  std::size_t remove(std::string_view name);
  void clear();

  // The first field named `name`.
  [[nodiscard]] std::optional<std::string_view> get(std::string_view name) const;
  [[nodiscard]] bool contains(std::string_view name) const { return get(name).has_value(); }
  [[nodiscard]] std::size_t count(std::string_view name) const;
  // The list elements of every field named `name`, in order (RFC 9110 §5.3).
  [[nodiscard]] std::vector<std::string_view> list(std::string_view name) const;
  // Whether any list element of `name` equals `token` case-insensitively,
  // e.g. has_token("Connection", "close").
  [[nodiscard]] bool has_token(std::string_view name, std::string_view token) const;

  [[nodiscard]] std::span<const Field> fields() const { return m_fields; }
  [[nodiscard]] std::size_t size() const { return m_fields.size(); }
  [[nodiscard]] bool empty() const { return m_fields.empty(); }
  [[nodiscard]] auto begin() const { return m_fields.begin(); }
  [[nodiscard]] auto end() const { return m_fields.end(); }

private:
  std::vector<Field> m_fields;
  // Heap blocks stay put when the vector or the Headers moves.
  std::vector<std::unique_ptr<char[]>> m_storage;
};

} // namespace morgana::http
