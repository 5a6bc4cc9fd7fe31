#include "morgana/platform/pvh/xen_hypervisor.h"

#include <string_view>

#include "morgana/platform/pvh/x86.h"

extern "C" {
extern char pvh_xen_hypercall_page[];
// Read by the callback vector's stub in traps.S: vCPU 0's vcpu_info.
extern volatile std::uint8_t* pvh_xen_vcpu_info;
}

namespace morgana::pvh::xen {
namespace {

// Hypercall numbers and sub-operations (xen/include/public/xen.h, memory.h,
// event_channel.h, sched.h, hvm/hvm_op.h).
constexpr unsigned hypercall_memory_op = 12, hypercall_sched_op = 29, hypercall_event_channel_op = 32,
                   hypercall_hvm_op = 34;
constexpr unsigned xenmem_add_to_physmap = 7;
constexpr unsigned xenmapspace_shared_info = 0, xenmapspace_grant_table = 1;
constexpr unsigned evtchnop_send = 4, evtchnop_alloc_unbound = 6, evtchnop_unmask = 9;
constexpr unsigned schedop_shutdown = 2;
constexpr unsigned hvmop_set_param = 0, hvmop_get_param = 1;
constexpr std::uint16_t domid_self = 0x7ff0;
constexpr std::uint64_t callback_type_vector = std::uint64_t{2} << 56; // HVM_PARAM_CALLBACK_TYPE_VECTOR
constexpr std::size_t hypercall_stub_size = 32;
constexpr std::size_t page_size = 4096;
constexpr std::uint32_t cpuid_search_end = 0x40010000, cpuid_search_step = 0x100;

// The hypercalls' argument structures, as the 64-bit ABI lays them out.
struct AddToPhysmap {
  std::uint16_t domid;
  std::uint16_t size;
  std::uint32_t space;
  std::uint64_t idx;
  std::uint64_t gpfn;
};
struct HvmParam {
  std::uint16_t domid;
  std::uint32_t index;
  std::uint64_t value;
};
struct EvtchnAllocUnbound {
  std::uint16_t dom;
  std::uint16_t remote_dom;
  std::uint32_t port;
};
struct EvtchnPort {
  std::uint32_t port;
};
struct SchedShutdown {
  std::uint32_t reason;
};

// shared_info (xen.h): 32 legacy vcpu_info slots of 64 bytes, then the
// event channel bitmaps, then the wall clock.
struct VcpuTimeInfo {
  std::uint32_t version;
  std::uint32_t pad0;
  std::uint64_t tsc_timestamp;
  std::uint64_t system_time;
  std::uint32_t tsc_to_system_mul;
  std::int8_t tsc_shift;
  std::uint8_t flags;
  std::uint8_t pad1[2];
};
struct VcpuInfo {
  std::uint8_t evtchn_upcall_pending;
  std::uint8_t evtchn_upcall_mask;
  std::uint64_t evtchn_pending_sel;
  std::uint64_t arch_cr2;
  std::uint64_t arch_pad;
  VcpuTimeInfo time;
};
static_assert(sizeof(VcpuInfo) == 64);
constexpr std::size_t legacy_vcpus = 32, event_words = 64;
struct SharedInfo {
  VcpuInfo vcpu_info[legacy_vcpus];
  std::uint64_t evtchn_pending[event_words];
  std::uint64_t evtchn_mask[event_words];
  std::uint32_t wc_version;
  std::uint32_t wc_sec;
  std::uint32_t wc_nsec;
  std::uint32_t wc_sec_hi;
};
static_assert(offsetof(SharedInfo, evtchn_pending) == 2048 && offsetof(SharedInfo, wc_version) == 3072);

struct State {
  bool present = false;
  std::uint32_t cpuid_base = 0;
  Version version{};
  SharedInfo* shared = nullptr;
};
constinit State g_state{};

// The page Xen maps its shared_info over: RAM of the image, so always identity mapped.
alignas(page_size) std::byte g_shared_info_page[page_size];

// Up to three arguments in rdi, rsi, rdx (the 64-bit hypercall ABI); a debug
// Xen clobbers the argument registers, so all are outputs too.
long hypercall(unsigned op, std::uint64_t a1, std::uint64_t a2 = 0, std::uint64_t a3 = 0) {
  long result;
  const char* entry = pvh_xen_hypercall_page + op * hypercall_stub_size;
  asm volatile("call *%[entry]"
               : "=a"(result), "+D"(a1), "+S"(a2), "+d"(a3)
               : [entry] "r"(entry)
               : "memory", "rcx", "r8", "r9", "r10", "r11");
  return result;
}

template <class T>
long hypercall(unsigned op, unsigned sub, T& argument) {
  return hypercall(op, sub, reinterpret_cast<std::uint64_t>(&argument));
}

// Xen answers with a negative errno; the common ones by name.
Result<void> check(long rc, std::string_view what) {
  constexpr long eperm = 1, enoent = 2, enomem = 12, eacces = 13, ebusy = 16, einval = 22, enosys = 38;
  switch (-rc) {
  case 0: return {};
  case enomem: return fail(Errc::no_memory, what);
  case einval: return fail(Errc::invalid_argument, what);
  case enosys: return fail(Errc::unsupported, what);
  case enoent: return fail(Errc::not_found, what);
  case ebusy: return fail(Errc::in_use, what);
  case eperm:
  case eacces: return fail(Errc::unsupported, what);
  default: return fail(Errc::io_error, what);
  }
}

std::uint32_t find_cpuid_base() {
  if (!x86::under_hypervisor()) return 0;
  // Xen sits at 0x40000100 when it also offers Hyper-V's interface at 0x40000000.
  for (auto base = x86::hypervisor_leaf; base < cpuid_search_end; base += cpuid_search_step) {
    auto leaf = x86::cpuid(base);
    auto signature = x86::hypervisor_signature(leaf);
    // Leaves base+1 (version) and base+2 (hypercall page) must exist.
    if (std::string_view(signature.data(), signature.size()) == "XenVMMXenVMM" && leaf.eax >= base + 2) return base;
  }
  return 0;
}

Result<void> map_shared_info() {
  AddToPhysmap map{domid_self, 0, xenmapspace_shared_info, 0, gfn(g_shared_info_page)};
  TRY(check(hypercall(hypercall_memory_op, xenmem_add_to_physmap, map), "XENMEM_add_to_physmap(shared_info)"));
  g_state.shared = reinterpret_cast<SharedInfo*>(g_shared_info_page);
  return {};
}

Result<void> set_callback_vector(std::uint8_t vector) {
  auto& vcpu = g_state.shared->vcpu_info[0];
  // The stub in traps.S clears these two on each callback.
  pvh_xen_vcpu_info = &vcpu.evtchn_upcall_pending;
  __atomic_store_n(&vcpu.evtchn_upcall_mask, 0, __ATOMIC_RELEASE);
  HvmParam param{domid_self, hvm_param_callback_irq, callback_type_vector | vector};
  return check(hypercall(hypercall_hvm_op, hvmop_set_param, param), "HVMOP_set_param(CALLBACK_IRQ)");
}

} // namespace

Result<Version> detect(std::uint8_t callback_vector) {
  auto base = find_cpuid_base();
  if (!base) return fail(Errc::not_found, "no Xen CPUID leaves");
  auto version = x86::cpuid(base + 1).eax;
  auto pages = x86::cpuid(base + 2);
  if (pages.eax < 1) return fail(Errc::unsupported, "Xen offers no hypercall page");
  // Xen writes the stubs into the page named by the MSR (page index in the low bits: 0).
  x86::wrmsr(pages.ebx, reinterpret_cast<std::uint64_t>(pvh_xen_hypercall_page));
  g_state.cpuid_base = base;
  g_state.version = {static_cast<std::uint16_t>(version >> 16), static_cast<std::uint16_t>(version)};
  g_state.present = true;
  if (auto mapped = map_shared_info(); !mapped) {
    g_state.present = false;
    return std::unexpected(mapped.error());
  }
  if (auto set = set_callback_vector(callback_vector); !set) {
    g_state.present = false;
    return std::unexpected(set.error());
  }
  return g_state.version;
}

bool present() { return g_state.present; }

Version version() { return g_state.version; }

std::uint16_t event_channel_count_hint() { return event_words * 64; }

Result<void> notify(std::uint32_t port) {
  if (!g_state.present) return fail(Errc::unsupported, "not on Xen");
  EvtchnPort send{port};
  return check(hypercall(hypercall_event_channel_op, evtchnop_send, send), "EVTCHNOP_send");
}

Result<std::uint32_t> alloc_unbound(std::uint16_t remote_domain) {
  if (!g_state.present) return fail(Errc::unsupported, "not on Xen");
  EvtchnAllocUnbound alloc{domid_self, remote_domain, 0};
  TRY(check(hypercall(hypercall_event_channel_op, evtchnop_alloc_unbound, alloc), "EVTCHNOP_alloc_unbound"));
  return alloc.port;
}

void unmask(std::uint32_t port) {
  if (!g_state.present || port >= event_channel_count_hint()) return;
  auto bit = std::uint64_t{1} << (port % 64);
  __atomic_fetch_and(&g_state.shared->evtchn_mask[port / 64], ~bit, __ATOMIC_SEQ_CST);
  // An event that arrived while masked raised no callback: Xen's unmask re-raises it.
  if (__atomic_load_n(&g_state.shared->evtchn_pending[port / 64], __ATOMIC_ACQUIRE) & bit) {
    EvtchnPort unmask{port};
    (void)hypercall(hypercall_event_channel_op, evtchnop_unmask, unmask);
  }
}

bool take_pending(std::uint32_t port) {
  if (!g_state.present || port >= event_channel_count_hint()) return false;
  auto bit = std::uint64_t{1} << (port % 64);
  return __atomic_fetch_and(&g_state.shared->evtchn_pending[port / 64], ~bit, __ATOMIC_SEQ_CST) & bit;
}

void mask(std::uint32_t port) {
  if (!g_state.present || port >= event_channel_count_hint()) return;
  __atomic_fetch_or(&g_state.shared->evtchn_mask[port / 64], std::uint64_t{1} << (port % 64), __ATOMIC_SEQ_CST);
}

Result<void> grant_table_map(std::uint64_t gfn_first, std::size_t frames) {
  if (!g_state.present) return fail(Errc::unsupported, "not on Xen");
  for (std::size_t frame = 0; frame < frames; ++frame) {
    AddToPhysmap map{domid_self, 0, xenmapspace_grant_table, frame, gfn_first + frame};
    TRY(check(hypercall(hypercall_memory_op, xenmem_add_to_physmap, map), "XENMEM_add_to_physmap(grant_table)"));
  }
  return {};
}

std::uint64_t gfn(const void* address) { return reinterpret_cast<std::uintptr_t>(address) / page_size; }

Result<std::uint64_t> hvm_param(std::uint32_t index) {
  if (!g_state.present) return fail(Errc::unsupported, "not on Xen");
  HvmParam param{domid_self, index, 0};
  TRY(check(hypercall(hypercall_hvm_op, hvmop_get_param, param), "HVMOP_get_param"));
  return param.value;
}

PvclockSnapshot pvclock() {
  const auto& time = g_state.shared->vcpu_info[0].time;
  PvclockSnapshot snapshot;
  std::uint32_t version;
  // Xen makes the version odd while it updates the fields (xen.h, vcpu_time_info).
  do {
    version = __atomic_load_n(&time.version, __ATOMIC_ACQUIRE);
    snapshot.tsc_timestamp = __atomic_load_n(&time.tsc_timestamp, __ATOMIC_RELAXED);
    snapshot.system_time_ns = __atomic_load_n(&time.system_time, __ATOMIC_RELAXED);
    snapshot.tsc_to_system_mul = __atomic_load_n(&time.tsc_to_system_mul, __ATOMIC_RELAXED);
    snapshot.tsc_shift = __atomic_load_n(&time.tsc_shift, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
  } while ((version & 1) || version != __atomic_load_n(&time.version, __ATOMIC_RELAXED));
  return snapshot;
}

std::uint64_t system_time_ns() { return system_time_at(pvclock(), x86::rdtsc()); }

std::optional<std::int64_t> wall_ns() {
  const auto* shared = g_state.shared;
  std::uint32_t version, sec, sec_hi, nsec;
  do {
    version = __atomic_load_n(&shared->wc_version, __ATOMIC_ACQUIRE);
    sec = __atomic_load_n(&shared->wc_sec, __ATOMIC_RELAXED);
    sec_hi = __atomic_load_n(&shared->wc_sec_hi, __ATOMIC_RELAXED);
    nsec = __atomic_load_n(&shared->wc_nsec, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
  } while ((version & 1) || version != __atomic_load_n(&shared->wc_version, __ATOMIC_RELAXED));
  if (sec == 0 && sec_hi == 0) return std::nullopt;
  return wall_clock_ns(sec, sec_hi, nsec, system_time_ns());
}

void shutdown(ShutdownReason reason) {
  SchedShutdown shutdown{static_cast<std::uint32_t>(reason)};
  (void)hypercall(hypercall_sched_op, schedop_shutdown, shutdown);
}

} // namespace morgana::pvh::xen
