#include "morgana/http/static_files.h"

#include <limits>
#include <optional>

#include "morgana/core/ascii.h"
#include "morgana/core/format.h"
#include "morgana/http/date.h"
#include "morgana/kv/mime.h"

namespace morgana::http {
namespace {

// The opaque-tag of an entity-tag, without W/ (RFC 9110 §8.8.3); nullopt when malformed.
std::optional<std::string_view> opaque_tag(std::string_view tag, bool* weak = nullptr) {
  bool is_weak = tag.starts_with("W/");
  if (is_weak) tag.remove_prefix(2);
  if (tag.size() < 2 || tag.front() != '"' || tag.back() != '"') return std::nullopt;
  if (weak) *weak = is_weak;
  return tag;
}

std::optional<std::uint64_t> parse_decimal(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

// A qvalue (RFC 9110 §12.4.2) in thousandths; nullopt when malformed.
std::optional<unsigned> parse_qvalue(std::string_view text) {
  if (text.empty() || (text[0] != '0' && text[0] != '1')) return std::nullopt;
  unsigned value = text[0] == '1' ? 1000 : 0;
  if (text.size() == 1) return value;
  if (text[1] != '.' || text.size() > 5) return std::nullopt;
  unsigned scale = 100;
  for (char c : text.substr(2)) {
    if (c < '0' || c > '9') return std::nullopt;
    value += static_cast<unsigned>(c - '0') * scale;
    scale /= 10;
  }
  return value <= 1000 ? std::optional(value) : std::nullopt;
}

std::int64_t whole_seconds(WallClock::time_point time) {
  return std::chrono::floor<std::chrono::seconds>(time.time_since_epoch()).count();
}

} // namespace

bool if_none_match_matches(std::string_view if_none_match, std::string_view etag) {
  auto ours = opaque_tag(etag);
  bool matched = false;
  for_each_list_element(if_none_match, [&](std::string_view element) {
    if (element == "*") matched = true;
    auto theirs = opaque_tag(element);
    if (ours && theirs && *ours == *theirs) matched = true;
  });
  return matched;
}

bool accepts_gzip(const Headers& headers) {
  if (!headers.contains("Accept-Encoding")) return false;
  std::optional<unsigned> gzip;
  std::optional<unsigned> any;
  for (auto element : headers.list("Accept-Encoding")) {
    auto semicolon = element.find(';');
    auto coding = trim_ows(element.substr(0, semicolon));
    unsigned q = 1000;
    if (semicolon != std::string_view::npos) {
      auto parameter = trim_ows(element.substr(semicolon + 1));
      if (parameter.size() < 2 || (parameter[0] != 'q' && parameter[0] != 'Q') || parameter[1] != '=') continue;
      auto parsed = parse_qvalue(trim_ows(parameter.substr(2)));
      if (!parsed) continue;
      q = *parsed;
    }
    if (ascii::equals_ignoring_case(coding, "gzip") || ascii::equals_ignoring_case(coding, "x-gzip")) gzip = q;
    else if (coding == "*") any = q;
  }
  if (gzip) return *gzip > 0;
  return any && *any > 0;
}

ByteRange parse_range(std::string_view range, std::uint64_t length) {
  // Range: bytes=first-last / first- / -suffix (RFC 9110 §14.1.2)
  if (range.size() < 6 || !ascii::equals_ignoring_case(range.substr(0, 6), "bytes=")) return {};
  auto spec = trim_ows(range.substr(6));
  if (spec.find(',') != std::string_view::npos) return {}; // several ranges: answered with the whole file
  auto dash = spec.find('-');
  if (dash == std::string_view::npos) return {};
  auto first_text = spec.substr(0, dash);
  auto last_text = spec.substr(dash + 1);
  if (first_text.empty()) {
    auto suffix = parse_decimal(last_text);
    if (!suffix) return {};
    if (*suffix == 0 || length == 0) return {ByteRange::Kind::unsatisfiable};
    auto count = std::min(*suffix, length);
    return {ByteRange::Kind::satisfiable, length - count, length - 1};
  }
  auto first = parse_decimal(first_text);
  if (!first) return {};
  std::uint64_t last = length == 0 ? 0 : length - 1;
  if (!last_text.empty()) {
    auto parsed = parse_decimal(last_text);
    if (!parsed || *parsed < *first) return {};
    last = std::min(*parsed, last);
  }
  if (*first >= length) return {ByteRange::Kind::unsatisfiable};
  return {ByteRange::Kind::satisfiable, *first, last};
}

StaticFiles::StaticFiles(std::shared_ptr<const kv::Store> store, StaticFilesOptions options)
    : m_store(std::move(store)), m_options(std::move(options)) {}

StaticFiles::StaticFiles(const kv::Store& store, StaticFilesOptions options)
    : StaticFiles(std::shared_ptr<const kv::Store>(std::shared_ptr<const kv::Store>(), &store), std::move(options)) {}

namespace {
// A plain function, not a capturing coroutine lambda: the frame must not
// refer to a closure that may be gone when it runs.
Task<Response> respond_task(const StaticFiles* files, const Request& request) { co_return files->respond(request); }
} // namespace

Handler StaticFiles::handler() const {
  return [this](Request& request) { return respond_task(this, request); };
}

Response StaticFiles::respond(const Request& request) const {
  Response response;
  if (request.method != "GET" && request.method != "HEAD") {
    response = Response::error(Status::method_not_allowed);
    response.headers.add("Allow", "GET, HEAD");
  } else if (!request.path.starts_with('/')) {
    response = not_found(request);
  } else {
    std::string key = request.path.substr(1);
    if (key.empty() || key.ends_with('/')) key += m_options.index;
    auto metadata = m_store->metadata(key);
    if (metadata) {
      response = respond_stored(request, *m_store, key, *metadata, m_options.cache_control);
    } else if (metadata.error() != Errc::not_found) {
      response = Response::error(Status::internal_server_error);
    } else if (!request.path.ends_with('/') && m_store->list(key)) {
      // A directory: its index lives below "/dir/" (relative links resolve against it).
      std::string location = percent_encode_path(request.path) + "/";
      if (!request.query.empty()) {
        location += '?';
        location += request.query;
      }
      response = Response::redirect(Status::moved_permanently, location);
    } else {
      response = not_found(request);
    }
  }
  if (m_options.decorate) m_options.decorate(request, response);
  return response;
}

Response StaticFiles::not_found(const Request&) const {
  auto page = m_store->get(m_options.not_found_page);
  if (!page) return Response::error(Status::not_found);
  Response response;
  response.status = Status::not_found;
  auto metadata = m_store->metadata(m_options.not_found_page);
  auto type =
      metadata && !metadata->content_type.empty() ? metadata->content_type : kv::mime_type(m_options.not_found_page);
  response.headers.add("Content-Type", type);
  response.body = Body::from_value(std::move(*page));
  return response;
}

Response respond_stored(const Request& request, const kv::Store& store, std::string_view key,
                        const kv::Metadata& metadata, std::string_view cache_control) {
  Response response;
  auto gzip = store.get_encoded(key, kv::Encoding::gzip);
  auto range = request.method == "GET" ? request.headers.get("Range") : std::nullopt;
  bool use_gzip = gzip && !range && accepts_gzip(request.headers);

  std::string etag;
  if (!metadata.digest.empty()) {
    etag = "\"";
    etag += metadata.digest;
    if (use_gzip) etag += "-gzip";
    etag += '"';
  }
  bool has_date = metadata.last_modified != WallClock::time_point{};
  if (!etag.empty()) response.headers.add("ETag", etag);
  if (!cache_control.empty()) response.headers.add("Cache-Control", cache_control);
  if (gzip) response.headers.add("Vary", "Accept-Encoding");

  // RFC 9110 §13.2.2: If-None-Match, and only without it If-Modified-Since.
  bool not_modified = false;
  if (auto if_none_match = request.headers.get("If-None-Match")) {
    not_modified = if_none_match_matches(*if_none_match, etag.empty() ? "\"\"" : etag) &&
                   (!etag.empty() || trim_ows(*if_none_match) == "*");
  } else if (auto if_modified_since = request.headers.get("If-Modified-Since"); if_modified_since && has_date) {
    auto since = parse_http_date(*if_modified_since);
    not_modified = since && whole_seconds(metadata.last_modified) <= whole_seconds(*since);
  }
  if (not_modified) {
    response.status = Status::not_modified;
    return response;
  }

  auto value = use_gzip ? std::move(gzip) : store.get(key);
  if (!value) return Response::error(Status::internal_server_error);
  auto body = Body::from_value(std::move(*value));
  auto type = metadata.content_type.empty() ? kv::mime_type(key) : metadata.content_type;
  response.headers.add("Content-Type", type);
  if (use_gzip) response.headers.add("Content-Encoding", "gzip");
  else response.headers.add("Accept-Ranges", "bytes");
  if (has_date) response.headers.add("Last-Modified", format_http_date(metadata.last_modified));

  if (range) {
    // RFC 9110 §13.1.5: If-Range names the representation the client has a part of.
    bool range_applies = true;
    if (auto if_range = request.headers.get("If-Range")) {
      bool weak = false;
      if (opaque_tag(*if_range, &weak)) {
        range_applies = !weak && !etag.empty() && *if_range == etag;
      } else {
        auto date = parse_http_date(*if_range);
        range_applies = date && has_date && whole_seconds(*date) == whole_seconds(metadata.last_modified);
      }
    }
    auto length = static_cast<std::uint64_t>(body.size());
    auto parsed = range_applies ? parse_range(*range, length) : ByteRange{};
    if (parsed.kind == ByteRange::Kind::unsatisfiable) {
      StringBuilder<48> content_range;
      format_to(content_range, "bytes */{}", length);
      response.headers.add("Content-Range", content_range.view());
      response.status = Status::range_not_satisfiable;
      return response;
    }
    if (parsed.kind == ByteRange::Kind::satisfiable) {
      StringBuilder<80> content_range;
      format_to(content_range, "bytes {}-{}/{}", parsed.first, parsed.last, length);
      response.headers.add("Content-Range", content_range.view());
      response.status = Status::partial_content;
      response.body =
          body.slice(static_cast<std::size_t>(parsed.first), static_cast<std::size_t>(parsed.last - parsed.first + 1));
      return response;
    }
  }
  response.status = Status::ok;
  response.body = std::move(body);
  return response;
}

} // namespace morgana::http
