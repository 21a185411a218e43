# Unit tests of the server and zones modules: real wire queries through answer_build.
add_executable(test_answer ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_answer.c)
target_link_libraries(test_answer PRIVATE r53d_server PkgConfig::CMOCKA PkgConfig::LDNS)
target_compile_definitions(test_answer PRIVATE
	R53D_TEST_DATA="${CMAKE_CURRENT_SOURCE_DIR}/unit/data")
add_test(NAME unit_answer COMMAND test_answer)

add_executable(test_conf ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_conf.c)
target_link_libraries(test_conf PRIVATE r53d_server PkgConfig::CMOCKA)
target_compile_definitions(test_conf PRIVATE
	R53D_TEST_DATA="${CMAKE_CURRENT_SOURCE_DIR}/unit/data")
add_test(NAME unit_conf COMMAND test_conf)

# Routing policies: record-set JSON, injected health, the fixture MMDB (geo.cmake).
add_executable(test_policy ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_policy.c)
add_dependencies(test_policy geo_fixtures)
target_link_libraries(test_policy PRIVATE r53d_server PkgConfig::CMOCKA PkgConfig::LDNS)
target_compile_definitions(test_policy PRIVATE
	R53D_TEST_DATA="${CMAKE_CURRENT_SOURCE_DIR}/unit/data"
	GEO_FIXTURE_DIR="${GEO_FIXTURE_DIR}")
add_test(NAME unit_policy COMMAND test_policy)

# The UDP path allocates nothing: a counting allocator around a real worker. Sanitizers
# replace the allocator, so this test exists only in plain builds.
if(NOT R53D_ASAN AND NOT R53D_TSAN)
	add_executable(test_hotpath ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_hotpath.c)
	add_dependencies(test_hotpath geo_fixtures)
	target_link_libraries(test_hotpath PRIVATE r53d_server PkgConfig::CMOCKA)
	target_compile_definitions(test_hotpath PRIVATE
		R53D_TEST_DATA="${CMAKE_CURRENT_SOURCE_DIR}/unit/data"
		GEO_FIXTURE_DIR="${GEO_FIXTURE_DIR}")
	add_test(NAME unit_hotpath COMMAND test_hotpath)
	set_tests_properties(unit_hotpath PROPERTIES TIMEOUT 120)
endif()

# Private hosted zones and split view.
add_executable(test_views ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_views.c)
target_link_libraries(test_views PRIVATE r53d_server PkgConfig::CMOCKA PkgConfig::LDNS)
target_compile_definitions(test_views PRIVATE R53D_TEST_DATA="${CMAKE_CURRENT_SOURCE_DIR}/unit/data")
add_test(NAME unit_views COMMAND test_views)
