#pragma once

// The image's door to Xen when it runs as a PVH guest: detection, and the few
// hypercalls the Xen devices (xenstore, grant table, netfront, PV console)
// need. Every call other than present() requires present() to be true; before
// detection, or on another hypervisor, they fail with Errc::unsupported or do
// nothing.

#include <cstddef>
#include <cstdint>

#include "morgana/core/result.h"

namespace morgana::pvh::xen {

// CPUID leaf 0x40000000 + 0x100*i said "XenVMMXenVMM" and the hypercall page is set up.
bool present();

// How many event channel ports the 2-level ABI offers (4096 on 64-bit guests).
std::uint16_t event_channel_count_hint();

// EVTCHNOP_send: signals the other end of a bound port.
Result<void> notify(std::uint32_t port);

// EVTCHNOP_alloc_unbound: a fresh port of ours that remote_domain may bind to.
Result<std::uint32_t> alloc_unbound(std::uint16_t remote_domain);

// Clears the port's mask bit in shared_info so its events reach the callback vector.
void unmask(std::uint32_t port);

// Tests and clears the port's pending bit in shared_info: whether an event arrived.
bool take_pending(std::uint32_t port);

// XENMEM_add_to_physmap with XENMAPSPACE_grant_table: maps the grant table's
// frames 0..frames-1 at gfn_first, gfn_first+1, ...
Result<void> grant_table_map(std::uint64_t gfn_first, std::size_t frames);

// The guest frame number of an identity-mapped address (its physical page).
std::uint64_t gfn(const void* address);

// HVMOP_get_param (HVM_PARAM_STORE_PFN, STORE_EVTCHN, CONSOLE_PFN, CONSOLE_EVTCHN).
Result<std::uint64_t> hvm_param(std::uint32_t index);

// HVM parameter indices from xen/include/public/hvm/params.h.
inline constexpr std::uint32_t hvm_param_callback_irq = 0;
inline constexpr std::uint32_t hvm_param_store_pfn = 1;
inline constexpr std::uint32_t hvm_param_store_evtchn = 2;
inline constexpr std::uint32_t hvm_param_console_pfn = 17;
inline constexpr std::uint32_t hvm_param_console_evtchn = 18;

} // namespace morgana::pvh::xen
