# Third-party dependencies: LibTorch (from the torch wheel or a LibTorch archive) and Debian -dev packages.

# Offline GPU hosts: Debian packages unpacked into a prefix by tools/offline_deps.sh (docs/gpu.md).
set(EDITCAPTION_DEPS_PREFIX "" CACHE PATH "Prefix holding Debian packages unpacked by tools/offline_deps.sh")
if(EDITCAPTION_DEPS_PREFIX)
  set(_p ${EDITCAPTION_DEPS_PREFIX})
  list(PREPEND CMAKE_PREFIX_PATH ${_p}/usr ${_p}/usr/lib/x86_64-linux-gnu/cmake ${_p}/usr/share/cmake)
  set(ENV{PKG_CONFIG_PATH} "${_p}/usr/lib/x86_64-linux-gnu/pkgconfig:${_p}/usr/share/pkgconfig:$ENV{PKG_CONFIG_PATH}")
  # Searched after LibTorch's own headers, as /usr/include is on a Debian machine: LibTorch ships
  # fmt 12 and must not see Debian's fmt 9 first.
  add_compile_options(-idirafter ${_p}/usr/include)
  set(_ec_dep_libdirs ${_p}/usr/lib/x86_64-linux-gnu ${_p}/lib/x86_64-linux-gnu ${_p}/usr/lib)
  list(APPEND CMAKE_BUILD_RPATH ${_ec_dep_libdirs})
  list(APPEND CMAKE_INSTALL_RPATH ${_ec_dep_libdirs})
  # DT_RPATH (unlike DT_RUNPATH) also serves the libraries' own dependencies (OpenCV -> TBB ...).
  add_link_options(-Wl,--disable-new-dtags)
  message(STATUS "editcaption: Debian packages from ${_p}")
endif()

# LibTorch appends a -gencode flag for every architecture it knows to CMAKE_CUDA_FLAGS; our kernels
# choose their own architectures, so keep the flags we had and give Torch only ours to print.
set(_ec_saved_cuda_flags "${CMAKE_CUDA_FLAGS}")
if(NOT DEFINED ENV{TORCH_CUDA_ARCH_LIST})
  set(_ec_torch_archs "")
  foreach(_a IN LISTS EDITCAPTION_CUDA_ARCHS)
    string(REGEX REPLACE "^([0-9]+)([0-9])$" "\\1.\\2" _dotted "${_a}")
    list(APPEND _ec_torch_archs "${_dotted}")
  endforeach()
  set(TORCH_CUDA_ARCH_LIST "${_ec_torch_archs}")
endif()
find_package(Torch REQUIRED)
set(CMAKE_CUDA_FLAGS "${_ec_saved_cuda_flags}")

# The torch wheel's libtorch.so exports its own copy of std::filesystem (built with another
# libstdc++). If libtorch.so comes before libstdc++.so in the executable's DT_NEEDED list, the
# dynamic linker binds std::filesystem calls to that copy, which crashes (remove_all calls a null
# pointer). Putting libstdc++ first makes every std:: symbol resolve to the system library.
add_link_options(-Wl,--push-state,--no-as-needed -lstdc++ -Wl,--pop-state)
set(EC_TORCH_HAS_CUDA OFF)
if(TARGET torch_cuda OR TORCH_CUDA_LIBRARIES)
  set(EC_TORCH_HAS_CUDA ON)
endif()

find_package(PkgConfig REQUIRED)
# OpenCV: its CMake package (libopencv-dev) when present; otherwise the three modules we use found
# directly (an offline prefix carries only libopencv-{core,imgproc,imgcodecs}-dev).
find_package(OpenCV QUIET COMPONENTS core imgproc imgcodecs)
if(NOT OpenCV_FOUND)
  find_path(OpenCV_INCLUDE_DIRS opencv2/core.hpp PATH_SUFFIXES opencv4 REQUIRED)
  set(OpenCV_LIBS "")
  foreach(_m core imgproc imgcodecs)
    find_library(EC_OPENCV_${_m} NAMES opencv_${_m} REQUIRED)
    list(APPEND OpenCV_LIBS ${EC_OPENCV_${_m}})
  endforeach()
  message(STATUS "editcaption: OpenCV modules ${OpenCV_LIBS}")
endif()
find_package(yaml-cpp REQUIRED)
find_package(CLI11 REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(spdlog REQUIRED)
find_package(OpenSSL REQUIRED COMPONENTS Crypto)
find_package(Threads REQUIRED)
pkg_check_modules(SENTENCEPIECE REQUIRED IMPORTED_TARGET sentencepiece)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
# libcurl: the HTTP client of the judge evaluation (editcaption/eval/http_client.cpp).
pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl)

# yaml-cpp 0.7 exports "yaml-cpp", 0.8 exports "yaml-cpp::yaml-cpp".
if(TARGET yaml-cpp::yaml-cpp)
  set(EC_YAML_TARGET yaml-cpp::yaml-cpp)
else()
  set(EC_YAML_TARGET yaml-cpp)
endif()
