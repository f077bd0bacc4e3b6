# Writes build_info.cpp with the version, the git commit and the build options; touches the
# file only when its content changes so that builds stay incremental.
file(STRINGS "${SRC}/CMakeLists.txt" _project_line REGEX "^project\\(freehead VERSION")
string(REGEX REPLACE ".*VERSION ([0-9.]+).*" "\\1" FH_VERSION "${_project_line}")
execute_process(COMMAND git -C "${SRC}" rev-parse --short=12 HEAD OUTPUT_VARIABLE FH_COMMIT
                ERROR_QUIET OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0 OR FH_COMMIT STREQUAL "")
  set(FH_COMMIT "unknown")
else()
  execute_process(COMMAND git -C "${SRC}" status --porcelain --untracked-files=no OUTPUT_VARIABLE _dirty ERROR_QUIET)
  if(NOT _dirty STREQUAL "")
    string(APPEND FH_COMMIT "-dirty")
  endif()
endif()
configure_file("${TEMPLATE}" "${OUT}.tmp" @ONLY)
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
