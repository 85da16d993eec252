# SPDX-License-Identifier: Apache-2.0
# arenalab_add_workload(NAME SOURCES... [CATEGORY c] [DESCRIPTION d] [LIBS l...] [TAKES_DURATION])
# TAKES_DURATION: the program runs for `--duration SECONDS` (`arenalab matrix --duration` passes
# it on); recorded as "takes_duration": true in the index.
# builds wl_NAME (plain: for LD_PRELOAD) and wl_NAME-<backend> linked against every available
# backend (jemalloc, mimalloc, tcmalloc, tbbmalloc), and records the workload in
# build/share/arenalab/workloads.json, which `arenalab workloads` lists. The index is written at
# build time by arenalab-write-workloads (formats/tools) through the format's one writer
# (formats/workloads.h): CMake only collects each workload's fields as KEY=VALUE words.
set_property(GLOBAL PROPERTY ARENALAB_WORKLOAD_INDEX "")

function(arenalab_add_workload name)
  cmake_parse_arguments(ARG "TAKES_DURATION" "CATEGORY;DESCRIPTION" "SOURCES;LIBS" ${ARGN})
  set(sources ${ARG_SOURCES} ${ARG_UNPARSED_ARGUMENTS})
  if(NOT ARG_CATEGORY)
    set(ARG_CATEGORY misc)
  endif()
  set(variants "")
  set(targets wl_${name})
  # Compile once: the plain program and every link variant share the objects (the allocator
  # is chosen at link or load time, never at compile time). Sources that are already
  # $<TARGET_OBJECTS:...> are used as they are.
  if(NOT sources MATCHES "TARGET_OBJECTS")
    add_library(wl_${name}_objects OBJECT ${sources})
    target_link_libraries(wl_${name}_objects PRIVATE arenalab::workload ${ARG_LIBS})
    arenalab_target_defaults(wl_${name}_objects)
    set(sources $<TARGET_OBJECTS:wl_${name}_objects>)
  endif()
  add_executable(wl_${name} ${sources})
  foreach(backend IN LISTS ARENALAB_BACKENDS)
    if(backend STREQUAL "glibc" OR ARENALAB_SANITIZE)
      continue()
    endif()
    string(TOUPPER "${backend}" B)
    add_executable(wl_${name}-${backend} ${sources})
    # --no-as-needed: the allocator must be a DT_NEEDED entry even though the program
    # names none of its symbols; its malloc then precedes glibc's in the lookup scope.
    target_link_libraries(wl_${name}-${backend} PRIVATE
      "-Wl,--push-state,--no-as-needed" "${ARENALAB_${B}_LIBRARY}" "-Wl,--pop-state")
    list(APPEND targets wl_${name}-${backend})
    list(APPEND variants "link_variant=${backend}")
  endforeach()
  foreach(t IN LISTS targets)
    target_link_libraries(${t} PRIVATE arenalab::workload ${ARG_LIBS})
    arenalab_target_defaults(${t})
  endforeach()
  set(duration "")
  if(ARG_TAKES_DURATION)
    set(duration takes_duration)
  endif()
  set_property(GLOBAL APPEND PROPERTY ARENALAB_WORKLOAD_INDEX --workload "name=${name}"
    "program=wl_${name}" "category=${ARG_CATEGORY}" "description=${ARG_DESCRIPTION}" ${variants}
    ${duration})
endfunction()

# arenalab_register_external_workload(NAME CATEGORY c DESCRIPTION d COMMAND ...) records a
# workload that is not built here (a real program driven by a script).
function(arenalab_register_external_workload name)
  cmake_parse_arguments(ARG "" "CATEGORY;DESCRIPTION;PROGRAM" "" ${ARGN})
  set_property(GLOBAL APPEND PROPERTY ARENALAB_WORKLOAD_INDEX --workload "name=${name}"
    "program=${ARG_PROGRAM}" "category=${ARG_CATEGORY}" "description=${ARG_DESCRIPTION}")
endfunction()

# Called once at the end of the top-level CMakeLists.txt: the build step that writes the index
# (arenalab_write_from_words, ArenalabGenerated.cmake).
function(arenalab_write_workload_index)
  get_property(words GLOBAL PROPERTY ARENALAB_WORKLOAD_INDEX)
  arenalab_write_from_words(TARGET arenalab_workload_index
    OUTPUT ${PROJECT_BINARY_DIR}/share/arenalab/workloads.json TOOL arenalab-write-workloads
    COMMENT "Writing share/arenalab/workloads.json (formats/workloads.h)" WORDS ${words})
  # Whoever builds arenalab (or only a test of the index) has the index.
  add_dependencies(arenalab arenalab_workload_index)
endfunction()
