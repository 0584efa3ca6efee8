# include/ordnet.h carries the version as ORDNET_VERSION for programs that include it; it
# must say what project() says, or an installed header would lie about its library.
file(STRINGS ${PROJECT_SOURCE_DIR}/include/ordnet.h _ordnet_version_line
     REGEX "^#define ORDNET_VERSION \"[^\"]*\"")
string(REGEX REPLACE ".*\"([^\"]*)\".*" "\\1" _ordnet_header_version "${_ordnet_version_line}")
if(NOT _ordnet_header_version STREQUAL PROJECT_VERSION)
  message(FATAL_ERROR "include/ordnet.h says ORDNET_VERSION \"${_ordnet_header_version}\" but "
                      "CMakeLists.txt's project() says ${PROJECT_VERSION}: change both together")
endif()
