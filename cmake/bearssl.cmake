# BearSSL as Morgana links it: Debian's libbearssl.a (libbearssl-dev) with the
# server handshake's cipher-suite table cut to Morgana's suites, which takes a
# third of the instructions out of a full TLS handshake (tools/bearssl_trim
# says why and how). Sets MORGANA_BEARSSL (the archive to link) and
# MORGANA_BEARSSL_INCLUDE; link targets that use it after morgana_bearssl.
# Included by CMakeLists.txt (hosted) and cmake/pvh.cmake.

get_filename_component(morgana_bearssl_root "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
find_library(MORGANA_BEARSSL_SYSTEM NAMES libbearssl.a REQUIRED)
find_path(MORGANA_BEARSSL_INCLUDE bearssl.h PATH_SUFFIXES bearssl REQUIRED)
option(MORGANA_BEARSSL_TRIM "Link BearSSL with its server cipher-suite table cut to Morgana's suites" ON)

if(MORGANA_BEARSSL_TRIM)
  set(morgana_bearssl_dir ${CMAKE_BINARY_DIR}/bearssl)
  # In the cache too: tests/system/pvh_link_test.sh reads what the image linked from there.
  set(MORGANA_BEARSSL ${morgana_bearssl_dir}/libbearssl.a CACHE INTERNAL "BearSSL as linked")
  include(${CMAKE_CURRENT_LIST_DIR}/host_tools.cmake)
  add_custom_command(
    OUTPUT ${MORGANA_BEARSSL}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${morgana_bearssl_dir}
    COMMAND ${CMAKE_CXX_COMPILER} ${morgana_host_tool_flags} -I${morgana_bearssl_root}/src -I${MORGANA_BEARSSL_INCLUDE}
            ${morgana_bearssl_root}/tools/bearssl_trim/bearssl_trim.cpp -o ${morgana_bearssl_dir}/bearssl_trim
    COMMAND ${CMAKE_COMMAND} -E copy ${MORGANA_BEARSSL_SYSTEM} ${morgana_bearssl_dir}/libbearssl.a.new
    COMMAND ${CMAKE_COMMAND} -E chdir ${morgana_bearssl_dir} ${CMAKE_AR} x libbearssl.a.new ssl_hs_server.o
    COMMAND ${morgana_bearssl_dir}/bearssl_trim ${morgana_bearssl_dir}/ssl_hs_server.o
    COMMAND ${CMAKE_COMMAND} -E chdir ${morgana_bearssl_dir} ${CMAKE_AR} rs libbearssl.a.new ssl_hs_server.o
    COMMAND ${CMAKE_COMMAND} -E rename ${morgana_bearssl_dir}/libbearssl.a.new ${MORGANA_BEARSSL}
    DEPENDS ${MORGANA_BEARSSL_SYSTEM} ${morgana_bearssl_root}/tools/bearssl_trim/bearssl_trim.cpp
            ${morgana_bearssl_root}/src/morgana/tls/suites.h
    COMMENT "bearssl: cutting the server's cipher-suite table to Morgana's suites"
    VERBATIM)
  add_custom_target(morgana_bearssl DEPENDS ${MORGANA_BEARSSL})
else()
  set(MORGANA_BEARSSL ${MORGANA_BEARSSL_SYSTEM} CACHE INTERNAL "BearSSL as linked")
  add_custom_target(morgana_bearssl)
endif()
