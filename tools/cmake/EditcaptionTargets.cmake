# Shared target settings: warnings, the LibTorch precompiled header, and library helpers.

set(EC_WARNINGS -Wall -Wextra -Wno-unused-parameter)
if(EDITCAPTION_WERROR)
  list(APPEND EC_WARNINGS -Werror)
endif()

# Two precompiled headers, each built once and reused by many targets (measured on 2 cores: a TU
# costs about 2 s with the ATen one and 4-5 s with the LibTorch one, against 8-16 s without).
#   aten:  ATen tensors, fmt, nlohmann-json (core library, kernels)
#   torch: the C++ frontend (nn modules, optimizers, autograd) on top (models, trainers, CLI, tests)
if(EDITCAPTION_PCH)
  foreach(_kind aten torch)
    add_library(ec_pch_${_kind} STATIC ${CMAKE_SOURCE_DIR}/tools/cmake/pch_anchor.cpp)
    target_link_libraries(ec_pch_${_kind} PUBLIC ${TORCH_LIBRARIES} nlohmann_json::nlohmann_json)
    target_compile_definitions(ec_pch_${_kind} PUBLIC FMT_HEADER_ONLY)
    target_compile_options(ec_pch_${_kind} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:${EC_WARNINGS}>)
  endforeach()
  set(_ec_common_pch <ATen/ATen.h> <fmt/format.h> <nlohmann/json.hpp> <filesystem> <string> <vector>
      <map> <memory> <optional> <functional>)
  # CMake applies precompiled headers to C++ only; CUDA sources never see them.
  target_precompile_headers(ec_pch_aten PUBLIC ${_ec_common_pch})
  target_precompile_headers(ec_pch_torch PUBLIC ${_ec_common_pch} <torch/nn.h> <torch/optim.h> <torch/autograd.h>)
endif()

# ec_apply_defaults(target): our warnings, C++20, fmt header-only (LibTorch ships fmt 12 headers;
# Debian's spdlog is confined to one TU built without them, see editcaption/core/log_sink.cpp).
function(ec_apply_defaults tgt)
  cmake_parse_arguments(ARG "" "PCH" "" ${ARGN})
  if(NOT ARG_PCH)
    set(ARG_PCH torch)
  endif()
  target_compile_features(${tgt} PUBLIC cxx_std_20)
  target_compile_options(${tgt} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:${EC_WARNINGS}>)
  target_compile_definitions(${tgt} PUBLIC FMT_HEADER_ONLY)
  target_include_directories(${tgt} PUBLIC ${CMAKE_SOURCE_DIR})
  if(EDITCAPTION_PCH)
    target_precompile_headers(${tgt} REUSE_FROM ec_pch_${ARG_PCH})
  endif()
endfunction()

# ec_glob_sources(out dir...): the .cpp (and, with CUDA, .cu) files under the given folders.
function(ec_glob_sources out)
  set(_files "")
  foreach(_dir IN LISTS ARGN)
    file(GLOB_RECURSE _cpp CONFIGURE_DEPENDS ${_dir}/*.cpp)
    list(APPEND _files ${_cpp})
  endforeach()
  set(${out} ${_files} PARENT_SCOPE)
endfunction()

# ec_add_library(name DEPS dep...): a static library of every .cpp under the calling folder
# (and .cu when CUDA is on), with our defaults.
function(ec_add_library name)
  cmake_parse_arguments(ARG "" "PCH" "DEPS;EXCLUDE" ${ARGN})
  file(GLOB_RECURSE _srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  if(EC_HAVE_CUDA)
    file(GLOB_RECURSE _cu CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cu)
    list(APPEND _srcs ${_cu})
  endif()
  foreach(_ex IN LISTS ARG_EXCLUDE)
    list(FILTER _srcs EXCLUDE REGEX "${_ex}")
  endforeach()
  if(NOT _srcs)
    # A folder whose code is all headers so far.
    add_library(${name} INTERFACE)
    target_link_libraries(${name} INTERFACE ${ARG_DEPS})
    return()
  endif()
  add_library(${name} STATIC ${_srcs})
  ec_apply_defaults(${name} PCH ${ARG_PCH})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
endfunction()
