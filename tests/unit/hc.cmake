# tests/unit/hc.cmake -- healthcheck/ unit and real-endpoint tests (cmocka), ctest -R hc
pkg_check_modules(HCT_ZLIB REQUIRED IMPORTED_TARGET zlib)
add_library(hc_testsrv STATIC ${CMAKE_CURRENT_LIST_DIR}/hc_testsrv.c)
target_include_directories(hc_testsrv PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(hc_testsrv PUBLIC PkgConfig::LIBEVENT PkgConfig::OPENSSL Threads::Threads
	PkgConfig::HCT_ZLIB)

foreach(t hc_conf hc_agg hc_probe hc_tsan hc_persist hc_latency)
	add_executable(test_${t} ${CMAKE_CURRENT_LIST_DIR}/test_${t}.c)
	target_link_libraries(test_${t} PRIVATE r53d_healthcheck hc_testsrv PkgConfig::CMOCKA)
	add_test(NAME ${t} COMMAND test_${t})
	set_tests_properties(${t} PROPERTIES TIMEOUT 120 LABELS healthcheck)
endforeach()
# checkers writing while readers read: also run by the ThreadSanitizer pass of run-all.sh
set_tests_properties(hc_tsan hc_agg hc_persist hc_latency PROPERTIES LABELS "healthcheck;tsan")

# the health-check benchmark (not run by CTest): tests/bench/hc_bench.c
add_executable(hc_bench ${CMAKE_CURRENT_LIST_DIR}/../bench/hc_bench.c)
target_link_libraries(hc_bench PRIVATE r53d_healthcheck)
set_target_properties(hc_bench PROPERTIES EXCLUDE_FROM_ALL TRUE)
