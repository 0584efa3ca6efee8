# cmake --install: both libraries, include/ordnet.h, the CLI, the docs, ordnet.pc for
# pkg-config and the CMake package (ordnetConfig.cmake: find_package(ordnet) gives
# ordnet::ordnet, the shared library, and ordnet::ordnet_static).
include(CMakePackageConfigHelpers)

install(TARGETS ordnet ordnet_shared EXPORT ordnetTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} NAMELINK_COMPONENT Development
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES include/ordnet.h include/ordnet_bench.h include/ordnet_study.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS ordnet_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
file(GLOB _ordnet_docs ${PROJECT_SOURCE_DIR}/docs/*.md)
install(FILES README.md ${_ordnet_docs} DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES examples/train_random.c DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)

# --- ordnet.pc: -lordnet for the shared library; Requires.private / Libs.private list what
# a static link (pkg-config --static) needs besides libordnet.a.
find_package(PkgConfig QUIET)
set(_requires zlib libcjson)
set(_libs_private)
if(ORDNET_HAVE_PNG)
  list(APPEND _requires libpng)
endif()
if(ORDNET_HAVE_SQLITE)
  list(APPEND _requires sqlite3)
endif()
if(ORDNET_HAVE_ONNX)
  list(APPEND _requires libprotobuf-c)
endif()
# BLAS as the path found (a pkg-config "openblas" may name another build of it)
foreach(lib ${BLAS_LIBRARIES})
  if(lib MATCHES "^/.*/lib([^/]+)\\.(so|a)[.0-9]*$")
    get_filename_component(_dir ${lib} DIRECTORY)
    list(APPEND _libs_private "-L${_dir}" "-l${CMAKE_MATCH_1}")
  else()
    list(APPEND _libs_private ${lib})
  endif()
endforeach()
if(BLAS_LIBRARIES MATCHES "openblas[^/]*\\.a")
  list(APPEND _libs_private -lgfortran) # a static OpenBLAS carries LAPACK's Fortran
endif()
list(APPEND _libs_private ${OpenMP_C_FLAGS} ${CMAKE_THREAD_LIBS_INIT} -lm)
list(REMOVE_DUPLICATES _libs_private)
string(REPLACE ";" ", " ORDNET_PC_REQUIRES_PRIVATE "${_requires}")
string(REPLACE ";" " " ORDNET_PC_LIBS_PRIVATE "${_libs_private}")
file(RELATIVE_PATH ORDNET_PC_TO_PREFIX /p/${CMAKE_INSTALL_LIBDIR}/pkgconfig /p)
string(REGEX REPLACE "/$" "" ORDNET_PC_TO_PREFIX "${ORDNET_PC_TO_PREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/ordnet.pc.in ${PROJECT_BINARY_DIR}/ordnet.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/ordnet.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# --- the CMake package
install(EXPORT ordnetTargets NAMESPACE ordnet:: FILE ordnetTargets.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/ordnet)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/ordnetConfig.cmake.in
  ${PROJECT_BINARY_DIR}/ordnetConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/ordnet)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/ordnetConfigVersion.cmake
  COMPATIBILITY SameMinorVersion) # 0.x: a minor release may change the API
install(FILES ${PROJECT_BINARY_DIR}/ordnetConfig.cmake ${PROJECT_BINARY_DIR}/ordnetConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/ordnet)
