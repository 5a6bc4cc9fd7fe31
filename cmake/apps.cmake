# Applications: every directory under ROOT/examples and MORGANA_APP (an
# application elsewhere), so each target's build adds the same set. Every
# application target gets the code generated from its manifest (morgana.toml,
# by tools/appgen: ${CMAKE_BINARY_DIR}/apps/<name>/morgana_app.{h,cpp}) and its
# crunched stores (cmake/crunch.cmake), through morgana_app_sources().

set(MORGANA_APP "" CACHE PATH "Application directory to build (used by ./morgana build)")
option(MORGANA_ONLY_APP "Build only MORGANA_APP: no examples, unit tests or tools (./morgana build)" OFF)
set(MORGANA_APP_ARGUMENTS "" CACHE STRING
    "Boot arguments baked into MORGANA_APP as defaults, a command line as pvh's (double quotes group words), e.g. '--port=80 --name=\"a b\"' (./morgana configure -- ARGS)")
if(MORGANA_ONLY_APP AND NOT MORGANA_APP)
  message(FATAL_ERROR "MORGANA_ONLY_APP needs MORGANA_APP, the application to build")
endif()

get_filename_component(morgana_apps_root "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
# tomllib arrived in Python 3.11.
find_package(Python3 3.11 REQUIRED COMPONENTS Interpreter)
set(morgana_appgen ${morgana_apps_root}/tools/appgen/appgen.py)

include(${CMAKE_CURRENT_LIST_DIR}/crunch.cmake)

# morgana_is_selected_app(<app dir> <out var>): whether <app dir> is MORGANA_APP,
# the one application MORGANA_CRUNCH and MORGANA_APP_ARGUMENTS apply to.
function(morgana_is_selected_app app_dir out_var)
  set(selected FALSE)
  if(MORGANA_APP)
    get_filename_component(app "${MORGANA_APP}" ABSOLUTE BASE_DIR ${morgana_apps_root})
    get_filename_component(dir "${app_dir}" ABSOLUTE)
    if(app STREQUAL dir)
      set(selected TRUE)
    endif()
  endif()
  set(${out_var} ${selected} PARENT_SCOPE)
endfunction()

# morgana_generate_app(<target> <app dir>): runs appgen at build time into
# ${CMAKE_BINARY_DIR}/apps/<target>/, an include directory of <target>, whose
# morgana_app.cpp becomes one of its sources.
function(morgana_generate_app target app_dir)
  get_filename_component(app_dir "${app_dir}" ABSOLUTE)
  set(out ${CMAKE_BINARY_DIR}/apps/${target})
  file(MAKE_DIRECTORY ${out})
  # The baked arguments go through a file, rewritten only when they change, so
  # that changing them regenerates (and only then).
  set(arguments "")
  morgana_is_selected_app(${app_dir} selected)
  if(selected)
    set(arguments "${MORGANA_APP_ARGUMENTS}")
  endif()
  set(arguments_file ${out}/configured_arguments.txt)
  set(previous "")
  if(EXISTS ${arguments_file})
    file(READ ${arguments_file} previous)
  endif()
  if(NOT EXISTS ${arguments_file} OR NOT "${previous}" STREQUAL "${arguments}")
    file(WRITE ${arguments_file} "${arguments}")
  endif()
  # A glob, so that a manifest added later reconfigures.
  file(GLOB manifest CONFIGURE_DEPENDS ${app_dir}/morgana.toml)
  add_custom_command(
    OUTPUT ${out}/morgana_app.h ${out}/morgana_app.cpp
    COMMAND ${Python3_EXECUTABLE} ${morgana_appgen} ${app_dir} --out ${out} --arguments-file ${arguments_file}
    DEPENDS ${morgana_appgen} ${manifest} ${arguments_file}
    COMMENT "appgen: ${target}: morgana_app.h and morgana_app.cpp from ${app_dir}/morgana.toml"
    VERBATIM)
  target_sources(${target} PRIVATE ${out}/morgana_app.cpp)
  target_include_directories(${target} PRIVATE ${out})
endfunction()

# morgana_app_sources(<target> <app dir>): what every application target gets
# besides its own sources: the generated code and the crunched stores.
function(morgana_app_sources target app_dir)
  morgana_generate_app(${target} ${app_dir})
  morgana_crunch_app(${target} ${app_dir})
endfunction()

# morgana_add_apps(ROOT ADD_FUNCTION): calls ADD_FUNCTION(name dir) for every
# directory under ROOT/examples and for MORGANA_APP; with MORGANA_ONLY_APP, for
# MORGANA_APP only.
function(morgana_add_apps root add_function)
  if(MORGANA_ONLY_APP)
    get_filename_component(app "${MORGANA_APP}" ABSOLUTE BASE_DIR ${root})
    get_filename_component(name ${app} NAME)
    cmake_language(CALL ${add_function} ${name} ${app})
    return()
  endif()
  file(GLOB examples CONFIGURE_DEPENDS LIST_DIRECTORIES true ${root}/examples/*)
  foreach(example ${examples})
    if(IS_DIRECTORY ${example})
      get_filename_component(name ${example} NAME)
      cmake_language(CALL ${add_function} ${name} ${example})
    endif()
  endforeach()
  if(MORGANA_APP)
    get_filename_component(app "${MORGANA_APP}" ABSOLUTE BASE_DIR ${root})
    get_filename_component(parent "${app}/.." ABSOLUTE)
    get_filename_component(name ${app} NAME)
    if(TARGET ${name} AND NOT parent STREQUAL "${root}/examples")
      message(FATAL_ERROR "MORGANA_APP ${app}: the target name '${name}' is taken (build it with MORGANA_ONLY_APP=ON)")
    elseif(NOT TARGET ${name})
      cmake_language(CALL ${add_function} ${name} ${app})
    endif()
  endif()
endfunction()
