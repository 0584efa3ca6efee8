# The Python module (python/) built in the build tree over the static library, so that
# ctest runs python/tests against this build; `pip install ./python` builds it for users
# against an installed ordnet instead (python/README.md). Debian's /usr/bin/python3 comes
# first: it has NumPy (python3-numpy), which a pyenv or conda python on PATH may not.
set(ORDNET_HAVE_PYTHON OFF)
if(ORDNET_SANITIZE AND NOT ORDNET_PYTHON STREQUAL "OFF")
  # the interpreter is not built with the sanitizers, which must come first in a process
  message(STATUS "ordnet: Python module not built in a sanitizer build")
elseif(NOT ORDNET_PYTHON STREQUAL "OFF")
  if(NOT DEFINED Python3_EXECUTABLE AND EXISTS /usr/bin/python3)
    set(Python3_EXECUTABLE /usr/bin/python3)
  endif()
  find_package(Python3 COMPONENTS Interpreter Development.Module NumPy)
  if(Python3_FOUND AND Python3_NumPy_FOUND)
    set(ORDNET_HAVE_PYTHON ON)
  elseif(ORDNET_PYTHON STREQUAL "ON")
    message(FATAL_ERROR "ordnet: -DORDNET_PYTHON=ON but Python 3 headers or NumPy not found: "
                        "apt-get install python3-dev python3-numpy")
  else()
    message(STATUS "ordnet: Python module not built (python3-dev and python3-numpy needed)")
  endif()
endif()
if(ORDNET_HAVE_PYTHON)
  set(_pydir ${PROJECT_BINARY_DIR}/python)
  Python3_add_library(ordnet_python MODULE WITH_SOABI ${PROJECT_SOURCE_DIR}/python/ordnet/_ordnet.c)
  target_link_libraries(ordnet_python PRIVATE ordnet Python3::NumPy)
  set_target_properties(ordnet_python PROPERTIES OUTPUT_NAME _ordnet
                        LIBRARY_OUTPUT_DIRECTORY ${_pydir}/ordnet)
  # the package's Python files beside the extension: import ordnet from build/python
  file(GLOB _py CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/python/ordnet/*.py)
  foreach(f ${_py})
    get_filename_component(n ${f} NAME)
    configure_file(${f} ${_pydir}/ordnet/${n} COPYONLY)
  endforeach()
  add_test(NAME python_module
           COMMAND ${Python3_EXECUTABLE} -m pytest -q -p no:cacheprovider ${PROJECT_SOURCE_DIR}/python/tests
           WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  set_tests_properties(python_module PROPERTIES
    ENVIRONMENT "PYTHONPATH=${_pydir};OMP_WAIT_POLICY=PASSIVE;ORDNET_BIN=$<TARGET_FILE:ordnet_cli>")
endif()
# `pip install ./python` in a fresh venv against an install of this build, then the suite.
if(ORDNET_HAVE_PYTHON AND PKG_CONFIG_FOUND)
  add_test(NAME install_python COMMAND bash ${PROJECT_SOURCE_DIR}/tests/install/run.sh python
           ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
endif()
