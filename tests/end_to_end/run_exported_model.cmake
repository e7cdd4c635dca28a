# Runs one exported model through the C++ runtime with the tolerances its export chose:
#   cmake -DTCONV_RUN=path/to/tconv-run -DMODEL_DIR=dir -DNAME=model -DDEVICE=cpu
#         -P run_exported_model.cmake
# Reads MODEL_DIR/NAME.json ("rtol", "atol"), runs
#   tconv-run NAME.pt --input NAME.input.pt --expected NAME.expected.pt --rtol R --atol A ...
# and passes only when tconv-run exits 0 (the output is within tolerance, and not NaN).
cmake_minimum_required(VERSION 3.19)  # string(JSON)
foreach(required TCONV_RUN MODEL_DIR NAME DEVICE)
  if(NOT DEFINED ${required})
    message(FATAL_ERROR "run_exported_model.cmake needs -D${required}=...")
  endif()
endforeach()

set(prefix "${MODEL_DIR}/${NAME}")
if(NOT EXISTS "${prefix}.json")
  message(FATAL_ERROR "${prefix}.json is missing: did the export (end_to_end_export) run?")
endif()
file(READ "${prefix}.json" description)
string(JSON rtol GET "${description}" rtol)
string(JSON atol GET "${description}" atol)

execute_process(
  COMMAND "${TCONV_RUN}" "${prefix}.pt" --input "${prefix}.input.pt"
          --expected "${prefix}.expected.pt" --rtol ${rtol} --atol ${atol}
          --device ${DEVICE} --warmup 1 --iters 3
  RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "tconv-run failed for ${NAME} (exit status ${status}: 1 = outside "
                      "tolerance, 2 = could not load or run)")
endif()
