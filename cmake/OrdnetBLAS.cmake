# BLAS through CMake's FindBLAS. OpenBLAS's OpenMP build is preferred: it shares one OpenMP
# thread pool with ordnet's own loops (DESIGN.md); Debian installs it beside the pthreads
# build, in .../openblas-openmp/, which is searched first. Any other BLAS with cblas.h works
# (-DBLA_VENDOR=... picks one), more slowly. Sets ORDNET_BLAS_KIND for the summary.
set(_arch ${CMAKE_LIBRARY_ARCHITECTURE})
set(_openblas_omp_lib /usr/lib/${_arch}/openblas-openmp /usr/lib64/openblas-openmp)
set(_openblas_omp_inc /usr/include/${_arch}/openblas-openmp /usr/include/openblas-openmp)
if(NOT DEFINED BLA_VENDOR)
  set(BLA_VENDOR OpenBLAS)
  set(_ordnet_vendor_default ON)
endif()
if(BLA_VENDOR STREQUAL "OpenBLAS")
  list(PREPEND CMAKE_LIBRARY_PATH ${_openblas_omp_lib})
endif()
find_package(BLAS)
if(NOT BLAS_FOUND AND _ordnet_vendor_default)
  unset(BLA_VENDOR)
  find_package(BLAS)
endif()
if(NOT BLAS_FOUND)
  message(FATAL_ERROR "no BLAS found: apt-get install libopenblas-openmp-dev (fastest), or any "
                      "BLAS with cblas.h (-DBLA_VENDOR=... picks one, see CMake's FindBLAS)")
endif()

if(BLAS_LIBRARIES MATCHES "openblas")
  if(BLAS_LIBRARIES MATCHES "openmp")
    set(ORDNET_BLAS_KIND "OpenBLAS, OpenMP build (fastest)")
  else()
    set(ORDNET_BLAS_KIND "OpenBLAS, not the OpenMP build")
    message(STATUS "ordnet: this OpenBLAS runs its own threads beside ordnet's OpenMP threads; "
                   "training is faster with its OpenMP build (libopenblas-openmp-dev)")
  endif()
  list(APPEND ORDNET_DEFS ORDNET_HAVE_OPENBLAS)
  # its cblas.h sits beside it: .../lib/<arch>/openblas-openmp -> .../include/<arch>/openblas-openmp
  list(GET BLAS_LIBRARIES 0 _blas_lib)
  get_filename_component(_blas_dir ${_blas_lib} DIRECTORY)
  string(REPLACE "/lib/" "/include/" _blas_inc ${_blas_dir})
  set(_cblas_hints ${_blas_inc} ${_openblas_omp_inc})
else()
  set(ORDNET_BLAS_KIND "other BLAS (slower convolutions than OpenBLAS)")
  message(STATUS "ordnet: BLAS is ${BLAS_LIBRARIES}: it works, but convolutions and dense "
                 "layers run several times faster over OpenBLAS's OpenMP build "
                 "(libopenblas-openmp-dev)")
endif()
find_path(ORDNET_CBLAS_INCLUDE cblas.h HINTS ${_cblas_hints} PATH_SUFFIXES openblas)
if(NOT ORDNET_CBLAS_INCLUDE)
  message(FATAL_ERROR "cblas.h not found for ${BLAS_LIBRARIES}: install its -dev package or "
                      "pass -DORDNET_CBLAS_INCLUDE=DIR")
endif()
list(APPEND ORDNET_INCLUDES ${ORDNET_CBLAS_INCLUDE})
list(APPEND ORDNET_DEPS ${BLAS_LIBRARIES})
# Installed binaries keep the path of the BLAS they were linked with (Debian's
# openblas-openmp/ directory is not searched by default: libopenblas.so.0 alone would be
# whichever build update-alternatives picked).
set(CMAKE_INSTALL_RPATH_USE_LINK_PATH ON)
