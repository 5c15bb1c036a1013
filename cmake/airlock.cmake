# Helpers that give every airlock target the same flags, so a folder's CMakeLists.txt says only
# what it builds and what it links.

set(AIRLOCK_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align
    -Wunused -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough)
if(AIRLOCK_WERROR)
  list(APPEND AIRLOCK_WARNINGS -Werror)
endif()

if(AIRLOCK_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
if(AIRLOCK_FUZZ)
  # Libraries get coverage instrumentation; only fuzz targets link libFuzzer's main.
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

function(airlock_target_defaults target)
  target_compile_options(${target} PRIVATE ${AIRLOCK_WARNINGS})
  target_include_directories(${target} PUBLIC "${AIRLOCK_SOURCE_ROOT}")
endfunction()

# airlock_library(name SOURCES a.cpp b.cpp DEPS lib1 lib2)
# One static library per src/<folder>; DEPS are PUBLIC so that headers see what they include.
function(airlock_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  airlock_target_defaults(${name})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  # The CLI links every library; this list is how it finds them.
  set_property(GLOBAL APPEND PROPERTY AIRLOCK_LIBRARIES ${name})
endfunction()

# airlock_test(name SOURCES x_test.cpp DEPS lib LABELS unit)
# A GoogleTest binary whose cases are discovered when ctest runs (so building stays fast).
function(airlock_test name)
  if(NOT AIRLOCK_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  airlock_target_defaults(${name})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} airlock_testing GTest::gtest GTest::gmock GTest::gtest_main)
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  gtest_discover_tests(${name}
    DISCOVERY_MODE PRE_TEST
    # One variable per property: gtest_discover_tests flattens list values, which would turn the
    # second entry of an ENVIRONMENT list into a property name (and drop AIRLOCK_BINARY).
    PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT}
    ENVIRONMENT "AIRLOCK_PROJECT_ROOT=${AIRLOCK_PROJECT_ROOT}"
    ENVIRONMENT_MODIFICATION "AIRLOCK_BINARY=set:$<TARGET_FILE:airlock>")
endfunction()
