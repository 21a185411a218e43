# Unit tests of the server and zones modules: real wire queries through answer_build.
add_executable(test_answer ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_answer.c)
target_link_libraries(test_answer PRIVATE r53d_server PkgConfig::CMOCKA PkgConfig::LDNS)
target_compile_definitions(test_answer PRIVATE
	R53D_TEST_DATA="${CMAKE_CURRENT_SOURCE_DIR}/unit/data")
add_test(NAME unit_answer COMMAND test_answer)

# The answer cache: cached responses equal the full path's (server/acache.c).
add_executable(test_acache ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_acache.c)
target_link_libraries(test_acache PRIVATE r53d_server PkgConfig::CMOCKA PkgConfig::LDNS)
target_compile_definitions(test_acache PRIVATE
	R53D_TEST_DATA="${CMAKE_CURRENT_SOURCE_DIR}/unit/data")
add_test(NAME unit_acache COMMAND test_acache)

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

# Policy answers while another thread flips health words (issue 11's empty NOERROR);
# tsan: the words are shared between the writer and the answering threads.
add_executable(test_health_flips ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_health_flips.c)
target_link_libraries(test_health_flips PRIVATE r53d_server PkgConfig::CMOCKA Threads::Threads)
add_test(NAME unit_health_flips COMMAND test_health_flips)
set_tests_properties(unit_health_flips PROPERTIES TIMEOUT 120 LABELS "tsan")

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

# The store (memory and LMDB): ranges, long keys, atomic commits, the feed, crash recovery.
add_executable(test_store ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_store.c)
target_link_libraries(test_store PRIVATE r53d_server PkgConfig::CMOCKA)
add_test(NAME unit_store COMMAND test_store)
set_tests_properties(unit_store PROPERTIES TIMEOUT 120)

# The etcd store against real etcd members (1, then 3) that it starts on free loopback
# ports through tests/integration/etcd_cluster.py: the store contract, guarded commits,
# leases, the watch feed, compaction, failover, quorum loss, etcd down.
add_executable(test_store_etcd ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_store_etcd.c)
target_link_libraries(test_store_etcd PRIVATE r53d_server PkgConfig::CMOCKA)
target_compile_definitions(test_store_etcd PRIVATE
	R53D_ETCD_HARNESS="${CMAKE_CURRENT_SOURCE_DIR}/integration/etcd_cluster.py")
add_test(NAME unit_store_etcd COMMAND test_store_etcd)
set_tests_properties(unit_store_etcd PROPERTIES TIMEOUT 240 LABELS etcd)

# Route 53 presentation of names and values; zone file -> record sets -> r53_load().
add_executable(test_present ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_present.c)
target_link_libraries(test_present PRIVATE r53d_zones PkgConfig::CMOCKA PkgConfig::LDNS
	PkgConfig::JANSSON)
target_compile_definitions(test_present PRIVATE
	R53D_TEST_DATA="${CMAKE_CURRENT_SOURCE_DIR}/unit/data"
	R53D_FIXTURES="${CMAKE_CURRENT_SOURCE_DIR}/fixtures")
add_test(NAME unit_present COMMAND test_present)

# The zone file reader (libzscanner): multi-line records, escapes, $INCLUDE, limits and
# FILE:LINE errors (fixtures in tests/fixtures/zones/parser, large files written by the test).
add_executable(test_zoneload ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_zoneload.c)
target_link_libraries(test_zoneload PRIVATE r53d_zones PkgConfig::CMOCKA PkgConfig::LDNS)
target_compile_definitions(test_zoneload PRIVATE R53D_FIXTURES="${CMAKE_CURRENT_SOURCE_DIR}/fixtures")
add_test(NAME unit_zoneload COMMAND test_zoneload)

# Route 53 API: XML <-> JSON request/response bodies.
add_executable(test_xmlconv ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_xmlconv.c)
target_link_libraries(test_xmlconv PRIVATE r53d_server PkgConfig::CMOCKA)
add_test(NAME unit_xmlconv COMMAND test_xmlconv)

# Route 53 API: SigV4 verification (AWS test-suite vectors, botocore-signed fixtures).
add_executable(test_sigv4 ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_sigv4.c)
target_link_libraries(test_sigv4 PRIVATE r53d_server PkgConfig::CMOCKA)
target_compile_definitions(test_sigv4 PRIVATE
	R53D_TEST_DATA="${CMAKE_CURRENT_SOURCE_DIR}/unit/data")
add_test(NAME unit_sigv4 COMMAND test_sigv4)

# The query log: formats (Route 53's byte for byte), rings, drops, reopen, drain. Labelled
# tsan: workers append while the logger drains (tests/run-all.sh runs -L tsan under TSan).
add_executable(test_qlog ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_qlog.c)
target_link_libraries(test_qlog PRIVATE r53d_server PkgConfig::CMOCKA)
add_test(NAME unit_qlog COMMAND test_qlog)
set_tests_properties(unit_qlog PROPERTIES TIMEOUT 120 LABELS "tsan")

# Response rate limiting: the rrl key, accounts by kind, credit, slip, exempt networks, the
# table's replacement rule, configuration changes (hand-built responses, injected clock).
add_executable(test_rrl ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_rrl.c)
target_link_libraries(test_rrl PRIVATE r53d_server PkgConfig::CMOCKA)
add_test(NAME unit_rrl COMMAND test_rrl)
