#include "morgana/git/protocol_v2.h"

#include "morgana/core/format.h"

namespace morgana::git {

namespace {

// Capabilities every request repeats (gitprotocol-v2 "Command Request").
void command_header(PktLineWriter& writer, std::string_view command, const Capabilities& server,
                    std::string_view agent) {
  writer.line(format_string("command={}\n", command));
  if (!agent.empty() && server.has("agent")) writer.line(format_string("agent={}\n", agent));
  if (server.has("object-format")) writer.line("object-format=sha1\n");
  writer.delim();
}

} // namespace

Result<void> add_v2_capability_line(Capabilities& capabilities, const PktLine& line) {
  if (!line.is_data()) return fail(Errc::malformed, "unexpected delim in the capability advertisement");
  return capabilities.add(line.text());
}

Result<std::string> build_ls_refs(const LsRefsRequest& request, const Capabilities& server, std::string_view agent) {
  PktLineWriter writer;
  command_header(writer, "ls-refs", server, agent);
  if (request.symrefs) writer.line("symrefs\n");
  if (request.peel) writer.line("peel\n");
  for (const auto& prefix : request.ref_prefixes) {
    if (!is_ref_name(prefix)) return fail(Errc::invalid_argument, "a ref prefix holds a space or control byte");
    writer.line(format_string("ref-prefix {}\n", prefix));
  }
  writer.flush();
  return writer.finish();
}

Result<Ref> parse_ls_refs_line(std::string_view line) {
  auto space = line.find(' ');
  if (space == std::string_view::npos) return fail(Errc::malformed, "ls-refs line without a ref name");
  Ref ref;
  auto id = line.substr(0, space);
  if (id != "unborn") {
    if (!is_object_id(id)) return fail(Errc::malformed, "ls-refs line without an object id");
    ref.id = id;
  }
  auto rest = line.substr(space + 1);
  auto name_end = rest.find(' ');
  ref.name = rest.substr(0, name_end);
  if (!is_ref_name(ref.name)) return fail(Errc::malformed, "ls-refs line with a bad ref name");
  rest = name_end == std::string_view::npos ? std::string_view{} : rest.substr(name_end + 1);
  while (!rest.empty()) {
    auto end = rest.find(' ');
    auto attribute = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
    if (attribute.starts_with("symref-target:")) {
      ref.symref_target = attribute.substr(14);
      if (!is_ref_name(ref.symref_target)) return fail(Errc::malformed, "ls-refs symref-target is not a ref name");
    } else if (attribute.starts_with("peeled:")) {
      if (!is_object_id(attribute.substr(7))) return fail(Errc::malformed, "ls-refs peeled is not an object id");
      ref.peeled = attribute.substr(7);
    }
    // Other attributes (future ones) are skipped, as the protocol allows.
  }
  if (ref.id.empty() && ref.symref_target.empty()) return fail(Errc::malformed, "unborn ref without a symref-target");
  return ref;
}

Result<std::string> build_fetch_v2(const FetchRequest& request, const Capabilities& server, std::string_view agent) {
  TRY(check_request(request));
  bool shallow = request.depth > 0 || !request.shallow.empty();
  if (shallow && !server.has_feature("fetch", "shallow"))
    return fail(Errc::unsupported, "the server does not support shallow fetches (no fetch=shallow)");
  PktLineWriter writer;
  command_header(writer, "fetch", server, agent);
  if (request.thin_pack) writer.line("thin-pack\n");
  if (!request.progress) writer.line("no-progress\n");
  if (request.include_tag) writer.line("include-tag\n");
  if (request.ofs_delta) writer.line("ofs-delta\n");
  for (const auto& id : request.shallow) writer.line(format_string("shallow {}\n", id));
  if (request.depth > 0) writer.line(format_string("deepen {}\n", request.depth));
  for (const auto& id : request.wants) writer.line(format_string("want {}\n", id));
  for (std::size_t i = 0; i < request.haves.size() && i < max_haves; ++i)
    writer.line(format_string("have {}\n", request.haves[i]));
  writer.line("done\n");
  writer.flush();
  return writer.finish();
}

Result<bool> FetchResponseV2::on_line(const PktLine& line) {
  if (m_section == Section::done) return fail(Errc::malformed, "fetch response continues after its end");
  if (m_section == Section::packfile) {
    if (!TRY(m_demux.on_pkt_line(line))) return false;
    m_section = Section::done;
    m_result.pack_bytes = m_demux.pack_bytes();
    return true;
  }
  switch (line.kind) {
  case PktKind::data: TRY(on_section_line(line.text())); return false;
  case PktKind::delim:
    if (m_section == Section::header) return fail(Errc::malformed, "empty section in the fetch response");
    m_section = Section::header;
    return false;
  case PktKind::flush:
    if (m_section == Section::acknowledgments && !m_ready)
      return fail(Errc::unsupported, "the server asked for another negotiation round after done");
    return fail(Errc::malformed, "fetch response ended before its packfile");
  case PktKind::response_end: return fail(Errc::malformed, "response-end in a fetch response");
  }
  return fail(Errc::malformed, "unknown pkt-line kind");
}

Result<void> FetchResponseV2::on_section_line(std::string_view line) {
  switch (m_section) {
  case Section::header:
    if (line == "acknowledgments") m_section = Section::acknowledgments;
    else if (line == "shallow-info") m_section = Section::shallow_info;
    else if (line == "wanted-refs") m_section = Section::wanted_refs;
    else if (line == "packfile") m_section = Section::packfile;
    else return fail(Errc::malformed, "unknown section in the fetch response");
    return {};
  case Section::acknowledgments:
    if (line == "NAK") return {};
    if (line == "ready") {
      m_ready = true;
      return {};
    }
    if (auto id = TRY(id_after(line, "ACK"))) {
      m_result.common.emplace_back(*id);
      return {};
    }
    return fail(Errc::malformed, "unexpected line in acknowledgments");
  case Section::shallow_info:
    if (TRY(add_shallow_line(m_result, line))) return {};
    return fail(Errc::malformed, "unexpected line in shallow-info");
  case Section::wanted_refs:
    // "id refname": only sent for want-ref, which this client never asks for.
    if (line.size() > 41 && is_object_id(line.substr(0, 40)) && line[40] == ' ') return {};
    return fail(Errc::malformed, "unexpected line in wanted-refs");
  case Section::packfile:
  case Section::done: break;
  }
  return fail(Errc::malformed, "fetch response line out of place");
}

} // namespace morgana::git
