# ccache for C++ and CUDA. The sloppiness settings let ccache cache TUs built with a precompiled header.
find_program(EC_CCACHE ccache)
if(EC_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(_ec_launcher ${CMAKE_COMMAND} -E env
      "CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime"
      "CCACHE_BASEDIR=${CMAKE_SOURCE_DIR}" ${EC_CCACHE})
  set(CMAKE_C_COMPILER_LAUNCHER ${_ec_launcher})
  set(CMAKE_CXX_COMPILER_LAUNCHER ${_ec_launcher})
  set(CMAKE_CUDA_COMPILER_LAUNCHER ${_ec_launcher})
  message(STATUS "editcaption: using ccache ${EC_CCACHE}")
endif()
