# The house rule (docs/architecture.md): dependencies between core folders point one way,
#   event <- config, privacy <- identity <- store <- pipeline <- plugin, admin <- app,
# each folder using only what is to its left. One table, checked twice:
# - omniloop_check_layering(): at configure time, on the link graph (every omniloop_<folder>
#   library and what it links, transitively); a library that reaches a forbidden one fails the
#   configure, naming both.
# - tests/unit/layering_test.cmake (ctest layering_test): on the sources, no file of a folder
#   includes a header of a folder it must not use (`#include "pipeline/..."` in core/store/).

# OMNILOOP_LAYER_FORBIDS_<folder>: the core folders <folder> must not use.
set(OMNILOOP_LAYERS event config privacy identity store pipeline plugin admin app)
set(OMNILOOP_LAYER_FORBIDS_event config privacy identity store pipeline plugin admin app)
set(OMNILOOP_LAYER_FORBIDS_config privacy identity store pipeline plugin admin app)
set(OMNILOOP_LAYER_FORBIDS_privacy config identity store pipeline plugin admin app)
set(OMNILOOP_LAYER_FORBIDS_identity store pipeline plugin admin app)
set(OMNILOOP_LAYER_FORBIDS_store pipeline plugin admin app)
set(OMNILOOP_LAYER_FORBIDS_pipeline plugin admin app)
set(OMNILOOP_LAYER_FORBIDS_plugin admin app)
set(OMNILOOP_LAYER_FORBIDS_admin plugin app)
set(OMNILOOP_LAYER_FORBIDS_app "")

# The omniloop_* libraries `target` links, directly or not, into `out`.
function(_omniloop_reached target out)
  set(seen "")
  set(todo ${target})
  while(todo)
    list(POP_FRONT todo t)
    get_target_property(libs ${t} LINK_LIBRARIES)
    if(NOT libs)
      continue()
    endif()
    foreach(lib IN LISTS libs)
      if(lib MATCHES "^omniloop_[a-z]+$" AND TARGET ${lib} AND NOT lib IN_LIST seen)
        list(APPEND seen ${lib})
        list(APPEND todo ${lib})
      endif()
    endforeach()
  endwhile()
  set(${out} ${seen} PARENT_SCOPE)
endfunction()

function(omniloop_check_layering)
  foreach(layer IN LISTS OMNILOOP_LAYERS)
    if(NOT TARGET omniloop_${layer})
      continue()
    endif()
    _omniloop_reached(omniloop_${layer} reached)
    foreach(bad IN LISTS OMNILOOP_LAYER_FORBIDS_${layer})
      if(omniloop_${bad} IN_LIST reached)
        message(FATAL_ERROR "omniloop_${layer} links omniloop_${bad} (directly or through "
                            "${reached}): core/${layer}/ must not use core/${bad}/ "
                            "(cmake/omniloop_layering.cmake, docs/architecture.md). Move the "
                            "shared part to the left, or let ${bad} use ${layer} instead.")
      endif()
    endforeach()
  endforeach()
endfunction()
