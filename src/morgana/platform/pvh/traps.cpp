#include "morgana/platform/pvh/traps.h"

#include <string_view>

#include "morgana/platform/interface.h"
#include "morgana/platform/pvh/descriptor_tables.h"
#include "morgana/platform/pvh/image.h"
#include "morgana/platform/pvh/paging.h"
#include "morgana/platform/pvh/stop.h"
#include "morgana/platform/pvh/symbols.h"
#include "morgana/platform/pvh/x86.h"

namespace morgana::pvh::traps {
namespace {

// What traps.S pushes, lowest address first, then what the CPU pushed.
struct TrapFrame {
  std::uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
  std::uint64_t vector, error_code;
  std::uint64_t rip, cs, rflags, rsp, ss;
};

constexpr std::uint64_t page_fault = 14, double_fault = 8, invalid_opcode = 6;
// Intel SDM vol. 3, 4.7: page-fault error code bits.
constexpr std::uint64_t pf_present = 1u << 0, pf_write = 1u << 1, pf_reserved = 1u << 3, pf_fetch = 1u << 4;
constexpr int max_lines = 32;

constinit bool g_handling = false;

std::string_view vector_name(std::uint64_t vector) {
  switch (vector) {
  case 0: return "#DE divide error";
  case 1: return "#DB debug";
  case 2: return "NMI";
  case 3: return "#BP breakpoint";
  case 4: return "#OF overflow";
  case 5: return "#BR bound range exceeded";
  case 6: return "#UD invalid opcode";
  case 7: return "#NM device not available";
  case 8: return "#DF double fault";
  case 10: return "#TS invalid TSS";
  case 11: return "#NP segment not present";
  case 12: return "#SS stack-segment fault";
  case 13: return "#GP general protection";
  case 14: return "#PF page fault";
  case 16: return "#MF x87 floating-point error";
  case 17: return "#AC alignment check";
  case 18: return "#MC machine check";
  case 19: return "#XM SIMD floating-point exception";
  case 20: return "#VE virtualization exception";
  case 21: return "#CP control protection";
  default: return "reserved vector";
  }
}

void describe_page_fault(FormatSink& sink, const TrapFrame& frame, std::uint64_t address) {
  auto code = frame.error_code;
  std::string_view access = (code & pf_fetch) ? "instruction fetch from" : (code & pf_write) ? "write to" : "read from";
  std::string_view cause = (code & pf_reserved)  ? "reserved bit set in a page table"
                           : (code & pf_present) ? "page protection"
                                                 : "page not mapped";
  format_to(sink, "  {} 0x{} ({})", access, Hex{address, 16}, cause);
  auto where = paging::describe(address);
  if (!where.empty()) format_to(sink, ": {}", where);
  sink.write("\n");
  if ((code & pf_present) && (code & pf_write) && address >= image::start() && address < image::rodata_end())
    sink.write("  a write into the image's text or read-only data (W^X)\n");
  if ((code & pf_present) && (code & pf_fetch)) sink.write("  executing memory that is not executable (W^X)\n");
}

void print_registers(FormatSink& sink, const TrapFrame& f) {
  format_to(sink, "  rip 0x{} rsp 0x{} rflags 0x{}\n", Hex{f.rip, 16}, Hex{f.rsp, 16}, Hex{f.rflags, 8});
  format_to(sink, "  rax 0x{} rbx 0x{} rcx 0x{}\n", Hex{f.rax, 16}, Hex{f.rbx, 16}, Hex{f.rcx, 16});
  format_to(sink, "  rdx 0x{} rsi 0x{} rdi 0x{}\n", Hex{f.rdx, 16}, Hex{f.rsi, 16}, Hex{f.rdi, 16});
  format_to(sink, "  rbp 0x{} r8  0x{} r9  0x{}\n", Hex{f.rbp, 16}, Hex{f.r8, 16}, Hex{f.r9, 16});
  format_to(sink, "  r10 0x{} r11 0x{} r12 0x{}\n", Hex{f.r10, 16}, Hex{f.r11, 16}, Hex{f.r12, 16});
  format_to(sink, "  r13 0x{} r14 0x{} r15 0x{}\n", Hex{f.r13, 16}, Hex{f.r14, 16}, Hex{f.r15, 16});
  format_to(sink, "  cs 0x{} ss 0x{} cr2 0x{} cr3 0x{}\n", Hex{f.cs, 2}, Hex{f.ss, 2}, Hex{x86::read_cr2(), 16},
            Hex{x86::read_cr3(), 16});
}

bool on_known_stack(std::uint64_t address) {
  const descriptor_tables::StackBounds stacks[] = {{image::stack_bottom(), image::stack_top()},
                                                   descriptor_tables::exception_stack(),
                                                   descriptor_tables::double_fault_stack()};
  for (const auto& stack : stacks)
    if (stack.contains(address, 16)) return true;
  return false;
}

} // namespace

void print_backtrace(FormatSink& sink, std::uint64_t first_address, std::uint64_t frame_pointer, FirstAddress first) {
  sink.write("backtrace:\n");
  std::uint64_t printed[max_lines];
  int count = 0;
  // A return address is looked up one byte back: in the call, not after it.
  auto print_frame = [&](int depth, std::uint64_t address, bool returns_here) {
    format_to(sink, "  #{}{} 0x{}", depth, depth < 10 ? " " : "", Hex{address, 16});
    if (auto location = symbols::find(returns_here ? address - 1 : address))
      format_to(sink, " {}+0x{}", location->function, Hex{location->offset + (returns_here ? 1 : 0)});
    sink.write("\n");
    printed[count++] = address;
  };
  print_frame(0, first_address, first == FirstAddress::return_address);
  // Frames only go up the stack, so the walk ends; runs of one return address
  // (recursion) print as one line.
  std::uint64_t previous = first_address;
  int depth = 1, repeats = 0;
  bool cut = false;
  auto flush_repeats = [&] {
    if (repeats) format_to(sink, "      (0x{} {} more times)\n", Hex{previous, 16}, repeats);
    repeats = 0;
  };
  for (; frame_pointer % 8 == 0 && on_known_stack(frame_pointer); ++depth) {
    const auto* frame = x86::physical<const std::uint64_t>(frame_pointer);
    auto return_address = frame[1];
    if (return_address == 0) break;
    if (return_address == previous && depth > 1) {
      ++repeats;
    } else {
      flush_repeats();
      if (count == max_lines) {
        sink.write("  ...\n");
        cut = true;
        break;
      }
      print_frame(depth, return_address, true);
      previous = return_address;
    }
    if (frame[0] <= frame_pointer) break;
    frame_pointer = frame[0];
  }
  if (!cut) flush_repeats();
  sink.write("source lines: addr2line -f -C -i -e <image>.elf");
  for (int i = 0; i < count; ++i) format_to(sink, " 0x{}", Hex{printed[i]});
  sink.write("\n");
}

} // namespace morgana::pvh::traps

extern "C" [[noreturn]] void pvh_trap(morgana::pvh::traps::TrapFrame* frame) {
  using namespace morgana;
  using namespace morgana::pvh;
  if (traps::g_handling) {
    platform::console_write("\nmorgana: CPU exception while reporting a CPU exception\n");
    stop(exit_status_cpu_exception);
  }
  traps::g_handling = true;
  platform::ConsoleSink console;
  format_to(console, "\nmorgana: CPU exception {} ({}), error code 0x{}\n", frame->vector,
            traps::vector_name(frame->vector), Hex{frame->error_code});
  if (frame->vector == traps::page_fault) traps::describe_page_fault(console, *frame, x86::read_cr2());
  if (frame->vector == traps::double_fault && frame->rsp < image::stack_bottom() + 4096 &&
      frame->rsp >= image::stack_guard())
    console.write("  the stack pointer is at the stack's guard page: stack overflow\n");
  if (frame->vector == traps::invalid_opcode)
    console.write("  (ud2 is what __builtin_trap and unreachable code execute)\n");
  traps::print_registers(console, *frame);
  traps::print_backtrace(console, frame->rip, frame->rbp);
  format_to(console, "morgana: stopping after a CPU exception, exit status {}\n", exit_status_cpu_exception);
  stop(exit_status_cpu_exception);
}
