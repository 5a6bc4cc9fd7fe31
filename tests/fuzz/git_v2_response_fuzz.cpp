// Feeds arbitrary bytes, as pkt-lines, to the protocol v2 parsers: the input's
// first byte picks the capability advertisement, an ls-refs response or a
// fetch response. Checks that parsed refs hold what the client relies on
// (40-hex ids or an unborn ref with a symref target, names without spaces),
// that the fetch response's pack count equals the bytes the sink saw and that
// nothing follows its end.

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "morgana/git/protocol_v2.h"

using namespace morgana;
using namespace morgana::git;

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

void check_ref(const Ref& ref) {
  check(ref.id.empty() ? !ref.symref_target.empty() : is_object_id(ref.id));
  check(is_ref_name(ref.name));
  check(ref.peeled.empty() || is_object_id(ref.peeled));
  check(ref.symref_target.empty() || is_ref_name(ref.symref_target));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  auto mode = data[0] % 3;
  Bytes input(reinterpret_cast<const std::byte*>(data + 1), std::min<std::size_t>(size - 1, PktLineDecoder::capacity));
  auto decoder = PktLineDecoder::create();
  check(decoder.has_value());
  check(decoder->append(input).has_value());
  Capabilities capabilities;
  std::uint64_t delivered = 0;
  FetchResponseV2 response([&](Bytes pack) -> Result<void> {
    delivered += pack.size();
    return {};
  });
  bool done = false;
  for (;;) {
    auto line = decoder->next();
    if (!line || !*line) break;
    if (mode == 0) {
      if (add_v2_capability_line(capabilities, **line)) {
        check(capabilities.entries().size() <= Capabilities::max_entries);
        (void)capabilities.check_object_format();
        (void)capabilities.has_feature("fetch", "shallow");
      }
    } else if (mode == 1) {
      if ((*line)->is_data()) {
        if (auto ref = parse_ls_refs_line((*line)->text())) check_ref(*ref);
      }
    } else {
      auto outcome = response.on_line(**line);
      if (done) check(!outcome.has_value());
      if (!outcome) break;
      if (*outcome) {
        done = true;
        check(response.result().pack_bytes == delivered);
      }
    }
  }
  return 0;
}
