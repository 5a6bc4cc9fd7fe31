# Flags for the tools the build runs on the build machine (tools/crunch,
# tools/bearssl_trim): the compiler's host defaults, not the target's flags
# (the pvh target's are freestanding).
include_guard(GLOBAL)
set(morgana_host_tool_flags -std=c++23 -O2 -Wall -Wextra)
if(NOT DEFINED MORGANA_WERROR OR MORGANA_WERROR)
  list(APPEND morgana_host_tool_flags -Werror)
endif()
