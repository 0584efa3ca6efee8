# One block at the end of configuring that says what this build has.
message(STATUS "ordnet ${PROJECT_VERSION}:")
message(STATUS "  BLAS:    ${BLAS_LIBRARIES} (${ORDNET_BLAS_KIND})")
message(STATUS "  ONNX:    ${ORDNET_HAVE_ONNX}   (ORDNET_ONNX=${ORDNET_ONNX})")
message(STATUS "  SQLite:  ${ORDNET_HAVE_SQLITE}   (ORDNET_SQLITE=${ORDNET_SQLITE}; the order study)")
message(STATUS "  PNG:     ${ORDNET_HAVE_PNG}   (ORDNET_PNG=${ORDNET_PNG})")
message(STATUS "  Python:  ${ORDNET_HAVE_PYTHON}   (ORDNET_PYTHON=${ORDNET_PYTHON}; python/tests in ctest)")
message(STATUS "  -Werror: ${ORDNET_WERROR}; install prefix ${CMAKE_INSTALL_PREFIX}")
