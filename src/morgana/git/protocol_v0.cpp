#include "morgana/git/protocol_v0.h"

#include "morgana/core/format.h"

namespace morgana::git {

namespace {

constexpr std::string_view peeled_suffix = "^{}";
constexpr std::string_view zero_id = "0000000000000000000000000000000000000000";

} // namespace

Result<void> RefAdvertisement::add_line(std::string_view line) {
  if (auto id = TRY(id_after(line, "shallow"))) {
    if (m_shallow.size() >= max_refs) return fail(Errc::limit_reached, "too many shallow lines");
    m_shallow.emplace_back(*id);
    return {};
  }
  if (m_first) {
    m_first = false;
    auto nul = line.find('\0');
    if (nul == std::string_view::npos) return fail(Errc::malformed, "first ref line without capabilities");
    m_capabilities = TRY(Capabilities::parse_v0(line.substr(nul + 1)));
    line = line.substr(0, nul);
    // An empty repository: "<zero id> capabilities^{}".
    if (line.size() > 41 && line.substr(0, 40) == zero_id && line.substr(41) == "capabilities^{}") return {};
  }
  if (line.size() < 42 || line[40] != ' ' || !is_object_id(line.substr(0, 40)))
    return fail(Errc::malformed, "ref line is not 'id name'");
  auto id = line.substr(0, 40);
  auto name = line.substr(41);
  if (!is_ref_name(name)) return fail(Errc::malformed, "ref line with a bad ref name");
  if (name.ends_with(peeled_suffix)) {
    name.remove_suffix(peeled_suffix.size());
    if (m_refs.empty() || m_refs.back().name != name || !m_refs.back().peeled.empty())
      return fail(Errc::malformed, "peeled ref line does not follow its tag");
    m_refs.back().peeled = id;
    return {};
  }
  if (m_refs.size() >= max_refs) return fail(Errc::limit_reached, "too many refs in the advertisement");
  m_refs.push_back(Ref{.name = std::string(name), .id = std::string(id)});
  return {};
}

void RefAdvertisement::finish() {
  for (auto symref : m_capabilities.all_values("symref")) {
    auto colon = symref.find(':');
    if (colon == std::string_view::npos) continue;
    for (auto& ref : m_refs) {
      if (ref.name == symref.substr(0, colon)) ref.symref_target = symref.substr(colon + 1);
    }
  }
}

SideBand chosen_side_band(const Capabilities& server) {
  if (server.has("side-band-64k")) return SideBand::side_band_64k;
  if (server.has("side-band")) return SideBand::side_band;
  return SideBand::none;
}

Result<std::string> build_upload_request(const FetchRequest& request, const Capabilities& server,
                                         std::string_view agent) {
  TRY(check_request(request));
  bool shallow = request.depth > 0 || !request.shallow.empty();
  if (shallow && !server.has("shallow"))
    return fail(Errc::unsupported, "the server does not support shallow fetches (no shallow capability)");
  std::string capabilities;
  auto ask = [&](std::string_view name, bool wanted = true) {
    if (wanted && server.has(name)) capabilities.append(" ").append(name);
  };
  ask("multi_ack_detailed");
  switch (chosen_side_band(server)) {
  case SideBand::side_band_64k: ask("side-band-64k"); break;
  case SideBand::side_band: ask("side-band"); break;
  case SideBand::none: break;
  }
  ask("ofs-delta", request.ofs_delta);
  ask("thin-pack", request.thin_pack);
  ask("include-tag", request.include_tag);
  ask("no-progress", !request.progress);
  ask("shallow", shallow);
  if (!agent.empty() && server.has("agent")) capabilities.append(" agent=").append(agent);
  if (server.has("object-format")) capabilities.append(" object-format=sha1");

  PktLineWriter writer;
  for (std::size_t i = 0; i < request.wants.size(); ++i)
    writer.line(format_string("want {}{}\n", request.wants[i], i == 0 ? std::string_view(capabilities) : ""));
  for (const auto& id : request.shallow) writer.line(format_string("shallow {}\n", id));
  if (request.depth > 0) writer.line(format_string("deepen {}\n", request.depth));
  writer.flush();
  for (std::size_t i = 0; i < request.haves.size() && i < max_haves; ++i)
    writer.line(format_string("have {}\n", request.haves[i]));
  writer.line("done\n");
  return writer.finish();
}

Result<bool> FetchResponseV0::on_line(const PktLine& line) {
  switch (m_state) {
  case State::shallow_update:
    if (line.kind == PktKind::flush) {
      m_state = State::acknowledgments;
      return false;
    }
    if (line.is_data() && TRY(add_shallow_line(m_result, line.text()))) return false;
    return fail(Errc::malformed, "unexpected line in the shallow update");
  case State::acknowledgments:
    if (!line.is_data()) return fail(Errc::malformed, "flush before the final ACK or NAK");
    TRY(on_acknowledgment(line.text()));
    return false;
  case State::pack:
    if (!TRY(m_demux.on_pkt_line(line))) return false;
    m_state = State::done;
    m_result.pack_bytes = m_demux.pack_bytes();
    return true;
  case State::raw_pack:
  case State::done: break;
  }
  return fail(Errc::malformed, "pkt-line after the end of the response");
}

Result<void> FetchResponseV0::on_acknowledgment(std::string_view line) {
  if (line == "NAK") {
    m_state = m_side_band == SideBand::none ? State::raw_pack : State::pack;
    return {};
  }
  if (!line.starts_with("ACK ") || line.size() < 44 || !is_object_id(line.substr(4, 40)))
    return fail(Errc::malformed, "expected ACK or NAK");
  auto id = line.substr(4, 40);
  auto status = line.substr(44);
  if (status.empty()) {
    // The final ACK after done.
    m_state = m_side_band == SideBand::none ? State::raw_pack : State::pack;
    return {};
  }
  if (status == " common" || status == " continue") {
    if (m_result.common.size() < max_haves) m_result.common.emplace_back(id);
    return {};
  }
  if (status == " ready") return {};
  return fail(Errc::malformed, "ACK with an unknown status");
}

Result<void> FetchResponseV0::on_end() {
  if (m_state == State::raw_pack) {
    m_state = State::done;
    m_result.pack_bytes = m_demux.pack_bytes();
    return {};
  }
  if (m_state == State::done) return {};
  return fail(Errc::truncated, "the connection ended before the pack did");
}

} // namespace morgana::git
