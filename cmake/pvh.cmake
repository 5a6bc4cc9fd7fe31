# The pvh target: every application as a freestanding x86-64 ELF image that
# QEMU (-kernel on -M microvm and -M pc), Xen PVH and Firecracker boot through
# the XEN_ELFNOTE_PHYS32_ENTRY note, loaded and run at 1 MiB.
#
# Included by the top-level CMakeLists.txt when MORGANA_TARGET is "pvh", or by
# cmake/pvh-standalone/CMakeLists.txt. Builds the portable layers with the
# freestanding flags below, the pvh platform, and one image per example:
# ${CMAKE_BINARY_DIR}/<name>.elf. Applications add themselves with
# morgana_add_pvh_app(<name> <dir>).
#
# No libc, no libstdc++ library: libstdc++'s headers only, with the runtime in
# src/morgana/platform/pvh (allocation, mem*/str*, __cxa_*, std::__throw_*).
# What libstdc++.a holds for std::map, std::unordered_map and std::list
# (self-contained objects) is linked from Debian's own libstdc++.a.

cmake_minimum_required(VERSION 3.25)

get_filename_component(MORGANA_ROOT "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)

if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang" OR CMAKE_CXX_COMPILER_VERSION VERSION_LESS 19)
  message(FATAL_ERROR "pvh: needs clang++-19 (have ${CMAKE_CXX_COMPILER_ID} ${CMAKE_CXX_COMPILER_VERSION}); "
                      "configure with -DCMAKE_CXX_COMPILER=clang++-19 -DCMAKE_C_COMPILER=clang-19")
endif()
find_program(MORGANA_LD_LLD NAMES ld.lld-19 REQUIRED DOC "lld 19, the pvh linker")
enable_language(ASM)

if(NOT CMAKE_BUILD_TYPE)
  set(CMAKE_BUILD_TYPE RelWithDebInfo CACHE STRING "Build type" FORCE)
endif()
if(MORGANA_SANITIZE)
  message(WARNING "pvh: MORGANA_SANITIZE=${MORGANA_SANITIZE} ignored: sanitizer runtimes need libc")
endif()

set(CMAKE_CXX_STANDARD 23)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS ON) # TRY uses GNU statement expressions
set(CMAKE_EXPORT_COMPILE_COMMANDS ON)
set(CMAKE_POSITION_INDEPENDENT_CODE OFF)

if(NOT DEFINED morgana_flags)
  set(morgana_flags -fno-exceptions -fno-rtti -Wall -Wextra -Wshadow -Wnon-virtual-dtor -Wimplicit-fallthrough
      -Wno-missing-field-initializers)
  if(NOT DEFINED MORGANA_WERROR OR MORGANA_WERROR)
    list(APPEND morgana_flags -Werror)
  endif()
endif()

# Every object in an image: no red zone (interrupts land on the running stack
# while yield halts), no PIC (static image at a fixed address), frame
# pointers for backtraces, the stack protector (canary at %fs:0x28).
set(morgana_pvh_compile_flags
    -ffreestanding -fno-exceptions -fno-rtti -mno-red-zone -fno-pic -fno-pie -mcmodel=small
    -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer -fstack-protector-strong
    -fno-asynchronous-unwind-tables -fno-unwind-tables -ffunction-sections -fdata-sections)
set(morgana_pvh_link_flags
    -nostdlib -static --ld-path=${MORGANA_LD_LLD}
    -Wl,-T,${MORGANA_ROOT}/src/morgana/platform/pvh/linker.ld
    -Wl,--gc-sections -Wl,--build-id=none -Wl,-z,max-page-size=4096 -Wl,-z,noexecstack -Wl,--no-undefined)

# Portable layers, compiled freestanding.
file(GLOB morgana_portable_sources CONFIGURE_DEPENDS ${MORGANA_ROOT}/src/morgana/core/*.cpp
     ${MORGANA_ROOT}/src/morgana/net/*.cpp ${MORGANA_ROOT}/src/morgana/kv/*.cpp ${MORGANA_ROOT}/src/morgana/markdown/*.cpp
     ${MORGANA_ROOT}/src/morgana/http/*.cpp ${MORGANA_ROOT}/src/morgana/tls/*.cpp ${MORGANA_ROOT}/src/morgana/git/*.cpp
     ${MORGANA_ROOT}/src/morgana/blog/*.cpp ${MORGANA_ROOT}/src/morgana/app/*.cpp)
add_library(morgana STATIC ${morgana_portable_sources})
target_include_directories(morgana PUBLIC ${MORGANA_ROOT}/src)
target_compile_options(morgana PUBLIC $<$<COMPILE_LANGUAGE:CXX>:${morgana_pvh_compile_flags}> PRIVATE ${morgana_flags})
# Debian's static C libraries, linked only where an image refers to them:
# BearSSL (TLS), zlib and cmark-gfm (Markdown, src/morgana/markdown; its
# extensions refer to the core library, so they come first). Not cmark as
# well: cmark-gfm is its fork and defines the same symbols. The C library
# functions they call are in the platform (libc_symbols.txt).
include(${CMAKE_CURRENT_LIST_DIR}/bearssl.cmake)
find_library(MORGANA_ZLIB NAMES libz.a REQUIRED)
find_library(MORGANA_CMARK_GFM NAMES libcmark-gfm.a REQUIRED)
find_library(MORGANA_CMARK_GFM_EXTENSIONS NAMES libcmark-gfm-extensions.a REQUIRED)
# nettle/hogweed on GMP's mpn layer: the x86_64 P-256 and X25519 code behind
# BearSSL's EC hooks (src/morgana/tls/fast_ec.h). Its members that TLS pulls in
# call malloc, free and abort only (GMP's allocator; no mpz_t, no stdio).
find_library(MORGANA_HOGWEED NAMES libhogweed.a REQUIRED)
find_library(MORGANA_NETTLE NAMES libnettle.a REQUIRED)
find_library(MORGANA_GMP NAMES libgmp.a REQUIRED)
target_include_directories(morgana SYSTEM PUBLIC ${MORGANA_BEARSSL_INCLUDE})
add_dependencies(morgana morgana_bearssl)
target_link_libraries(morgana PUBLIC ${MORGANA_BEARSSL} ${MORGANA_ZLIB} ${MORGANA_CMARK_GFM_EXTENSIONS}
                                     ${MORGANA_CMARK_GFM} ${MORGANA_HOGWEED} ${MORGANA_NETTLE} ${MORGANA_GMP})

# The platform: an object library, so that the boot code and the ELF note are
# linked into every image whether or not anything refers to them.
file(GLOB morgana_pvh_sources CONFIGURE_DEPENDS ${MORGANA_ROOT}/src/morgana/platform/pvh/*.cpp
     ${MORGANA_ROOT}/src/morgana/platform/pvh/*.S ${MORGANA_ROOT}/src/morgana/app/pvh/*.cpp)
add_library(morgana_platform_pvh OBJECT ${morgana_pvh_sources})
target_link_libraries(morgana_platform_pvh PUBLIC morgana)
target_compile_options(morgana_platform_pvh PRIVATE $<$<COMPILE_LANGUAGE:CXX>:${morgana_flags}>)

# libstdc++.a's self-contained pieces (red-black tree, hashtable prime policy,
# std::hash's byte hash for strings, list hooks), in an archive of their own:
# linked only when referenced.
execute_process(COMMAND ${CMAKE_CXX_COMPILER} -print-file-name=libstdc++.a
                OUTPUT_VARIABLE morgana_libstdcxx OUTPUT_STRIP_TRAILING_WHITESPACE)
set(morgana_stdcxx_objects tree.o hashtable_c++0x.o hash_bytes.o list.o)
set(morgana_stdcxx_pieces ${CMAKE_BINARY_DIR}/stdcxx-pieces/libmorgana_stdcxx_pieces.a)
add_custom_command(
  OUTPUT ${morgana_stdcxx_pieces}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/stdcxx-pieces
  COMMAND ${CMAKE_AR} x ${morgana_libstdcxx} ${morgana_stdcxx_objects}
  COMMAND ${CMAKE_COMMAND} -E rm -f ${morgana_stdcxx_pieces}
  COMMAND ${CMAKE_AR} qcs ${morgana_stdcxx_pieces} ${morgana_stdcxx_objects}
  WORKING_DIRECTORY ${CMAKE_BINARY_DIR}/stdcxx-pieces
  DEPENDS ${morgana_libstdcxx}
  COMMENT "pvh: taking ${morgana_stdcxx_objects} from ${morgana_libstdcxx}")
file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/stdcxx-pieces)
add_custom_target(morgana_stdcxx_pieces DEPENDS ${morgana_stdcxx_pieces})

# Compiler helpers (128-bit division and the like), freestanding.
execute_process(COMMAND ${CMAKE_CXX_COMPILER} --rtlib=compiler-rt -print-libgcc-file-name
                OUTPUT_VARIABLE morgana_compiler_rt OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT EXISTS "${morgana_compiler_rt}")
  message(FATAL_ERROR "pvh: compiler-rt builtins not found at '${morgana_compiler_rt}' (libclang-rt-19-dev)")
endif()

# Every image links through cmake/pvh_link.py, which embeds the function
# symbol table that backtraces print names from.
find_package(Python3 REQUIRED COMPONENTS Interpreter)
find_program(MORGANA_LLVM_NM NAMES llvm-nm-19 REQUIRED)
find_program(MORGANA_LLVM_CXXFILT NAMES llvm-cxxfilt-19 REQUIRED)
set(morgana_pvh_link ${MORGANA_ROOT}/cmake/pvh_link.py)
set(morgana_pvh_link_launcher ${Python3_EXECUTABLE} ${morgana_pvh_link} --nm ${MORGANA_LLVM_NM} --cxxfilt
                              ${MORGANA_LLVM_CXXFILT})
list(JOIN morgana_pvh_link_launcher " " morgana_pvh_link_launcher)

# morgana_add_pvh_app(<name> <dir>): the application in <dir> as the image
# ${CMAKE_BINARY_DIR}/<name>.elf, with its generated code and crunched stores
# (cmake/apps.cmake).
function(morgana_add_pvh_app name dir)
  file(GLOB app_sources CONFIGURE_DEPENDS ${dir}/*.cpp)
  if(NOT app_sources)
    message(WARNING "application ${dir} has no .cpp files; skipped")
    return()
  endif()
  add_executable(${name} ${app_sources} $<TARGET_OBJECTS:morgana_platform_pvh>)
  target_link_libraries(${name} PRIVATE morgana ${morgana_stdcxx_pieces} ${morgana_compiler_rt})
  target_compile_options(${name} PRIVATE ${morgana_flags})
  target_link_options(${name} PRIVATE ${morgana_pvh_link_flags})
  add_dependencies(${name} morgana_stdcxx_pieces)
  set_target_properties(${name} PROPERTIES SUFFIX ".elf" RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR} LINK_DEPENDS
                                           "${MORGANA_ROOT}/src/morgana/platform/pvh/linker.ld;${morgana_pvh_link}")
  # Linked twice: the second time with the function symbol table for backtraces.
  set_property(TARGET ${name} PROPERTY RULE_LAUNCH_LINK
                                      "${morgana_pvh_link_launcher} --work ${CMAKE_BINARY_DIR}/CMakeFiles/${name}.dir/symbols --")
  morgana_app_sources(${name} ${dir})
endfunction()

include(${MORGANA_ROOT}/cmake/apps.cmake)
morgana_add_apps(${MORGANA_ROOT} morgana_add_pvh_app)
# Links the three C libraries for real, for tests/system/pvh_link_test.sh
# (already added when it is MORGANA_APP).
if(NOT MORGANA_ONLY_APP AND NOT TARGET pvh_link_app)
  morgana_add_pvh_app(pvh_link_app ${MORGANA_ROOT}/tests/pvh_link_app)
endif()
