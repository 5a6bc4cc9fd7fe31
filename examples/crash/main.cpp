// Crash: fails on purpose, in the way --crash names, so that tests can check
// that each failure stops the image with a report and a non-zero status.
//
//   crash --crash=null            write through a null pointer
//   crash --crash=stack-overflow  recurse until the stack runs out
//   crash --crash=write-text      write into the program's own code
//   crash --crash=exec-data       jump into writable data
//   crash --crash=divide          integer division by zero
//   crash --crash=smash-stack     overrun a stack buffer (the stack protector's canary)
//   crash --crash=abort           platform::abort
//   crash --crash=none            exit with status 0

#include <cstddef>
#include <cstdint>

#include "morgana/platform/interface.h"
#include "morgana_app.h"

using namespace morgana;

namespace {

// Volatile, so that the compiler cannot see through the deliberate mistakes below.
int* volatile g_null = nullptr;
volatile int g_zero = 0;
volatile int g_dividend = 10;
volatile int g_recursion_limit = -1;
volatile std::size_t g_overrun = 64;
volatile int g_result = 0; // where the ways that compute something put it
unsigned char g_return_instruction[] = {0xc3};

// Each way of failing is a function of its own, not inlined, so that the
// backtrace names it (tests/system/pvh_fault_test.sh checks the names).
[[gnu::noinline]] int recurse(int depth) {
  volatile char frame[1024];
  frame[0] = static_cast<char>(depth);
  if (depth == g_recursion_limit) return 0;
  return recurse(depth + 1) + frame[0];
}

[[gnu::noinline]] void write_through_null() { *g_null = 42; }

[[gnu::noinline]] void write_into_text() {
  auto* code = reinterpret_cast<volatile unsigned char*>(&recurse);
  *code = 0xcc;
}

[[gnu::noinline]] void smash_stack() {
  char buffer[16];
  char* volatile cursor = buffer; // the compiler cannot bound writes through it
  for (std::size_t i = 0; i < g_overrun; ++i) cursor[i] = 'A';
}

// Returns only for "none" and for a name it does not know.
[[gnu::noinline]] Result<void> crash(std::string_view how) {
  if (how == "null") {
    write_through_null();
  } else if (how == "stack-overflow") {
    g_result = recurse(0);
  } else if (how == "write-text") {
    write_into_text();
  } else if (how == "exec-data") {
    reinterpret_cast<void (*)()>(&g_return_instruction[0])();
  } else if (how == "divide") {
    g_result = g_dividend / g_zero;
  } else if (how == "smash-stack") {
    smash_stack();
  } else if (how == "abort") {
    platform::abort("crash: --crash=abort");
  } else if (how != "none") {
    return fail(Errc::invalid_argument, "unknown --crash (see --help)");
  }
  return {};
}

} // namespace

Task<Result<void>> app_main(app::Context& context) {
  auto how = context.settings.crash;
  context.log().info("crash: --crash={}", how);
  CO_TRY(crash(how));
  context.log().info("crash: still running after --crash={}", how);
  co_return Result<void>{};
}
