// crunch: compiles a directory into an application as a read-only key-value
// store (kv::CrunchStore), as MirageOS's crunch does. A host program, run by
// the build (cmake/crunch.cmake).
//
//   crunch --name site --dir www --out build/crunch/app
//     writes crunch_site.S     one .incbin per distinct content (by SHA-256), read-only, aligned
//            crunch_site.cpp   the sorted index (kv::CrunchTable crunch_table_site)
//            crunch_site.d     a depfile: every file and directory read, for rebuilds
//            crunch_site.gz/   gzip variants the .S includes
//   crunch --registry build/crunch/app/crunch_registry.cpp site tls
//     writes the application's registry (kv::crunched_stores()), empty without names.
//
// File contents reach the image through the assembler's .incbin, never through
// the C++ compiler, so large sites build quickly.

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "morgana/kv/gzip.h"
#include "morgana/kv/hosted/directory_walk.h"
#include "morgana/kv/mime.h"

namespace {

namespace fs = std::filesystem;
namespace walk = morgana::directory_walk;

using walk::mebibytes;
using walk::read_file;

constexpr std::string_view usage = R"(usage: crunch --name NAME --dir DIR --out OUTDIR
       crunch --registry FILE [NAME...]

Compiles the files under DIR into a read-only key-value store named NAME
(kv::crunched("NAME") in the application). Writes into OUTDIR:
  crunch_NAME.S    the contents, one .incbin per distinct file content
  crunch_NAME.cpp  the index: keys (paths under DIR, '/'-separated), sizes,
                   SHA-256 digests, media types, modification times
  crunch_NAME.d    a depfile naming every file and directory read
  crunch_NAME.gz/  gzip variants (level 9) of compressible files, kept when
                   they save at least 10%

Names starting with '.' (dotfiles, .git) are skipped. Symbolic links are
followed when they stay inside DIR and refused otherwise. One file may hold at
most 64 MiB, a store at most 256 MiB. Modification times come from the files,
or from SOURCE_DATE_EPOCH when it is set.

--registry writes the C++ file that lists an application's stores NAME...
(kv::crunched_stores()); without names, the application has none.
)";

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "crunch: %s\n", message.c_str());
  std::exit(1);
}

[[noreturn]] void usage_error(const std::string& message) {
  std::fprintf(stderr, "crunch: %s\n%.*s", message.c_str(), static_cast<int>(usage.size()), usage.data());
  std::exit(2);
}

std::string human_size(std::uint64_t size) {
  if (size < 10 * 1024) return std::to_string(size) + " bytes";
  if (size < 10 * 1024 * 1024) return std::to_string((size + 1023) / 1024) + " KiB";
  return mebibytes(size);
}

// Writes `content` to `path` unless it already holds exactly that, so that
// the build does not recompile what did not change.
void write_if_changed(const fs::path& path, std::string_view content) {
  if (auto old = read_file(path, content.size()); old && *old == content) return;
  auto temporary = path;
  temporary += ".tmp";
  std::FILE* file = std::fopen(temporary.c_str(), "wb");
  if (file == nullptr) die("cannot write " + temporary.string() + ": " + std::strerror(errno));
  bool ok = std::fwrite(content.data(), 1, content.size(), file) == content.size();
  ok = std::fclose(file) == 0 && ok;
  if (!ok) die("cannot write " + temporary.string());
  std::error_code error;
  fs::rename(temporary, path, error);
  if (error) die("cannot rename " + temporary.string() + ": " + error.message());
}

// The smallest gzip member of `content` (kv/gzip.h); stops the build when zlib fails.
std::string gzip(std::string_view content) {
  auto compressed = morgana::kv::gzip(content, morgana::kv::GzipLevel::smallest);
  if (!compressed) die("zlib: deflate failed");
  return std::move(*compressed);
}

// Escapes for a C++ string literal and for an assembler string: quotes and
// backslashes, and every byte outside printable ASCII as a three-digit octal
// escape (never followed by a digit that would extend it).
std::string literal(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20 || byte >= 0x7f || c == '?') {
      char escape[5];
      std::snprintf(escape, sizeof escape, "\\%03o", byte);
      out += escape;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// A path in a Makefile-style depfile (as Ninja reads them); false when it
// cannot be written there.
bool append_depfile_path(std::string& out, std::string_view path) {
  std::string escaped;
  for (char c : path) {
    if (c == '\n' || c == '\r') return false;
    if (c == ' ' || c == '#' || c == '\\') escaped += '\\';
    if (c == '$') escaped += '$';
    escaped += c;
  }
  out += " \\\n  " + escaped;
  return true;
}

// One distinct content: where the assembler includes it from, and its gzip variant.
struct Blob {
  std::string label;
  std::string digest;
  fs::path path;
  std::uint64_t size = 0;
  std::optional<std::string> gzip_label;
  std::uint64_t gzip_size = 0;
};

struct Entry {
  std::string key;
  std::size_t blob = 0;
  std::string digest;
  std::string_view content_type;
  bool gzip = false;
  std::int64_t mtime = 0;
};

std::string absolute_string(const fs::path& path) {
  std::error_code error;
  auto absolute = fs::absolute(path, error);
  if (error) die(path.string() + ": " + error.message());
  return absolute.lexically_normal().string();
}

// SOURCE_DATE_EPOCH, when set: every file's modification time, for reproducible builds.
std::optional<std::int64_t> source_date_epoch() {
  const char* epoch = std::getenv("SOURCE_DATE_EPOCH");
  if (epoch == nullptr || *epoch == '\0') return std::nullopt;
  char* end = nullptr;
  long long seconds = std::strtoll(epoch, &end, 10);
  if (*end != '\0') die(std::string("SOURCE_DATE_EPOCH='") + epoch + "' is not a number of seconds");
  return seconds;
}

int crunch_directory(const std::string& name, const fs::path& dir, const fs::path& out) {
  auto walked = walk::walk(dir);
  if (!walked) die(walked.error());
  const auto& root = walked->root;
  const auto& files = walked->files;
  const auto epoch = source_date_epoch();
  std::error_code error;
  fs::create_directories(out, error);
  if (error) die(out.string() + ": cannot create: " + error.message());

  const std::string prefix = "morgana_crunch_" + name + "_";
  const fs::path gzip_dir = out / ("crunch_" + name + ".gz");
  std::map<std::string, std::size_t> blob_by_digest;
  std::vector<Blob> blobs;
  std::vector<Entry> entries;
  std::set<std::string> gzip_files;
  std::uint64_t total = 0;

  for (const auto& file : files) {
    auto content = walk::read_content(file);
    if (!content) die(content.error());

    Entry entry{
        file.key, 0, walk::sha256_hex(*content), morgana::kv::mime_type(file.key), false, epoch.value_or(file.mtime)};
    auto [found, inserted] = blob_by_digest.try_emplace(entry.digest, blobs.size());
    if (inserted) {
      blobs.push_back(Blob{prefix + std::to_string(blobs.size()), entry.digest, fs::path(absolute_string(file.path)),
                           content->size(), std::nullopt, 0});
      total += content->size();
    }
    entry.blob = found->second;
    auto& blob = blobs[entry.blob];

    if (morgana::kv::is_compressible(entry.content_type) && !content->empty()) {
      if (!blob.gzip_label) {
        auto compressed = gzip(*content);
        // Kept only when it saves at least 10%.
        if (compressed.size() * 10 <= content->size() * 9) {
          fs::create_directories(gzip_dir, error);
          if (error) die(gzip_dir.string() + ": cannot create: " + error.message());
          auto gzip_path = gzip_dir / (entry.digest + ".gz");
          write_if_changed(gzip_path, compressed);
          gzip_files.insert(gzip_path.filename().string());
          blob.gzip_label = blob.label + "_gz";
          blob.gzip_size = compressed.size();
          total += compressed.size();
        } else {
          blob.gzip_label = std::string{}; // tried: not worth keeping
        }
      }
      entry.gzip = !blob.gzip_label->empty();
    }
    if (total > walk::max_store_size) {
      die(root.string() + ": the store would hold over " + mebibytes(walk::max_store_size) + " (at " +
          file.path.string() + ")");
    }
    entries.push_back(std::move(entry));
  }

  // A name may be a file or a directory, not both: "a" and "a/b" cannot come from a file system.
  for (std::size_t i = 1; i < entries.size(); ++i) {
    if (entries[i].key == entries[i - 1].key) die(root.string() + ": two files with the key '" + entries[i].key + "'");
  }

  // Variants of content that is gone stay out of the next build's directory.
  if (fs::is_directory(gzip_dir)) {
    for (const auto& old : fs::directory_iterator(gzip_dir, error)) {
      if (!gzip_files.contains(old.path().filename().string())) fs::remove(old.path(), error);
    }
  }

  std::string assembly = "/* Generated by tools/crunch from " + root.string() + ": do not edit. */\n";
  assembly += "  .section .rodata.morgana_crunch_" + name + ",\"a\",@progbits\n";
  auto include = [&](const std::string& label, const fs::path& path) {
    assembly += "  .balign 16\n  .globl " + label + "\n  .hidden " + label + "\n  .type " + label + ", @object\n" +
                label + ":\n  .incbin " + literal(path.string()) + "\n  .size " + label + ", . - " + label + "\n";
  };
  auto gzip_absolute = fs::path(absolute_string(gzip_dir));
  for (const auto& blob : blobs) {
    include(blob.label, blob.path);
    if (blob.gzip_label && !blob.gzip_label->empty()) include(*blob.gzip_label, gzip_absolute / (blob.digest + ".gz"));
  }
  assembly += "  .section .note.GNU-stack,\"\",@progbits\n";

  std::string source = "// Generated by tools/crunch from " + root.string() + ": do not edit.\n";
  source += "#include <cstddef>\n\n#include \"morgana/kv/crunch_store.h\"\n\n";
  if (!blobs.empty()) {
    source += "extern \"C\" {\n";
    for (const auto& blob : blobs) {
      source += "[[gnu::visibility(\"hidden\")]] extern const std::byte " + blob.label + "[];\n";
      if (blob.gzip_label && !blob.gzip_label->empty()) {
        source += "[[gnu::visibility(\"hidden\")]] extern const std::byte " + *blob.gzip_label + "[];\n";
      }
    }
    source += "}\n\n";
  }
  source += "namespace morgana::kv {\n";
  std::string span = "{}";
  if (!entries.empty()) {
    source += "namespace {\nconstinit const CrunchEntry entries[] = {\n";
    for (const auto& entry : entries) {
      const auto& blob = blobs[entry.blob];
      source += "    {" + literal(entry.key) + ", " + blob.label + ", " + std::to_string(blob.size) + ", ";
      if (entry.gzip) {
        source += *blob.gzip_label + ", " + std::to_string(blob.gzip_size) + ", ";
      } else {
        source += "nullptr, 0, ";
      }
      source +=
          literal(entry.digest) + ", " + literal(entry.content_type) + ", " + std::to_string(entry.mtime) + "},\n";
    }
    source += "};\n} // namespace\n\n";
    span = "entries";
  }
  source += "extern const CrunchTable crunch_table_" + name + ";\n";
  source += "constinit const CrunchTable crunch_table_" + name + "{" + literal(name) + ", " + span + "};\n";
  source += "} // namespace morgana::kv\n";

  auto source_path = out / ("crunch_" + name + ".cpp");
  std::string depfile;
  append_depfile_path(depfile, absolute_string(source_path));
  depfile.erase(0, 5); // the target starts the line
  depfile += ":";
  for (const auto& path : walked->dependencies) append_depfile_path(depfile, absolute_string(path));
  for (const auto& file : files) append_depfile_path(depfile, absolute_string(file.path));
  depfile += "\n";

  write_if_changed(out / ("crunch_" + name + ".S"), assembly);
  write_if_changed(source_path, source);
  write_if_changed(out / ("crunch_" + name + ".d"), depfile);
  std::fprintf(stderr, "crunch: %s: %zu files, %zu distinct contents, %s with gzip variants\n", name.c_str(),
               entries.size(), blobs.size(), human_size(total).c_str());
  return 0;
}

int write_registry(const fs::path& path, const std::vector<std::string>& names) {
  std::set<std::string> seen;
  for (const auto& name : names) {
    if (!walk::valid_store_name(name)) usage_error("store name '" + name + "' is not a C identifier");
    if (!seen.insert(name).second) die("store '" + name + "' given twice");
  }
  std::string source = "// Generated by tools/crunch: the crunched stores built into this application.\n";
  source += "#include <span>\n\n#include \"morgana/kv/crunch_store.h\"\n\nnamespace morgana::kv {\n";
  if (names.empty()) {
    source += "std::span<const CrunchStore* const> crunched_stores() { return {}; }\n";
  } else {
    for (const auto& name : names) source += "extern const CrunchTable crunch_table_" + name + ";\n";
    source += "namespace {\n";
    for (const auto& name : names) {
      source.append("constinit const CrunchStore store_").append(name).append("{crunch_table_").append(name);
      source += "};\n";
    }
    source += "constinit const CrunchStore* const stores[] = {";
    for (std::size_t i = 0; i < names.size(); ++i) source += (i ? ", &store_" : "&store_") + names[i];
    source += "};\n} // namespace\n";
    source += "std::span<const CrunchStore* const> crunched_stores() { return stores; }\n";
  }
  source += "} // namespace morgana::kv\n";
  std::error_code error;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), error);
  if (error) die(path.parent_path().string() + ": cannot create: " + error.message());
  write_if_changed(path, source);
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  std::vector<std::string_view> arguments(argv + 1, argv + argc);
  if (arguments.empty()) usage_error("no arguments");
  if (arguments[0] == "--help" || arguments[0] == "-h") {
    std::fwrite(usage.data(), 1, usage.size(), stdout);
    return 0;
  }
  if (arguments[0] == "--registry") {
    if (arguments.size() < 2) usage_error("--registry needs a FILE");
    return write_registry(fs::path(arguments[1]), std::vector<std::string>(arguments.begin() + 2, arguments.end()));
  }
  std::optional<std::string> name, dir, out;
  for (std::size_t i = 0; i < arguments.size(); ++i) {
    auto option = arguments[i];
    std::optional<std::string>* slot = option == "--name"  ? &name
                                       : option == "--dir" ? &dir
                                       : option == "--out" ? &out
                                                           : nullptr;
    if (option == "--help" || option == "-h") {
      std::fwrite(usage.data(), 1, usage.size(), stdout);
      return 0;
    }
    if (slot == nullptr) usage_error("unknown argument '" + std::string(option) + "'");
    if (i + 1 == arguments.size()) usage_error(std::string(option) + " needs a value");
    *slot = std::string(arguments[++i]);
  }
  if (!name || !dir || !out) usage_error("--name, --dir and --out are all needed");
  if (!walk::valid_store_name(*name))
    usage_error("store name '" + *name + "' is not a C identifier ([A-Za-z_][A-Za-z0-9_]*)");
  return crunch_directory(*name, *dir, *out);
}
