# tests/integration -- the real r53d on a free loopback port, queried with dig, kdig and raw
# packets; the NSD differential test; the storm test. Included from tests/CMakeLists.txt,
# so CMAKE_CURRENT_SOURCE_DIR is tests/. Run by hand:
#   python3 tests/integration/run.py --r53d build/server/r53d [test_answers ...]
set(R53D_INTEG_RUN ${CMAKE_CURRENT_SOURCE_DIR}/integration/run.py)

# Sanitizer builds start and answer several times more slowly: stretch every wait.
set(R53D_INTEG_SLOW 1)
if(R53D_ASAN OR R53D_UBSAN OR R53D_TSAN)
	set(R53D_INTEG_SLOW 4)
endif()

# name:timeout (s)[:extra label,...]; every test prints "N passed, N failed[, N skipped]"
# last. test_health is also labelled tsan: tests/run-all.sh runs `ctest -L tsan` in a
# -DR53D_TSAN=ON build, i.e. checkers flipping states while DNS workers answer, under TSan.
# test_api drives the Route 53 API with the Debian AWS CLI v2 (/usr/bin/aws, called by its
# path whatever Python runs the test); without it the test fails rather than skips
# (contrib/deps.sh installs awscli). test_terraform replays Terraform's calls with Debian's
# boto3 (/usr/bin/python3, python3-boto3; fails if missing); test_api_dnssec drives the
# DNSSEC operations (key-signing keys, enable/disable, GetDNSSEC) with both, validates the
# served zone with delv given the DS GetDNSSEC printed, watches a ZSK rollover of short
# timings and greps every output for private key material; test_durability kill -9s r53d
# with an LMDB store while change batches and creates are in flight. test_hcstate (also
# tsan: the control thread exports checker state while checkers report) restarts r53d
# with a store and checks that checker views, observations and status come back.
# test_store (also tsan: snapshots share compiled zones while workers read them) covers the
# configuration as the store's seed, --export/--reimport and zone sharing. test_resolver
# puts Unbound in front, one per VPC (contrib/resolver/resolvers.py), and asks through it;
# it skips only where unbound is not installed (contrib/deps.sh installs it). test_qlog (also
# tsan: workers append to their rings while the logger drains, reopens and reformats) checks
# the Route 53 query-log format, rotation by SIGUSR1/SIGHUP without a lost line, the drain
# at exit and the /metrics counters. test_fleet (label etcd) runs three r53d nodes on a
# 3-member etcd cluster (etcd_cluster.py): changes through any node reach every node, INSYNC
# waits for every live node, a killed node or etcd leader, lost quorum, and the 18% rule
# counted over the checkers of all nodes. test_reload: a reload compiles only the zones whose
# files (or $INCLUDEd files) or record sets changed and shares the others (/metrics
# r53d_snapshot_zones_compiled/_shared), each zone answering its current data.
# test_dnssec (label dnssec): the SecureCart example signed through the AWS CLI
# (create-key-signing-key, enable-hosted-zone-dnssec, get-dnssec), validated by Unbound
# (trust anchor = the DS get-dnssec prints), delv and python3-ldns, through a ZSK rollover;
# a wrong anchor must give SERVFAIL. Fails (no skip) without unbound, delv, awscli,
# openssl or python3-ldns (contrib/deps.sh installs them).
set(R53D_INTEG_TESTS
	test_answers:90
	test_protocol:90
	test_tcp:90
	test_config:90
	test_nsd_diff:150
	test_storm:150
	test_policies:120
	test_health:300:tsan
	test_api:400
	test_api_dnssec:240
	test_terraform:300
	test_durability:300
	test_hcstate:180:tsan
	test_store:120:tsan
	test_reload:120
	test_dnssec:180:dnssec
	test_resolver:180
	test_rrl:120
	test_qlog:120:tsan
	test_fleet:420:etcd
)
foreach(entry IN LISTS R53D_INTEG_TESTS)
	string(REPLACE ":" ";" parts ${entry})
	list(GET parts 0 mod)
	list(GET parts 1 secs)
	set(labels integration)
	list(LENGTH parts nparts)
	if(nparts GREATER 2)
		list(GET parts 2 extra)
		string(REPLACE "," ";" extra "${extra}")
		list(APPEND labels ${extra})
	endif()
	string(REPLACE "test_" "integ_" tname ${mod})
	add_test(NAME ${tname}
		COMMAND ${Python3_EXECUTABLE} ${R53D_INTEG_RUN} --r53d $<TARGET_FILE:r53d>
			--slow ${R53D_INTEG_SLOW} ${mod})
	set_tests_properties(${tname} PROPERTIES TIMEOUT ${secs} LABELS "${labels}"
		# a test module that cannot run reports skips; a skip-only run is not a pass
		SKIP_REGULAR_EXPRESSION "(^|\n)0 passed, 0 failed, [1-9][0-9]* skipped")
endforeach()

# test_policies, test_resolver and test_dnssec locate clients with the fixture MMDB that
# tests/unit/geo.cmake (included before this file) generates; building r53d builds it too.
add_dependencies(r53d geo_fixtures)
set_tests_properties(integ_policies integ_resolver integ_dnssec PROPERTIES
	ENVIRONMENT "R53D_GEO_MMDB=${GEO_FIXTURE_DIR}/geolite2-city.mmdb")

# The demo configuration (contrib/example) loads.
add_test(NAME example_config_check
	COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integration/check_example.sh $<TARGET_FILE:r53d>
		${PROJECT_SOURCE_DIR})
set_tests_properties(example_config_check PROPERTIES TIMEOUT 60 LABELS integration)

# tests/soak (issue 11), its 60-second form: dnsperf at half the rate measured first, 100
# reloads (good and broken files), health endpoints flapping every second, a sample of
# answers checked. Alone (RUN_SERIAL): its rate and its zero-loss verdict are its own.
# Also in the ThreadSanitizer pass (label tsan).
add_test(NAME soak
	COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/soak/soak.py
		--r53d $<TARGET_FILE:r53d> --seconds 60 --slow ${R53D_INTEG_SLOW})
set_tests_properties(soak PROPERTIES TIMEOUT 300 RUN_SERIAL TRUE LABELS "soak;tsan")
