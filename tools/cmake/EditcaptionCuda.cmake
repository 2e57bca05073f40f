# Decide whether our CUDA kernels are compiled. They are whenever a CUDA compiler is found and
# EDITCAPTION_CUDA is ON, even on machines without a GPU or driver: CI compiles and links them.
set(EC_HAVE_CUDA OFF)
if(EDITCAPTION_CUDA)
  if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    set(CMAKE_CUDA_ARCHITECTURES ${EDITCAPTION_CUDA_ARCHS})
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
    # C++17 for .cu files: CMake 3.25 (Debian 12) knows no C++20 dialect flag for nvcc, and the
    # kernels (raw pointers, no LibTorch headers) need nothing newer.
    set(CMAKE_CUDA_STANDARD 17)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    set(EC_HAVE_CUDA ON)
  else()
    message(WARNING "editcaption: no CUDA compiler found; building the CPU kernels only")
  endif()
endif()
