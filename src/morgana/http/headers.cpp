#include "morgana/http/headers.h"

#include <algorithm>
#include <cstring>

#include "morgana/core/ascii.h"

namespace morgana::http {

bool is_token_char(char c) {
  return ascii::is_alnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view text) { return !text.empty() && std::ranges::all_of(text, is_token_char); }

bool is_field_char(char c) {
  auto byte = static_cast<unsigned char>(c);
  return byte == '\t' || (byte >= 0x20 && byte != 0x7f);
}

bool is_field_value(std::string_view value) { return std::ranges::all_of(value, is_field_char); }

std::string_view trim_ows(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

Headers::Headers(const Headers& other) {
  m_fields.reserve(other.m_fields.size());
  for (const auto& field : other.m_fields) add(field.name, field.value);
}

Headers& Headers::operator=(const Headers& other) {
  if (this != &other) {
    Headers copy(other);
    *this = std::move(copy);
  }
  return *this;
}

void Headers::add(std::string_view name, std::string_view value) {
  auto block = std::make_unique<char[]>(name.size() + value.size() + 1);
  if (!name.empty()) std::memcpy(block.get(), name.data(), name.size());
  if (!value.empty()) std::memcpy(block.get() + name.size(), value.data(), value.size());
  m_fields.push_back({{block.get(), name.size()}, {block.get() + name.size(), value.size()}});
  m_storage.push_back(std::move(block));
}

void Headers::add_view(std::string_view name, std::string_view value) { m_fields.push_back({name, value}); }

void Headers::set(std::string_view name, std::string_view value) {
  // `value` may point into a field being removed: add first.
  add(name, value);
  Field added = m_fields.back();
  m_fields.pop_back();
  remove(name);
  m_fields.push_back(added);
}

std::size_t Headers::remove(std::string_view name) {
  return std::erase_if(m_fields, [&](const Field& field) { return ascii::equals_ignoring_case(field.name, name); });
}

void Headers::clear() {
  m_fields.clear();
  m_storage.clear();
}

std::optional<std::string_view> Headers::get(std::string_view name) const {
  for (const auto& field : m_fields) {
    if (ascii::equals_ignoring_case(field.name, name)) return field.value;
  }
  return std::nullopt;
}

std::size_t Headers::count(std::string_view name) const {
  return std::ranges::count_if(m_fields,
                               [&](const Field& field) { return ascii::equals_ignoring_case(field.name, name); });
}

std::vector<std::string_view> Headers::list(std::string_view name) const {
  std::vector<std::string_view> elements;
  for (const auto& field : m_fields) {
    if (ascii::equals_ignoring_case(field.name, name)) {
      for_each_list_element(field.value, [&](std::string_view element) { elements.push_back(element); });
    }
  }
  return elements;
}

bool Headers::has_token(std::string_view name, std::string_view token) const {
  bool found = false;
  for (const auto& field : m_fields) {
    if (ascii::equals_ignoring_case(field.name, name)) {
      for_each_list_element(
          field.value, [&](std::string_view element) { found = found || ascii::equals_ignoring_case(element, token); });
    }
  }
  return found;
}

} // namespace morgana::http
