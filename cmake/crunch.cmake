# Crunch: directories compiled into applications as read-only key-value stores
# (src/morgana/kv/crunch_store.h; the generator is tools/crunch). Included by
# cmake/apps.cmake, so both targets (hosted, pvh) get it.
#
# Which directories an application gets:
#   MORGANA_CRUNCH        "name=dir;name2=dir2", for the application MORGANA_APP
#                         (./morgana configure APP --crunch name=dir, or build --crunch)
#   <app dir>/morgana.toml a store's `default`, a directory relative to the
#                         application (read through tools/appgen/appgen.py --stores),
#                         for the names MORGANA_CRUNCH does not give
# Every application links a registry (kv::crunched_stores()), empty without stores.

get_filename_component(morgana_crunch_root "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
set(MORGANA_CRUNCH "" CACHE STRING "Stores crunched into MORGANA_APP: name=dir;name2=dir2")

# The generator runs on the build machine.
include(${CMAKE_CURRENT_LIST_DIR}/host_tools.cmake)
set(morgana_crunch_tool ${CMAKE_BINARY_DIR}/crunch-tool/crunch)
add_custom_command(
  OUTPUT ${morgana_crunch_tool}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/crunch-tool
  COMMAND ${CMAKE_CXX_COMPILER} ${morgana_host_tool_flags} -I${morgana_crunch_root}/src
          ${morgana_crunch_root}/tools/crunch/crunch.cpp ${morgana_crunch_root}/src/morgana/kv/mime.cpp
          ${morgana_crunch_root}/src/morgana/kv/gzip.cpp -lz
          -l:libbearssl.a -o ${morgana_crunch_tool}
  DEPENDS ${morgana_crunch_root}/tools/crunch/crunch.cpp ${morgana_crunch_root}/src/morgana/kv/mime.cpp
          ${morgana_crunch_root}/src/morgana/kv/gzip.cpp ${morgana_crunch_root}/src/morgana/kv/gzip.h
          ${morgana_crunch_root}/src/morgana/kv/mime.h ${morgana_crunch_root}/src/morgana/core/ascii.h
          ${morgana_crunch_root}/src/morgana/kv/hosted/directory_walk.h
  COMMENT "crunch: building the host tool"
  VERBATIM)
add_custom_target(morgana_crunch_tool DEPENDS ${morgana_crunch_tool})

# morgana_crunch_stores(<app dir> <out var>): the stores for the application in
# <app dir> as a list of name=absolute-dir, command-line names first.
function(morgana_crunch_stores app_dir out_var)
  set(stores)
  set(names)
  morgana_is_selected_app(${app_dir} selected)
  if(selected)
    foreach(item IN LISTS MORGANA_CRUNCH)
      if(NOT item MATCHES "^([A-Za-z_][A-Za-z0-9_]*)=(.+)$")
        message(FATAL_ERROR "crunch: MORGANA_CRUNCH item '${item}' is not NAME=DIR (NAME a C identifier)")
      endif()
      set(name ${CMAKE_MATCH_1})
      get_filename_component(dir "${CMAKE_MATCH_2}" ABSOLUTE BASE_DIR ${morgana_crunch_root})
      if(name IN_LIST names)
        message(FATAL_ERROR "crunch: store '${name}' given twice in MORGANA_CRUNCH")
      endif()
      list(APPEND names ${name})
      list(APPEND stores "${name}=${dir}")
    endforeach()
  endif()
  # The manifest's defaults (appgen validates the manifest on the way).
  execute_process(COMMAND ${Python3_EXECUTABLE} ${morgana_appgen} ${app_dir} --stores
                  OUTPUT_VARIABLE defaults ERROR_VARIABLE error RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "crunch: reading the stores of ${app_dir}: ${error}")
  endif()
  if(EXISTS ${app_dir}/morgana.toml)
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${app_dir}/morgana.toml ${morgana_appgen})
  endif()
  string(REPLACE "\n" ";" defaults "${defaults}")
  foreach(line IN LISTS defaults)
    if(NOT line MATCHES "^([A-Za-z_][A-Za-z0-9_]*)=(.+)$")
      continue()
    endif()
    if(NOT CMAKE_MATCH_1 IN_LIST names)
      list(APPEND names ${CMAKE_MATCH_1})
      list(APPEND stores "${CMAKE_MATCH_1}=${CMAKE_MATCH_2}")
    endif()
  endforeach()
  set(${out_var} "${stores}" PARENT_SCOPE)
endfunction()

# morgana_crunch_app(<target> <app dir>): generates, compiles and links the
# application's stores and its registry into <target>.
function(morgana_crunch_app target app_dir)
  get_filename_component(app_dir "${app_dir}" ABSOLUTE)
  morgana_crunch_stores(${app_dir} stores)
  set(out ${CMAKE_BINARY_DIR}/crunch/${target})
  file(MAKE_DIRECTORY ${out})
  set(names)
  foreach(store IN LISTS stores)
    string(REGEX MATCH "^([^=]+)=(.*)$" unused "${store}")
    set(name ${CMAKE_MATCH_1})
    set(dir ${CMAKE_MATCH_2})
    if(NOT IS_DIRECTORY "${dir}")
      message(FATAL_ERROR "crunch: store '${name}' of ${target}: '${dir}' is not a directory")
    endif()
    list(APPEND names ${name})
    # The contents go through the assembler only (.incbin); the depfile names
    # every file and directory read, so any change under DIR regenerates.
    add_custom_command(
      OUTPUT ${out}/crunch_${name}.cpp ${out}/crunch_${name}.o
      BYPRODUCTS ${out}/crunch_${name}.S
      COMMAND ${morgana_crunch_tool} --name ${name} --dir ${dir} --out ${out}
      COMMAND ${CMAKE_CXX_COMPILER} -c -x assembler-with-cpp ${out}/crunch_${name}.S -o ${out}/crunch_${name}.o
      DEPENDS ${morgana_crunch_tool}
      DEPFILE ${out}/crunch_${name}.d
      COMMENT "crunch: ${target}: store '${name}' from ${dir}"
      VERBATIM)
    target_sources(${target} PRIVATE ${out}/crunch_${name}.cpp ${out}/crunch_${name}.o)
  endforeach()
  add_custom_command(
    OUTPUT ${out}/crunch_registry.cpp
    COMMAND ${morgana_crunch_tool} --registry ${out}/crunch_registry.cpp ${names}
    DEPENDS ${morgana_crunch_tool}
    COMMENT "crunch: ${target}: registry (${names})"
    VERBATIM)
  target_sources(${target} PRIVATE ${out}/crunch_registry.cpp)
  add_dependencies(${target} morgana_crunch_tool)
endfunction()
