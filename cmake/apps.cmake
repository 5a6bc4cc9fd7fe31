# morgana_add_apps(ROOT ADD_FUNCTION): calls ADD_FUNCTION(name dir) for every
# directory under ROOT/examples and for MORGANA_APP (an application elsewhere),
# so each target's build adds the same set of applications. Each application
# then gets its crunched stores (cmake/crunch.cmake).
include(${CMAKE_CURRENT_LIST_DIR}/crunch.cmake)

function(morgana_add_app_with_stores add_function name dir)
  cmake_language(CALL ${add_function} ${name} ${dir})
  if(TARGET ${name})
    morgana_crunch_app(${name} ${dir})
  endif()
endfunction()

function(morgana_add_apps root add_function)
  file(GLOB examples CONFIGURE_DEPENDS LIST_DIRECTORIES true ${root}/examples/*)
  foreach(example ${examples})
    if(IS_DIRECTORY ${example})
      get_filename_component(name ${example} NAME)
      morgana_add_app_with_stores(${add_function} ${name} ${example})
    endif()
  endforeach()
  if(MORGANA_APP)
    get_filename_component(parent "${MORGANA_APP}/.." ABSOLUTE)
    if(NOT parent STREQUAL "${root}/examples")
      get_filename_component(name ${MORGANA_APP} NAME)
      morgana_add_app_with_stores(${add_function} ${name} ${MORGANA_APP})
    endif()
  endif()
endfunction()
