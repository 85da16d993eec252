# SPDX-License-Identifier: Apache-2.0
# Finds the allocator backends (Debian packages) at configure time. For each available
# backend B: ARENALAB_<B>_LIBRARY (the shared object for LD_PRELOAD and link variants).
# ARENALAB_BACKENDS lists the available ones (glibc always); a missing one is named in the
# summary with the package that provides it, and its tests skip with that reason.
set(ARENALAB_BACKENDS glibc)
set(ARENALAB_MISSING_BACKENDS "")

# backend  soname (what LD_PRELOAD names)  Debian package
set(_arenalab_backend_table
  "jemalloc|libjemalloc.so.2|libjemalloc-dev"
  "mimalloc|libmimalloc.so.2|libmimalloc-dev"
  "tcmalloc|libtcmalloc.so.4|libgoogle-perftools-dev"
  "tbbmalloc|libtbbmalloc_proxy.so.2|libtbb-dev")

foreach(row IN LISTS _arenalab_backend_table)
  string(REPLACE "|" ";" fields "${row}")
  list(GET fields 0 backend)
  list(GET fields 1 soname)
  list(GET fields 2 package)
  string(TOUPPER "${backend}" B)
  find_library(ARENALAB_${B}_LIBRARY NAMES ${soname}
               PATHS /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE} /usr/lib /usr/local/lib)
  if(ARENALAB_${B}_LIBRARY)
    list(APPEND ARENALAB_BACKENDS ${backend})
    set(ARENALAB_${B}_PRELOAD "${ARENALAB_${B}_LIBRARY}")
  else()
    list(APPEND ARENALAB_MISSING_BACKENDS "${backend} (${soname}; install ${package})")
    # The configurations file still names the library; it shows as unavailable.
    set(ARENALAB_${B}_PRELOAD "${soname}")
  endif()
endforeach()

# Profiling tools used by the detectors (optional; their tests skip without them).
find_program(ARENALAB_JEPROF jeprof)
find_program(ARENALAB_PPROF NAMES google-pprof pprof)
find_program(ARENALAB_HEAPTRACK heaptrack)
find_program(ARENALAB_HEAPTRACK_PRINT heaptrack_print)

function(arenalab_print_summary)
  message(STATUS "arenalab ${PROJECT_VERSION} configuration summary")
  message(STATUS "  allocator backends available: ${ARENALAB_BACKENDS}")
  if(ARENALAB_MISSING_BACKENDS)
    foreach(m IN LISTS ARENALAB_MISSING_BACKENDS)
      message(STATUS "  allocator backend MISSING: ${m}")
    endforeach()
  endif()
  foreach(tool JEPROF PPROF HEAPTRACK HEAPTRACK_PRINT)
    if(ARENALAB_${tool})
      message(STATUS "  ${tool}: ${ARENALAB_${tool}}")
    else()
      message(STATUS "  ${tool}: not found (its tests skip)")
    endif()
  endforeach()
  if(ARENALAB_SANITIZE)
    message(STATUS "  sanitizer: ${ARENALAB_SANITIZE} (no link variants, no preload library)")
  endif()
endfunction()
