# Runs a command and checks its exact exit status and its output (CTest's WILL_FAIL only knows
# "non-zero", and a crash is non-zero too):
#   cmake -DCOMMAND="prog|arg|arg" -DEXPECTED_EXIT=2 [-DSTDOUT_MATCHES=regex]
#         [-DSTDERR_MATCHES=regex] [-DSTDERR_ONE_LINE=ON] -P expect_exit.cmake
# Arguments are separated by "|" so they survive CTest's own list handling.
if(NOT DEFINED COMMAND OR NOT DEFINED EXPECTED_EXIT)
  message(FATAL_ERROR "expect_exit.cmake needs -DCOMMAND=... and -DEXPECTED_EXIT=...")
endif()
string(REPLACE "|" ";" command "${COMMAND}")
execute_process(COMMAND ${command}
                RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("command: ${command}\nexit status: ${status}\n--- stdout\n${out}--- stderr\n${err}---")

set(problems "")
if(NOT "${status}" STREQUAL "${EXPECTED_EXIT}")
  string(APPEND problems "exit status ${status}, expected ${EXPECTED_EXIT}. ")
endif()
if(DEFINED STDOUT_MATCHES AND NOT out MATCHES "${STDOUT_MATCHES}")
  string(APPEND problems "stdout does not match '${STDOUT_MATCHES}'. ")
endif()
if(DEFINED STDERR_MATCHES AND NOT err MATCHES "${STDERR_MATCHES}")
  string(APPEND problems "stderr does not match '${STDERR_MATCHES}'. ")
endif()
if(STDERR_ONE_LINE)
  string(REGEX REPLACE "\n$" "" trimmed "${err}")
  if(trimmed STREQUAL "" OR trimmed MATCHES "\n")
    string(APPEND problems "stderr is not exactly one line. ")
  endif()
endif()
if(problems)
  message(FATAL_ERROR "${problems}")
endif()
