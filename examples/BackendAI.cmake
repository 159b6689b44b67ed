# Imported target `backendai` for programs built against include/backendai.h and the library
# that `cargo build` leaves in the target directory.
#
#   BAI_ROOT        repository root (default: the parent of this folder)
#   BAI_LIB_DIR     folder holding libbackendai.so and libbackendai.a
#                   (default: ${BAI_ROOT}/target/debug)
#   BAI_LINK        "shared" (default) or "static"
#   BAI_NATIVE_STATIC_LIBS  system libraries the static library needs, as rustc prints them
#                   (`cargo rustc --lib --crate-type staticlib -- --print native-static-libs`)
include_guard(GLOBAL)

get_filename_component(_bai_default_root "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
set(BAI_ROOT "${_bai_default_root}" CACHE PATH "libbackendai repository root")
set(BAI_LIB_DIR "${BAI_ROOT}/target/debug" CACHE PATH "folder with libbackendai.so/.a")
set(BAI_LINK "shared" CACHE STRING "link to the shared or the static library")
set_property(CACHE BAI_LINK PROPERTY STRINGS shared static)
set(BAI_NATIVE_STATIC_LIBS "-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc" CACHE STRING
    "system libraries needed by the static library")

if(BAI_LINK STREQUAL "shared")
  set(_bai_lib "${BAI_LIB_DIR}/libbackendai${CMAKE_SHARED_LIBRARY_SUFFIX}")
  add_library(backendai SHARED IMPORTED GLOBAL)
  set_target_properties(backendai PROPERTIES IMPORTED_LOCATION "${_bai_lib}" IMPORTED_NO_SONAME TRUE)
elseif(BAI_LINK STREQUAL "static")
  set(_bai_lib "${BAI_LIB_DIR}/libbackendai${CMAKE_STATIC_LIBRARY_SUFFIX}")
  add_library(backendai STATIC IMPORTED GLOBAL)
  separate_arguments(_bai_native UNIX_COMMAND "${BAI_NATIVE_STATIC_LIBS}")
  set_target_properties(backendai PROPERTIES IMPORTED_LOCATION "${_bai_lib}"
                        INTERFACE_LINK_LIBRARIES "${_bai_native}")
else()
  message(FATAL_ERROR "BAI_LINK must be shared or static, not '${BAI_LINK}'")
endif()
if(NOT EXISTS "${_bai_lib}")
  message(FATAL_ERROR "${_bai_lib} does not exist: run `cargo build` first (or set BAI_LIB_DIR)")
endif()
set_target_properties(backendai PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${BAI_ROOT}/include")

# bai_add_program(name source...): a C11 program linked to backendai, warnings as errors.
function(bai_add_program name)
  add_executable(${name} ${ARGN})
  target_link_libraries(${name} PRIVATE backendai)
  set_target_properties(${name} PROPERTIES C_STANDARD 11 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)
  if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${name} PRIVATE -Wall -Wextra -Werror -pedantic)
  endif()
  if(BAI_LINK STREQUAL "shared")
    set_target_properties(${name} PROPERTIES BUILD_RPATH "${BAI_LIB_DIR}")
  endif()
endfunction()
