# Finds freehead's dependencies and prints one ✓/✗ line for each optional one.
# Required: a C++20 compiler, Eigen 3, stb, nlohmann-json, CLI11, threads. Optional: CUDA (+cuBLAS, cuDNN), MPI,
# Google Benchmark, doctest (tests), the PyTorch oracle (Debian's python3-torch), FFmpeg's
# libraries (video files), libjpeg (JPEG photos) and dlib (face detection).

set(FH_REPORT "")
macro(fh_report ok name detail)
  if(${ok})
    string(APPEND FH_REPORT "  ✓ ${name}: ${detail}\n")
  else()
    string(APPEND FH_REPORT "  ✗ ${name}: ${detail}\n")
  endif()
endmacro()

find_package(Threads REQUIRED)
find_package(Eigen3 3.3 REQUIRED NO_MODULE)
find_path(FH_STB_INCLUDE_DIR stb_image.h PATH_SUFFIXES stb)
if(NOT FH_STB_INCLUDE_DIR)
  message(FATAL_ERROR "freehead: stb_image.h not found (Debian package libstb-dev)")
endif()
find_package(nlohmann_json 3.10 QUIET)
if(NOT nlohmann_json_FOUND)
  message(FATAL_ERROR "freehead: nlohmann-json ≥ 3.10 not found (Debian package nlohmann-json3-dev); it reads and writes JSON")
endif()
find_package(CLI11 2.1 QUIET)
if(NOT CLI11_FOUND)
  message(FATAL_ERROR "freehead: CLI11 ≥ 2.1 not found (Debian package libcli11-dev); the command line tool parses its options with it")
endif()
add_library(fh_stb INTERFACE)
target_include_directories(fh_stb SYSTEM INTERFACE ${FH_STB_INCLUDE_DIR})

# fh_tristate(OPTION): upper-cases an AUTO/ON/OFF option in place, or stops naming it.
macro(fh_tristate option)
  string(TOUPPER "${${option}}" ${option})
  if(NOT ${option} MATCHES "^(AUTO|ON|OFF)$")
    message(FATAL_ERROR "freehead: ${option} must be AUTO, ON or OFF, got '${${option}}'")
  endif()
endmacro()

# ---- CUDA ------------------------------------------------------------------------------------
set(FH_WITH_CUDA OFF)
set(FH_HAVE_CUDNN OFF)
fh_tristate(FH_CUDA)
if(FH_CUDA STREQUAL "OFF")
  fh_report(FH_WITH_CUDA "CUDA" "disabled (FH_CUDA=OFF)")
else()
  include(CheckLanguage)
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES "80;90" CACHE STRING "CUDA architectures (Ampere 80, Hopper 90)")
  endif()
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    enable_language(CUDA)
    # CMake 3.25 knows nvcc's C++17 flag but not its C++20 one (nvcc >= 12 has it).
    if(NOT CMAKE_CUDA20_STANDARD_COMPILE_OPTION)
      set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
      set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
    endif()
    find_package(CUDAToolkit REQUIRED)
    set(FH_WITH_CUDA ON)
    fh_report(FH_WITH_CUDA "CUDA" "${CUDAToolkit_VERSION} (${CMAKE_CUDA_COMPILER}), architectures ${CMAKE_CUDA_ARCHITECTURES}")
  elseif(FH_CUDA STREQUAL "ON")
    message(FATAL_ERROR "freehead: FH_CUDA=ON but no CUDA compiler (nvcc) was found; put nvcc on PATH or set CMAKE_CUDA_COMPILER")
  else()
    fh_report(FH_WITH_CUDA "CUDA" "nvcc not found (FH_CUDA=AUTO builds CPU only)")
  endif()
endif()
if(FH_WITH_CUDA)
  if(TARGET CUDA::cublas)
    set(FH_HAVE_CUBLAS ON)
    fh_report(FH_HAVE_CUBLAS "cuBLAS" "${CUDA_cublas_LIBRARY}")
  else()
    message(FATAL_ERROR "freehead: the CUDA toolkit at ${CUDAToolkit_LIBRARY_DIR} has no cuBLAS, which the CUDA backend needs")
  endif()
  # cuDNN next to the toolkit, or under FH_CUDNN_ROOT (e.g. the nvidia/cudnn folder of a
  # Python wheel, whose library carries only its versioned name).
  set(FH_CUDNN_ROOT "" CACHE PATH "Where cuDNN is installed when it is not next to the CUDA toolkit")
  find_library(FH_CUDNN_LIBRARY NAMES cudnn libcudnn.so.9
               HINTS ${FH_CUDNN_ROOT} ${CUDAToolkit_LIBRARY_DIR} PATH_SUFFIXES lib lib64)
  find_path(FH_CUDNN_INCLUDE_DIR cudnn.h HINTS ${FH_CUDNN_ROOT} ${CUDAToolkit_INCLUDE_DIRS} PATH_SUFFIXES include)
  if(FH_CUDNN_LIBRARY AND FH_CUDNN_INCLUDE_DIR)
    set(FH_HAVE_CUDNN ON)
    fh_report(FH_HAVE_CUDNN "cuDNN" "${FH_CUDNN_LIBRARY}")
  else()
    fh_report(FH_HAVE_CUDNN "cuDNN" "not found next to the CUDA toolkit (the cuDNN conv baseline is left out)")
  endif()
else()
  set(FH_HAVE_CUBLAS OFF)
  fh_report(FH_HAVE_CUBLAS "cuBLAS" "needs CUDA")
  fh_report(FH_HAVE_CUDNN "cuDNN" "needs CUDA")
endif()

# ---- Real photographs and videos ---------------------------------------------------------------
# fh_optional_feature(VAR "label" found detail missing): AUTO/ON/OFF handling for one option.
macro(fh_optional_feature option var label found detail missing)
  fh_tristate(${option})
  set(${var} OFF)
  if(${option} STREQUAL "OFF")
    fh_report(${var} "${label}" "disabled (${option}=OFF)")
  elseif(${found})
    set(${var} ON)
    fh_report(${var} "${label}" "${detail}")
  elseif(${option} STREQUAL "ON")
    message(FATAL_ERROR "freehead: ${option}=ON but ${missing}")
  else()
    fh_report(${var} "${label}" "${missing}")
  endif()
endmacro()

find_package(PkgConfig QUIET)
set(_fh_ffmpeg_found OFF)
if(PkgConfig_FOUND AND NOT FH_FFMPEG STREQUAL "OFF")
  pkg_check_modules(FH_FFMPEG_LIBS QUIET libavformat libavcodec libswscale libavutil)
  set(_fh_ffmpeg_found ${FH_FFMPEG_LIBS_FOUND})
endif()
fh_optional_feature(FH_FFMPEG FH_WITH_FFMPEG "FFmpeg (video files)" _fh_ffmpeg_found
                    "libavformat ${FH_FFMPEG_LIBS_libavformat_VERSION}, libavcodec ${FH_FFMPEG_LIBS_libavcodec_VERSION}"
                    "libavformat/libavcodec/libswscale not found (Debian packages libavformat-dev libavcodec-dev libswscale-dev libavutil-dev); video files give a run-time error")

set(_fh_jpeg_found OFF)
if(NOT FH_JPEG STREQUAL "OFF")
  find_package(JPEG QUIET)
  set(_fh_jpeg_found ${JPEG_FOUND})
endif()
fh_optional_feature(FH_JPEG FH_WITH_JPEG "libjpeg (JPEG photos)" _fh_jpeg_found "${JPEG_VERSION} (${JPEG_LIBRARIES})"
                    "not found (Debian package libjpeg-dev); JPEG photos give a run-time error (PNG still works)")

set(_fh_dlib_found OFF)
set(_fh_dlib_missing "not found (Debian package libdlib-dev)")
if(PkgConfig_FOUND AND NOT FH_DLIB STREQUAL "OFF")
  pkg_check_modules(FH_DLIB_LIBS QUIET dlib-1)
  set(_fh_dlib_found ${FH_DLIB_LIBS_FOUND})
  # dlib-1.pc names its dependencies' development links (BLAS, LAPACK, libjpeg, ...) as paths,
  # which libdlib-dev itself does not install; every one must be there to link.
  foreach(_lib IN LISTS FH_DLIB_LIBS_LDFLAGS_OTHER)
    if(_lib MATCHES "^/" AND NOT EXISTS "${_lib}")
      set(_fh_dlib_found OFF)
      set(_fh_dlib_missing "dlib-1.pc needs ${_lib}, which is missing (Debian packages libblas-dev liblapack-dev libjpeg-dev libpng-dev libsqlite3-dev)")
    endif()
  endforeach()
endif()
fh_optional_feature(FH_DLIB FH_WITH_DLIB "dlib (face detection)" _fh_dlib_found "${FH_DLIB_LIBS_VERSION}"
                    "${_fh_dlib_missing}; face detection and cropping give a run-time error (--no-crop still works)")
# ---- MPI (data-parallel training) -------------------------------------------------------------
set(FH_WITH_MPI OFF)
fh_tristate(FH_MPI)
if(FH_MPI STREQUAL "OFF")
  fh_report(FH_WITH_MPI "MPI" "disabled (FH_MPI=OFF); freehead train runs single-process")
else()
  # The C API through the C++ compiler (the project has no C language); MPI's deprecated
  # C++ bindings are not wanted.
  set(MPI_CXX_SKIP_MPICXX ON)
  find_package(MPI COMPONENTS CXX QUIET)
  if(MPI_CXX_FOUND)
    set(FH_WITH_MPI ON)
    execute_process(COMMAND ${MPIEXEC_EXECUTABLE} --version OUTPUT_VARIABLE _fh_mpiexec_version ERROR_QUIET
                    OUTPUT_STRIP_TRAILING_WHITESPACE)
    string(REGEX MATCH "[^\n]*" _fh_mpiexec_version "${_fh_mpiexec_version}")
    fh_report(FH_WITH_MPI "MPI" "MPI ${MPI_CXX_VERSION}, launcher ${MPIEXEC_EXECUTABLE} (${_fh_mpiexec_version})")
  elseif(FH_MPI STREQUAL "ON")
    message(FATAL_ERROR "freehead: FH_MPI=ON but MPI was not found (Debian packages libopenmpi-dev openmpi-bin)")
  else()
    fh_report(FH_WITH_MPI "MPI" "not found (Debian packages libopenmpi-dev openmpi-bin); freehead train runs single-process")
  endif()
endif()
# NCCL: not packaged in Debian main, and freehead has no NCCL transport; a CUDA build with
# MPI stages every all-reduce through host memory, and says so when a run starts.
set(FH_HAVE_NCCL OFF)
if(FH_WITH_CUDA)
  find_library(FH_NCCL_LIBRARY nccl HINTS ${CUDAToolkit_LIBRARY_DIR})
  if(FH_NCCL_LIBRARY)
    fh_report(FH_HAVE_NCCL "NCCL" "found at ${FH_NCCL_LIBRARY}, but freehead has no NCCL transport: GPU gradients are all-reduced through host memory")
  else()
    fh_report(FH_HAVE_NCCL "NCCL" "not found: GPU gradients are all-reduced through host memory (MPI on host buffers)")
  endif()
else()
  fh_report(FH_HAVE_NCCL "NCCL" "needs CUDA; gradients are all-reduced on host buffers")
endif()

# ---- Test and benchmark tools ----------------------------------------------------------------
# fh_optional_package(VAR package "label" "what happens without it"): find_package, then report.
macro(fh_optional_package var package label missing)
  find_package(${package} QUIET)
  set(${var} ${${package}_FOUND})
  if(${var})
    fh_report(${var} "${label}" "${${package}_VERSION}")
  else()
    fh_report(${var} "${label}" "${missing}")
  endif()
endmacro()
fh_optional_package(FH_HAVE_BENCHMARK benchmark "Google Benchmark"
                    "not found (Debian package libbenchmark-dev); benchmarks are skipped")
fh_optional_package(FH_HAVE_DOCTEST doctest "doctest" "not found (Debian package doctest-dev); tests cannot build")

set(FH_ORACLE_PYTHON "/usr/bin/python3" CACHE FILEPATH "Python interpreter with PyTorch for the parity oracle")
set(FH_HAVE_ORACLE OFF)
if(EXISTS "${FH_ORACLE_PYTHON}")
  execute_process(COMMAND "${FH_ORACLE_PYTHON}" -c "import torch; print(torch.__version__)"
                  OUTPUT_VARIABLE _torch_version ERROR_QUIET RESULT_VARIABLE _torch_rc OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(_torch_rc EQUAL 0)
    set(FH_HAVE_ORACLE ON)
  endif()
endif()
if(FH_HAVE_ORACLE)
  fh_report(FH_HAVE_ORACLE "PyTorch oracle" "torch ${_torch_version} under ${FH_ORACLE_PYTHON}")
else()
  fh_report(FH_HAVE_ORACLE "PyTorch oracle" "${FH_ORACLE_PYTHON} cannot import torch (Debian package python3-torch); parity tests will skip")
endif()

# GCC 12's SLP vectoriser miscompiles some small nested reductions for AVX-512 (wrong sums,
# no warning). Probe it with the flags the library builds with; where it fails, the library
# turns SLP vectorisation off (measured: no loss on the generator's forward, whose hot loops
# are Eigen's GEMM and explicit vector types).
set(_fh_probe_flags -O2)
if(FH_NATIVE AND CMAKE_BUILD_TYPE MATCHES "^(Release|RelWithDebInfo)$")
  list(APPEND _fh_probe_flags -march=native)
endif()
try_run(_fh_slp_run _fh_slp_compiled ${CMAKE_BINARY_DIR}/probes/slp ${CMAKE_CURRENT_LIST_DIR}/probes/slp_nested_reduction.cpp
        COMPILE_DEFINITIONS ${_fh_probe_flags} RUN_OUTPUT_VARIABLE _fh_slp_output)
string(STRIP "${_fh_slp_output}" _fh_slp_output)
string(REPLACE ";" " " _fh_probe_flags_text "${_fh_probe_flags}")
if(_fh_slp_compiled AND "${_fh_slp_run}" STREQUAL "0")
  set(FH_SLP_OK ON)
  set(FH_DISABLE_SLP OFF)
  fh_report(FH_SLP_OK "vectoriser probe" "a nested reduction built with ${_fh_probe_flags_text} sums correctly")
else()
  set(FH_SLP_OK OFF)
  set(FH_DISABLE_SLP ON)
  fh_report(FH_SLP_OK "vectoriser probe"
            "${CMAKE_CXX_COMPILER_ID} ${CMAKE_CXX_COMPILER_VERSION} with ${_fh_probe_flags_text} sums a nested reduction wrong (got '${_fh_slp_output}', want 9): building with -fno-tree-slp-vectorize")
endif()

message(STATUS "freehead ${PROJECT_VERSION} (${CMAKE_BUILD_TYPE}), required: ${CMAKE_CXX_COMPILER_ID} ${CMAKE_CXX_COMPILER_VERSION}, Eigen ${Eigen3_VERSION}, stb\n${FH_REPORT}")

set(FH_BUILD_OPTIONS "build=${CMAKE_BUILD_TYPE};native=${FH_NATIVE};no_slp=${FH_DISABLE_SLP};cuda=${FH_WITH_CUDA};cuda_archs=${CMAKE_CUDA_ARCHITECTURES};cublas=${FH_HAVE_CUBLAS};cudnn=${FH_HAVE_CUDNN};compiler=${CMAKE_CXX_COMPILER_ID} ${CMAKE_CXX_COMPILER_VERSION};eigen=${Eigen3_VERSION};ffmpeg=${FH_WITH_FFMPEG};jpeg=${FH_WITH_JPEG};dlib=${FH_WITH_DLIB};mpi=${FH_WITH_MPI};sanitize=${FH_SANITIZE}")
