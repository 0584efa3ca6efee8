# The optional parts. Each ORDNET_<PART> is AUTO (built when its packages are found), ON
# (required) or OFF. A part left out compiles src/optional/no_<part>.c instead, whose calls
# fail with "ordnet was built without ... support", so programs still link.
# Sets ORDNET_HAVE_ONNX / _SQLITE / _PNG and ORDNET_EXCLUDED_SOURCES.

# ordnet_optional(PART FOUND HINT): decide whether PART is built; HINT says how to get it.
function(ordnet_optional part found hint)
  set(want ${ORDNET_${part}})
  if(want STREQUAL "OFF" OR NOT want)
    set(have OFF)
  elseif(found)
    set(have ON)
  elseif(want STREQUAL "AUTO")
    message(WARNING "ordnet: building without ${part} support: ${hint} "
                    "(or -DORDNET_${part}=OFF to say so and silence this)")
    set(have OFF)
  else()
    message(FATAL_ERROR "ordnet: -DORDNET_${part}=ON but ${hint}")
  endif()
  set(ORDNET_HAVE_${part} ${have} PARENT_SCOPE)
endfunction()

set(ORDNET_EXCLUDED_SOURCES)

# ONNX files are read and written with protobuf-c over the onnx.proto that Debian's
# libonnx-dev installs; the C code is generated at build time (src/onnx/).
if(NOT ORDNET_ONNX STREQUAL "OFF")
  find_path(PROTOBUF_C_INCLUDE protobuf-c/protobuf-c.h)
  find_library(PROTOBUF_C_LIB protobuf-c)
  find_program(PROTOC_C protoc-c)
  find_file(ONNX_PROTO onnx.proto PATHS /usr/include/onnx NO_DEFAULT_PATH)
endif()
set(_found FALSE)
if(PROTOBUF_C_INCLUDE AND PROTOBUF_C_LIB AND PROTOC_C AND ONNX_PROTO)
  set(_found TRUE)
endif()
ordnet_optional(ONNX ${_found} "protobuf-c or onnx.proto not found: apt-get install libprotobuf-c-dev protobuf-c-compiler libonnx-dev")
if(ORDNET_HAVE_ONNX)
  get_filename_component(ONNX_PROTO_DIR ${ONNX_PROTO} DIRECTORY)
  set(ONNX_GEN_DIR ${CMAKE_BINARY_DIR}/onnx-gen)
  add_custom_command(
    OUTPUT ${ONNX_GEN_DIR}/onnx.pb-c.c ${ONNX_GEN_DIR}/onnx.pb-c.h
    COMMAND ${CMAKE_COMMAND} -E make_directory ${ONNX_GEN_DIR}
    COMMAND ${PROTOC_C} --c_out=${ONNX_GEN_DIR} -I${ONNX_PROTO_DIR} ${ONNX_PROTO}
    DEPENDS ${ONNX_PROTO}
    COMMENT "protoc-c: generating the ONNX protobuf code from ${ONNX_PROTO}")
  list(APPEND ORDNET_EXTRA_SOURCES ${ONNX_GEN_DIR}/onnx.pb-c.c)
  list(APPEND ORDNET_INCLUDES ${PROTOBUF_C_INCLUDE} ${ONNX_GEN_DIR})
  list(APPEND ORDNET_DEPS ${PROTOBUF_C_LIB})
  list(APPEND ORDNET_DEFS ORDNET_HAVE_ONNX)
else()
  file(GLOB _onnx_sources ${PROJECT_SOURCE_DIR}/src/onnx/*.c)
  list(APPEND ORDNET_EXCLUDED_SOURCES ${_onnx_sources})
  list(APPEND ORDNET_EXTRA_SOURCES ${PROJECT_SOURCE_DIR}/src/optional/no_onnx.c)
endif()

# The order study keeps its runs in an SQLite database (study.sqlite), so that it resumes.
if(NOT ORDNET_SQLITE STREQUAL "OFF")
  find_package(SQLite3)
endif()
ordnet_optional(SQLITE "${SQLite3_FOUND}" "SQLite not found (the order study's run store): apt-get install libsqlite3-dev")
if(ORDNET_HAVE_SQLITE)
  list(APPEND ORDNET_DEPS SQLite::SQLite3)
  list(APPEND ORDNET_DEFS ORDNET_HAVE_SQLITE)
else()
  # the files that talk to SQLite; the plan and the runner stay (their store calls fail)
  list(APPEND ORDNET_EXCLUDED_SOURCES ${PROJECT_SOURCE_DIR}/src/study/report.c
       ${PROJECT_SOURCE_DIR}/src/study/store.c ${PROJECT_SOURCE_DIR}/src/study/speed.c
       ${PROJECT_SOURCE_DIR}/src/study/adaptive.c
       ${PROJECT_SOURCE_DIR}/src/study/report_html.c) # report.c's page
  list(APPEND ORDNET_EXTRA_SOURCES ${PROJECT_SOURCE_DIR}/src/optional/no_sqlite.c)
endif()

# PNG images for `ordnet predict` and on_image_load (PGM needs nothing).
if(NOT ORDNET_PNG STREQUAL "OFF")
  find_package(PNG)
endif()
ordnet_optional(PNG "${PNG_FOUND}" "libpng not found (PNG images): apt-get install libpng-dev")
if(ORDNET_HAVE_PNG)
  list(APPEND ORDNET_DEPS PNG::PNG)
  list(APPEND ORDNET_DEFS ORDNET_HAVE_PNG)
endif()

# What this build has, for on_build_features() (src/build_info.c), the CMake package and
# the summary at the end of configuring.
set(ORDNET_FEATURES)
foreach(part ONNX SQLITE PNG)
  if(ORDNET_HAVE_${part})
    string(TOLOWER ${part} _p)
    list(APPEND ORDNET_FEATURES ${_p})
  endif()
endforeach()
if(BLAS_LIBRARIES MATCHES "openblas")
  list(APPEND ORDNET_FEATURES openblas)
endif()
string(REPLACE ";" " " ORDNET_FEATURES "${ORDNET_FEATURES}")
list(APPEND ORDNET_DEFS "ORDNET_FEATURES=\"${ORDNET_FEATURES}\"")
