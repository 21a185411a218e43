# tests/unit/geo.cmake -- unit tests of geo/ (included from tests/CMakeLists.txt).
#
# The MMDB fixtures are generated at build time from tests/fixtures/geo/city.txt by
# make-mmdb.pl (Debian: libmaxmind-db-writer-perl); no binary .mmdb is committed.
find_package(Perl REQUIRED)

set(GEO_FIXTURE_SRC ${CMAKE_CURRENT_LIST_DIR}/../fixtures/geo)
set(GEO_FIXTURE_DIR ${CMAKE_CURRENT_BINARY_DIR}/fixtures/geo)
set(GEO_FIXTURE_MMDB
	${GEO_FIXTURE_DIR}/geolite2-city.mmdb
	${GEO_FIXTURE_DIR}/dbip-city.mmdb
	${GEO_FIXTURE_DIR}/dbip-city-ipv4.mmdb
	${GEO_FIXTURE_DIR}/opaque-geolite2.mmdb
	${GEO_FIXTURE_DIR}/other.mmdb)

add_custom_command(
	OUTPUT ${GEO_FIXTURE_MMDB}
	COMMAND ${CMAKE_COMMAND} -E make_directory ${GEO_FIXTURE_DIR}
	COMMAND ${PERL_EXECUTABLE} ${GEO_FIXTURE_SRC}/make-mmdb.pl
		${GEO_FIXTURE_SRC}/city.txt ${GEO_FIXTURE_DIR}
	DEPENDS ${GEO_FIXTURE_SRC}/make-mmdb.pl ${GEO_FIXTURE_SRC}/city.txt
	COMMENT "Writing the geo test MMDB files"
	VERBATIM)
add_custom_target(geo_fixtures ALL DEPENDS ${GEO_FIXTURE_MMDB})

add_executable(test_geo ${CMAKE_CURRENT_LIST_DIR}/test_geo.c)
add_dependencies(test_geo geo_fixtures)
target_compile_definitions(test_geo PRIVATE
	GEO_FIXTURE_DIR="${GEO_FIXTURE_DIR}"
	GEO_SOURCE_DIR="${GEO_FIXTURE_SRC}")
target_link_libraries(test_geo PRIVATE r53d_geo PkgConfig::CMOCKA m)

foreach(group cc addr db ecs point latency)
	add_test(NAME geo_${group} COMMAND test_geo ${group})
	set_tests_properties(geo_${group} PROPERTIES TIMEOUT 60 LABELS geo)
endforeach()

# Lookups from several threads on one database (run under TSan by tests/run-all.sh).
add_executable(test_geo_threads ${CMAKE_CURRENT_LIST_DIR}/test_geo_threads.c)
add_dependencies(test_geo_threads geo_fixtures)
target_compile_definitions(test_geo_threads PRIVATE GEO_FIXTURE_DIR="${GEO_FIXTURE_DIR}")
target_link_libraries(test_geo_threads PRIVATE r53d_geo PkgConfig::CMOCKA Threads::Threads m)
add_test(NAME geo_threads COMMAND test_geo_threads)
set_tests_properties(geo_threads PROPERTIES TIMEOUT 120 LABELS "geo;tsan")
