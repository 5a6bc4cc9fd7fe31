#pragma once

// The output half of Xen's PV console ring (xen/include/public/io/console.h,
// struct xencons_interface): the guest produces into `out`, xenconsoled
// consumes. Indices run freely over 32 bits and are reduced modulo the ring's
// size (a power of two) only to address bytes. The index arithmetic lives here,
// apart from the shared page, so that host tests check it.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace morgana::pvh::xen {

// Bytes of the ring in use; a consumer index that claims more than the ring
// holds (ahead of the producer, or corrupt) counts as a full ring.
std::uint32_t console_ring_used(std::uint32_t consumer, std::uint32_t producer, std::size_t ring_size);

// Copies as much of `text` as fits behind `producer`, each "\n" as "\r\n"
// (never split: a terminal expects both), and advances `producer`. Returns how
// many bytes of `text` it took; 0 when the ring is full.
std::size_t console_ring_write(std::span<char> ring, std::uint32_t consumer, std::uint32_t& producer,
                               std::string_view text);

} // namespace morgana::pvh::xen
