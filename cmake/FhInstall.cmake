# `cmake --install`: the library, its headers (include/freehead/<folder>/*.h, included as
# "pipeline/reenactor.h" etc.), the `freehead` CLI and the shipped models
# (share/freehead/models/tiny), with a CMake package — find_package(freehead) gives
# freehead::freehead with its usage requirements — and a pkg-config file (freehead.pc).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(FH_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/freehead)
install(TARGETS freehead fh_stb EXPORT freeheadTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/freehead)
install(TARGETS freehead_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
foreach(dir runtime io kernels autograd layers nets weights geometry data train dist pipeline eval)
  install(DIRECTORY ${CMAKE_SOURCE_DIR}/${dir}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/freehead/${dir}
          FILES_MATCHING PATTERN "*.h")
endforeach()
install(DIRECTORY ${CMAKE_SOURCE_DIR}/models/tiny/ DESTINATION ${CMAKE_INSTALL_DATADIR}/freehead/models/tiny)
install(EXPORT freeheadTargets NAMESPACE freehead:: DESTINATION ${FH_INSTALL_CMAKEDIR})

configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/freeheadConfig.cmake.in
                              ${CMAKE_BINARY_DIR}/freeheadConfig.cmake INSTALL_DESTINATION ${FH_INSTALL_CMAKEDIR})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/freeheadConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/freeheadConfig.cmake ${CMAKE_BINARY_DIR}/freeheadConfigVersion.cmake
        DESTINATION ${FH_INSTALL_CMAKEDIR})

# pkg-config: the same flags the CMake target carries. -march=native and the SLP switch are
# part of the ABI here (Eigen's vector types change size with the instruction set).
set(FH_PC_CFLAGS "-DEIGEN_DONT_PARALLELIZE -DFH_WITH_CUDA=$<BOOL:${FH_WITH_CUDA}> -DFH_WITH_CUDNN=$<BOOL:${FH_HAVE_CUDNN}> -DFH_WITH_MPI=$<BOOL:${FH_WITH_MPI}>")
if(FH_NATIVE AND CMAKE_BUILD_TYPE MATCHES "^(Release|RelWithDebInfo)$")
  string(APPEND FH_PC_CFLAGS " -march=native")
endif()
if(FH_DISABLE_SLP)
  string(APPEND FH_PC_CFLAGS " -fno-tree-slp-vectorize")
endif()
set(FH_PC_LIBS "-lfreehead -pthread")
set(FH_PC_REQUIRES "eigen3")  # the static library's own dependencies come along
if(FH_WITH_FFMPEG)
  string(APPEND FH_PC_REQUIRES " libavformat libavcodec libswscale libavutil")
endif()
if(FH_WITH_DLIB)
  string(APPEND FH_PC_REQUIRES " dlib-1")
endif()
if(FH_WITH_MPI)
  string(APPEND FH_PC_REQUIRES " ompi-cxx")  # Open MPI, the MPI freehead's scripts install
endif()
if(FH_WITH_JPEG)
  string(APPEND FH_PC_LIBS " ${JPEG_LIBRARIES}")
endif()
if(FH_WITH_CUDA)
  string(APPEND FH_PC_LIBS " -L${CUDAToolkit_LIBRARY_DIR} -lcublas -lcudart_static -ldl -lrt")
  if(FH_HAVE_CUDNN)
    string(APPEND FH_PC_LIBS " ${FH_CUDNN_LIBRARY}")
  endif()
endif()
file(RELATIVE_PATH FH_PC_PREFIX_FROM_PCDIR "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
configure_file(${CMAKE_SOURCE_DIR}/cmake/freehead.pc.in ${CMAKE_BINARY_DIR}/freehead.pc.configured @ONLY)
file(GENERATE OUTPUT ${CMAKE_BINARY_DIR}/freehead.pc INPUT ${CMAKE_BINARY_DIR}/freehead.pc.configured)
install(FILES ${CMAKE_BINARY_DIR}/freehead.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
