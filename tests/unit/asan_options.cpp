// Allocation-failure tests ask for more than any heap holds and expect
// Errc::no_memory: under AddressSanitizer, such a request returns null
// (instead of stopping the test binary) only with allocator_may_return_null.
// The environment's ASAN_OPTIONS still override this.

// NOLINTNEXTLINE(readability-identifier-naming, bugprone-reserved-identifier): the name ASan looks up.
extern "C" const char* __asan_default_options() { return "allocator_may_return_null=1"; }
