# libFuzzer target for the safetensors parser (-DEDITCAPTION_FUZZ=ON). The project compiler may be
# GCC, so the target is built by a custom command with clang++ from the few sources the parser
# needs (they do not include LibTorch; fmt comes header-only from LibTorch's include directory).
find_program(EC_CLANGXX NAMES clang++ clang++-16 clang++-15 clang++-14)
if(NOT EC_CLANGXX)
  message(WARNING "editcaption: EDITCAPTION_FUZZ=ON but no clang++ found; skipping the fuzz targets")
  return()
endif()

set(_fz_dir ${CMAKE_CURRENT_SOURCE_DIR}/io/fuzz)
set(_fz_sources
  ${_fz_dir}/fuzz_safetensors.cpp
  ${CMAKE_SOURCE_DIR}/editcaption/io/safetensors_header.cpp
  ${CMAKE_SOURCE_DIR}/editcaption/io/json_strict.cpp
  ${CMAKE_SOURCE_DIR}/editcaption/core/strings.cpp
  ${CMAKE_SOURCE_DIR}/editcaption/core/error.cpp
  ${CMAKE_SOURCE_DIR}/editcaption/core/check.cpp)
set(_fz_includes -I${CMAKE_SOURCE_DIR})
foreach(_inc IN LISTS TORCH_INCLUDE_DIRS)
  list(APPEND _fz_includes -isystem ${_inc})
endforeach()
set(_fz_bin ${CMAKE_BINARY_DIR}/bin/fuzz_safetensors)
add_custom_command(
  OUTPUT ${_fz_bin}
  COMMAND ${EC_CLANGXX} -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
          -DFMT_HEADER_ONLY ${_fz_includes} ${_fz_sources} -o ${_fz_bin}
  DEPENDS ${_fz_sources}
  COMMENT "Building the libFuzzer target fuzz_safetensors with ${EC_CLANGXX}"
  VERBATIM)
add_custom_target(fuzz_safetensors ALL DEPENDS ${_fz_bin})

# A bounded run (seconds) in CTest; new inputs go to build/fuzz/safetensors, the committed seeds
# stay read-only.
set(EDITCAPTION_FUZZ_RUNS 30000 CACHE STRING "libFuzzer -runs for the CTest fuzz run")
file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz/safetensors)
add_test(NAME fuzz.safetensors
         COMMAND ${_fz_bin} -runs=${EDITCAPTION_FUZZ_RUNS} -max_len=4096 -seed=1
                 -dict=${_fz_dir}/safetensors.dict ${CMAKE_BINARY_DIR}/fuzz/safetensors ${_fz_dir}/seeds)
set_tests_properties(fuzz.safetensors PROPERTIES LABELS unit TIMEOUT 300)
