# vpnbot_layer(<folder> [DEPENDS <folder>...] [EXCLUDE <file>...] [EXTRA_SOURCES <file>...])
#
# Makes src/<folder> (with its subfolders and its generated settings) the static library vpnbot_<folder>, linked
# PUBLIC to the libraries of the folders it DEPENDS on. The folders it may include are itself and every folder
# reachable through DEPENDS; a build step checks each of its sources and headers against that set, so an upward or
# sideways include fails the build (with the file, the include and the allowed folders named) rather than creating
# a cycle a linker may or may not notice.

set_property(GLOBAL PROPERTY VPNBOT_LAYERS "")

function(vpnbot_layer name)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "" "" "DEPENDS;EXCLUDE;EXTRA_SOURCES")
  set(folder ${CMAKE_SOURCE_DIR}/src/${name})
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${folder}/*.cpp)
  file(GLOB_RECURSE headers CONFIGURE_DEPENDS ${folder}/*.hpp)
  foreach(excluded IN LISTS ARG_EXCLUDE)
    list(REMOVE_ITEM sources ${folder}/${excluded})
  endforeach()
  # The generated settings of this folder and its subfolders (cmake/settings.cmake writes them at the same path).
  set(generated "")
  foreach(source IN LISTS VPNBOT_SETTINGS_SOURCES)
    if(source MATCHES "^${CMAKE_BINARY_DIR}/generated/${name}/")
      list(APPEND generated ${source})
    endif()
  endforeach()

  set(allowed ${name})
  foreach(dependency IN LISTS ARG_DEPENDS)
    get_property(known GLOBAL PROPERTY VPNBOT_LAYERS)
    if(NOT dependency IN_LIST known)
      message(FATAL_ERROR "layer ${name} depends on ${dependency}, which is not declared before it")
    endif()
    get_property(reach GLOBAL PROPERTY VPNBOT_LAYER_REACH_${dependency})
    list(APPEND allowed ${reach})
  endforeach()
  list(REMOVE_DUPLICATES allowed)
  list(SORT allowed)
  set_property(GLOBAL PROPERTY VPNBOT_LAYER_REACH_${name} ${allowed})
  set_property(GLOBAL APPEND PROPERTY VPNBOT_LAYERS ${name})

  add_library(vpnbot_${name} STATIC ${sources} ${generated} ${ARG_EXTRA_SOURCES})
  target_link_libraries(vpnbot_${name} PUBLIC vpnbot_build_flags)
  foreach(dependency IN LISTS ARG_DEPENDS)
    target_link_libraries(vpnbot_${name} PUBLIC vpnbot_${dependency})
  endforeach()
  if(NOT name STREQUAL "core")
    target_precompile_headers(vpnbot_${name} REUSE_FROM vpnbot_core)
  endif()

  # The include check, run again whenever one of the folder's files changes.
  set(stamp ${CMAKE_BINARY_DIR}/layers/${name}.checked)
  string(REPLACE ";" "|" files_arg "${sources};${headers}")
  string(REPLACE ";" "|" allowed_arg "${allowed}")
  add_custom_command(
    OUTPUT ${stamp}
    COMMAND ${CMAKE_COMMAND} -DLAYER=${name} "-DALLOWED=${allowed_arg}" "-DFILES=${files_arg}" -DSTAMP=${stamp}
            -P ${CMAKE_SOURCE_DIR}/cmake/check_layers.cmake
    DEPENDS ${sources} ${headers} ${CMAKE_SOURCE_DIR}/cmake/check_layers.cmake
    COMMENT "Checking the includes of layer ${name}"
    VERBATIM)
  add_custom_target(vpnbot_${name}_includes DEPENDS ${stamp})
  add_dependencies(vpnbot_${name} vpnbot_${name}_includes)
endfunction()

# Every folder of src/ must be a declared layer: a new folder is placed in the graph on purpose.
function(vpnbot_check_every_folder_is_a_layer)
  get_property(known GLOBAL PROPERTY VPNBOT_LAYERS)
  file(GLOB entries RELATIVE ${CMAKE_SOURCE_DIR}/src ${CMAKE_SOURCE_DIR}/src/*)
  foreach(entry IN LISTS entries)
    if(IS_DIRECTORY ${CMAKE_SOURCE_DIR}/src/${entry} AND NOT entry IN_LIST known)
      message(FATAL_ERROR "src/${entry} is not a layer: declare it with vpnbot_layer() in CMakeLists.txt")
    endif()
  endforeach()
endfunction()
