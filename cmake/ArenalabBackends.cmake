# SPDX-License-Identifier: Apache-2.0
# Finds the allocator backends (Debian packages) at configure time. For each available
# backend B: ARENALAB_<B>_LIBRARY (the shared object for LD_PRELOAD and link variants).
# ARENALAB_BACKENDS lists the available ones (glibc always); a missing one is named in the
# summary with the package that provides it, and its tests skip with that reason.
set(ARENALAB_BACKENDS glibc)
set(ARENALAB_MISSING_BACKENDS "")

# Each backend is discovered through its package's own metadata (pkg-config or CMake config),
# which gives the library directory; in it we take the file named by the soname, since that
# is what LD_PRELOAD and the dynamic linker load.
#   backend | soname | how found | Debian package
set(_arenalab_backend_table
  "jemalloc|libjemalloc.so.2|pkg,jemalloc|libjemalloc-dev"
  "mimalloc|libmimalloc.so.2|cmake,mimalloc,mimalloc|libmimalloc-dev"
  "tcmalloc|libtcmalloc.so.4|pkg,libtcmalloc|libgoogle-perftools-dev"
  "tbbmalloc|libtbbmalloc_proxy.so.2|cmake,TBB,TBB::tbbmalloc_proxy|libtbb-dev")

foreach(row IN LISTS _arenalab_backend_table)
  string(REPLACE "|" ";" fields "${row}")
  list(GET fields 0 backend)
  list(GET fields 1 soname)
  list(GET fields 2 how)
  list(GET fields 3 package)
  string(TOUPPER "${backend}" B)
  string(REPLACE "," ";" how "${how}")
  list(GET how 0 kind)
  list(GET how 1 pkg)
  set(libdir "")
  if(kind STREQUAL "pkg")
    pkg_check_modules(ARENALAB_PC_${B} QUIET ${pkg})
    if(ARENALAB_PC_${B}_FOUND)
      pkg_get_variable(libdir ${pkg} libdir)
    endif()
  else()
    list(GET how 2 target)
    find_package(${pkg} CONFIG QUIET)
    if(TARGET ${target})
      # LOCATION fails for targets imported only for another build type ("None" for TBB).
      get_target_property(loc ${target} LOCATION)
      if(NOT loc)
        get_target_property(configs ${target} IMPORTED_CONFIGURATIONS)
        foreach(cfg IN LISTS configs)
          get_target_property(loc ${target} IMPORTED_LOCATION_${cfg})
          if(loc)
            break()
          endif()
        endforeach()
      endif()
      if(loc)
        get_filename_component(libdir "${loc}" DIRECTORY)
      endif()
    endif()
  endif()
  if(libdir)
    find_library(ARENALAB_${B}_LIBRARY NAMES ${soname} HINTS ${libdir} NO_DEFAULT_PATH)
  endif()
  if(ARENALAB_${B}_LIBRARY)
    list(APPEND ARENALAB_BACKENDS ${backend})
    set(ARENALAB_${B}_PRELOAD "${ARENALAB_${B}_LIBRARY}")
  else()
    list(APPEND ARENALAB_MISSING_BACKENDS "${backend} (${soname}: install ${package})")
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
