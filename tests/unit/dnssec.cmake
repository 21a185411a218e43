# DNSSEC signing (zones/dnssec.c): keys, DS, RRSIGs, compact-denial NSEC, signature cache,
# all checked with ldns (ldns_verify_rrsig_keylist_time, ldns_key_rr2ds, its NSEC parser).
add_executable(test_dnssec ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_dnssec.c)
target_link_libraries(test_dnssec PRIVATE r53d_zones PkgConfig::CMOCKA PkgConfig::LDNS
	PkgConfig::OPENSSL)
add_test(NAME unit_dnssec COMMAND test_dnssec)
set_tests_properties(unit_dnssec PROPERTIES TIMEOUT 120)
# Count allocations (r53d's apart from OpenSSL's) where the allocator is glibc's own.
if(NOT R53D_ASAN AND NOT R53D_TSAN)
	target_compile_definitions(test_dnssec PRIVATE R53D_COUNT_ALLOC)
endif()
