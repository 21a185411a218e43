#!/usr/bin/env bash
# deps.sh -- install the Debian 12 packages r53d needs to build, test and benchmark.
# Installs only what is missing; safe to run again. Needs root (apt-get).
#   contrib/deps.sh          build + run-time + test packages
#   contrib/deps.sh --bench  also the benchmark tools (nsd, dnsperf)
set -eu

PKGS="build-essential cmake pkg-config git ca-certificates
libevent-dev libldns-dev libmaxminddb-dev libcmocka-dev libjansson-dev libssl-dev zlib1g-dev
liblmdb-dev lmdb-utils libxml2-dev
python3 dnsutils knot-dnsutils ldnsutils awscli python3-boto3 curl
clang libclang-rt-14-dev
libmaxmind-db-writer-perl mmdb-bin
nsd unbound openssl iproute2 procps"
BENCH_PKGS="dnsperf"

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
	# unbound's packaging also enables its system service: undone, so no boot starts it.
	case " $missing " in *" unbound "*)
		update-rc.d unbound disable >/dev/null 2>&1 || true
		if command -v systemctl >/dev/null; then
			systemctl --quiet disable unbound.service unbound-resolvconf.service 2>/dev/null || true
		else   # no systemd here (yet): the links dpkg made
			rm -f /etc/systemd/system/multi-user.target.wants/unbound.service \
				/etc/systemd/system/unbound.service.wants/unbound-resolvconf.service
		fi ;;
	esac
fi
