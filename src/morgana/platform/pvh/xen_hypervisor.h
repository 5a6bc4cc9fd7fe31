#pragma once

// The image's door to Xen when it runs as a PVH guest: detection, and the few
// hypercalls the Xen devices (xenstore, grant table, netfront, PV console)
// need. Every call other than present() requires present() to be true; before
// detection, or on another hypervisor, they fail with Errc::unsupported or do
// nothing.

#include <cstddef>
#include <cstdint>
#include <optional>

#include "morgana/core/result.h"
#include "morgana/platform/pvh/xen_pvclock.h"

namespace morgana::pvh::xen {

struct Version {
  std::uint16_t major = 0;
  std::uint16_t minor = 0;
};

// At boot: finds Xen's CPUID leaves, has Xen fill the hypercall page, maps
// shared_info into the image and asks for event channel callbacks on
// `callback_vector` (HVM_PARAM_CALLBACK_IRQ, type vector). Errc::not_found
// on another hypervisor or none; any other error leaves present() false too.
Result<Version> detect(std::uint8_t callback_vector);

// CPUID leaf 0x40000000 + 0x100*i said "XenVMMXenVMM" and the hypercall page is set up.
bool present();
Version version();

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

// Sets the port's mask bit: its events no longer raise the callback (they
// still set its pending bit).
void mask(std::uint32_t port);

// XENMEM_add_to_physmap with XENMAPSPACE_grant_table: maps the grant table's
// frames 0..frames-1 at gfn_first, gfn_first+1, ...
Result<void> grant_table_map(std::uint64_t gfn_first, std::size_t frames);

// The guest frame number of an identity-mapped address (its physical page).
std::uint64_t gfn(const void* address);

// HVMOP_get_param (HVM_PARAM_STORE_PFN, STORE_EVTCHN, CONSOLE_PFN, CONSOLE_EVTCHN).
Result<std::uint64_t> hvm_param(std::uint32_t index);

// vCPU 0's time record from shared_info, read consistently.
PvclockSnapshot pvclock();
// Xen's system time now: ns since the host booted, never going back.
std::uint64_t system_time_ns();
// Wall time now from shared_info's wall clock; nothing when Xen left it unset.
std::optional<std::int64_t> wall_ns();

// SCHEDOP_shutdown reasons (sched.h); xl acts on them through on_poweroff,
// on_reboot, on_crash.
enum class ShutdownReason : std::uint32_t { poweroff = 0, reboot = 1, crash = 3 };
// Asks Xen to end the domain; returns only if Xen refused.
void shutdown(ShutdownReason reason);

// HVM parameter indices from xen/include/public/hvm/params.h.
inline constexpr std::uint32_t hvm_param_callback_irq = 0;
inline constexpr std::uint32_t hvm_param_store_pfn = 1;
inline constexpr std::uint32_t hvm_param_store_evtchn = 2;
inline constexpr std::uint32_t hvm_param_console_pfn = 17;
inline constexpr std::uint32_t hvm_param_console_evtchn = 18;

} // namespace morgana::pvh::xen
