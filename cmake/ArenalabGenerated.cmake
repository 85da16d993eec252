# SPDX-License-Identifier: Apache-2.0
# arenalab_write_from_words(TARGET t OUTPUT file TOOL tool COMMENT text WORDS w...)
# A generated file written at build time by TOOL (formats/tools) through its format's one writer,
# from KEY=VALUE words CMake collects: TOOL OUTPUT WORDS..., in target t (ALL). The words are also
# kept in a file, rewritten only when they change, so that a changed list reruns the tool (a
# Makefile rule does not see its own command line change).
function(arenalab_write_from_words)
  cmake_parse_arguments(ARG "" "TARGET;OUTPUT;TOOL;COMMENT" "WORDS" ${ARGN})
  set(words_file ${PROJECT_BINARY_DIR}/CMakeFiles/${ARG_TARGET}.words)
  string(REPLACE ";" "\n" text "${ARG_WORDS}")
  file(WRITE ${words_file}.new "${text}\n")
  configure_file(${words_file}.new ${words_file} COPYONLY)
  # The output's folder is made by the rule: on a fresh build nothing else has made it yet.
  get_filename_component(dir ${ARG_OUTPUT} DIRECTORY)
  add_custom_command(OUTPUT ${ARG_OUTPUT}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${dir}
    COMMAND ${ARG_TOOL} ${ARG_OUTPUT} ${ARG_WORDS}
    DEPENDS ${ARG_TOOL} ${words_file}
    COMMENT "${ARG_COMMENT}" VERBATIM)
  add_custom_target(${ARG_TARGET} ALL DEPENDS ${ARG_OUTPUT})
endfunction()
