# Signed zones and the response signer (zones/zsign.c): snapshots built with generated
# keys, answers signed by zsign_answer and checked with ldns (ldns_verify_rrsig_keylist_time).
add_executable(test_zsign ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_zsign.c)
target_link_libraries(test_zsign PRIVATE r53d_zones PkgConfig::CMOCKA PkgConfig::LDNS
	PkgConfig::JANSSON)
add_test(NAME unit_zsign COMMAND test_zsign)
set_tests_properties(unit_zsign PROPERTIES TIMEOUT 120)
# Count allocations where the allocator is glibc's own (not under sanitizers).
if(NOT R53D_ASAN AND NOT R53D_TSAN)
	target_compile_definitions(test_zsign PRIVATE R53D_COUNT_ALLOC)
endif()
