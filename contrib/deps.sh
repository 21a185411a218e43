#!/usr/bin/env bash
# deps.sh -- install the Debian 12 packages r53d needs to build, test and benchmark.
# Installs only what is missing; safe to run again. Needs root (apt-get).
#   contrib/deps.sh          build + run-time + test packages
#   contrib/deps.sh --bench  also the benchmark peers (knot and gdnsd); dnsperf is always
#                            installed: the soak test runs it
set -eu

PKGS="build-essential cmake pkg-config git ca-certificates
libevent-dev libldns-dev libmaxminddb-dev libcmocka-dev libjansson-dev libssl-dev zlib1g-dev
liblmdb-dev lmdb-utils libxml2-dev libknot-dev
python3 dnsutils knot-dnsutils ldnsutils python3-ldns awscli python3-boto3 curl
clang libclang-rt-14-dev
libmaxmind-db-writer-perl mmdb-bin
nsd unbound etcd-server dnsperf openssl iproute2 procps"
BENCH_PKGS="knot gdnsd"

want=$PKGS
[ "${1:-}" = "--bench" ] && want="$PKGS $BENCH_PKGS"

missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "deps.sh: installing:$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# nsd's and unbound's post-install would start a daemon on port 53; we only use their
	# binaries (contrib/resolver starts unbound per VPC).
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		trap 'rm -f /usr/sbin/policy-rc.d' EXIT
	fi
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
	# unbound's, etcd-server's, knot's and gdnsd's packaging also enable their system
	# services: undone, so no boot starts them (the tests start their own, on their own
	# loopback ports, and stop them by PID).
	for svc in unbound etcd knot gdnsd; do
		pkg=$svc; [ "$svc" = etcd ] && pkg=etcd-server
		case " $missing " in *" $pkg "*) ;; *) continue ;; esac
		update-rc.d "$svc" disable >/dev/null 2>&1 || true
		if command -v systemctl >/dev/null; then
			systemctl --quiet disable "$svc.service" 2>/dev/null || true
			[ "$svc" = unbound ] && systemctl --quiet disable unbound-resolvconf.service 2>/dev/null || true
		fi
		# no systemd here (yet): the links dpkg made
		rm -f "/etc/systemd/system/multi-user.target.wants/$svc.service"
		[ "$svc" = unbound ] && rm -f /etc/systemd/system/unbound.service.wants/unbound-resolvconf.service || true
	done
fi
