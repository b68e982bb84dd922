# omniloop_add_plugin(NAME <plugin name> SOURCES ... [DEPS ...])
# Builds one connector plugin as a shared library against the SDK alone. Used by the in-tree
# plugins and installed with the SDK for vendors (find_package(omniloop) provides it).
function(omniloop_add_plugin)
  cmake_parse_arguments(A "" "NAME" "SOURCES;DEPS" ${ARGN})
  string(REPLACE "." "_" target "omniloop_plugin_${A_NAME}")
  add_library(${target} MODULE ${A_SOURCES})
  target_link_libraries(${target} PRIVATE omniloop::sdk ${A_DEPS})
  set_target_properties(${target} PROPERTIES
    PREFIX "" OUTPUT_NAME "${A_NAME}"
    C_VISIBILITY_PRESET hidden CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  if(DEFINED OMNILOOP_PLUGIN_OUTPUT_DIR)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${OMNILOOP_PLUGIN_OUTPUT_DIR})
  endif()
  if(DEFINED OMNILOOP_PLUGIN_INSTALL_DIR)
    install(TARGETS ${target} LIBRARY DESTINATION ${OMNILOOP_PLUGIN_INSTALL_DIR} COMPONENT runtime)
  endif()
  set(OMNILOOP_LAST_PLUGIN_TARGET ${target} PARENT_SCOPE)
endfunction()
