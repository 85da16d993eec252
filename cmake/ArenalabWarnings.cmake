# SPDX-License-Identifier: Apache-2.0
# Warnings and sanitizer flags, applied per target (no directory-wide flags).
set(ARENALAB_SANITIZE "" CACHE STRING "address | undefined | thread | empty")

# arenalab_target_defaults(TARGET [NO_SANITIZE]): warnings for our own code, and the
# configured sanitizer unless NO_SANITIZE (the preload library is never sanitized).
function(arenalab_target_defaults target)
  cmake_parse_arguments(ARG "NO_SANITIZE" "" "" ${ARGN})
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers)
  if(ARENALAB_SANITIZE AND NOT ARG_NO_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=${ARENALAB_SANITIZE} -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=${ARENALAB_SANITIZE})
  endif()
endfunction()
