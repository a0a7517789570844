#!/usr/bin/env bash
# The main job, shown end to end on this machine: an irmd in its own run
# directory, a local layer, and applications that reach each other by name.
set -euo pipefail

BIN=${BIN:-$(cd "$(dirname "$0")/../.." && pwd)/bin}
export PATH="$BIN:$PATH"
export OUROBOROS_RUNDIR=$(mktemp -d /tmp/ouroboros-demo.XXXXXX)
work=$(mktemp -d)
pids=()

cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	if [ -n "${irmd:-}" ]; then kill -TERM "$irmd" 2>/dev/null && wait "$irmd" 2>/dev/null || true; fi
	rm -rf "$OUROBOROS_RUNDIR" "$work"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

step "Start irmd (run directory $OUROBOROS_RUNDIR)"
irmd --stdout >"$work/irmd.log" 2>&1 &
irmd=$!
for _ in $(seq 100); do [ -S "$OUROBOROS_RUNDIR/irmd.sock" ] && break; sleep 0.05; done
irm ipcp list >/dev/null

step "A local layer, and an oping server reachable by the name 'pinger'"
show irm ipcp bootstrap name lo layer local type local
show irm name register pinger layer local
oping -l >"$work/oping-server.log" 2>&1 &
pids+=($!)
show irm bind process $! name pinger

step "Ping it by name"
show oping -n pinger -c 5 -i 100ms

step "Copy 20 MB over a reliable flow and compare"
head -c 20M /dev/urandom >"$work/sent"
show irm name register files layer local
ocat -l >"$work/received" 2>"$work/ocat-server.log" &
srv=$!
show irm bind process $srv name files
show ocat -n files -q data <"$work/sent"
wait $srv
show cmp "$work/sent" "$work/received" && echo "identical: $(stat -c %s "$work/received") bytes"

step "Start a server on demand: the first flow to 'echo' starts oecho"
show irm name register echo layer local
show irm bind program "$BIN/oecho" name echo auto -- -l
show oecho -n echo -m "hello from a flow"

step "Throughput over the local layer"
show irm name register perf layer local
operf -l >"$work/operf-server.log" 2>&1 &
pids+=($!)
show irm bind process $! name perf
show operf -n perf -d 3

step "What irmd knows"
show irm ipcp list
show irm name list
show irm flow list

step "Done on one host: irmd stops on SIGTERM and every flow is told it is down"
kill -TERM "$irmd" && wait "$irmd" || true
irmd=

if [ "$(id -u)" != 0 ]; then
	echo
	echo "(run as root to see three hosts, in network namespaces, talk over UDP layers and a routed unicast layer)"
	exit 0
fi

# Two hosts: network namespaces joined by a veth pair, one irmd each, a udp4
# layer between them.
id=$$
nsa=demo-a-$id nsb=demo-b-$id nsc=demo-c-$id
ranet=$(mktemp -d /tmp/ouroboros-demo-a.XXXXXX) rbnet=$(mktemp -d /tmp/ouroboros-demo-b.XXXXXX)
rcnet=$(mktemp -d /tmp/ouroboros-demo-c.XXXXXX)
cleanup_ns() {
	for p in "${nspids[@]}"; do kill "$p" 2>/dev/null || true; done
	sleep 0.2
	ip netns del "$nsa" 2>/dev/null || true
	ip netns del "$nsb" 2>/dev/null || true
	ip netns del "$nsc" 2>/dev/null || true
	rm -rf "/etc/netns/$nsa" "/etc/netns/$nsc" "$ranet" "$rbnet" "$rcnet"
	cleanup
}
trap cleanup_ns EXIT
nspids=()
in_a() { ip netns exec "$nsa" env OUROBOROS_RUNDIR="$ranet" "$@"; }
in_b() { ip netns exec "$nsb" env OUROBOROS_RUNDIR="$rbnet" "$@"; }
in_c() { ip netns exec "$nsc" env OUROBOROS_RUNDIR="$rcnet" "$@"; }

step "Two hosts: namespaces $nsa (10.77.0.1) and $nsb (10.77.0.2) over a veth"
ip netns add "$nsa"; ip netns add "$nsb"
ip link add "va$id" netns "$nsa" type veth peer name "vb$id" netns "$nsb"
ip -n "$nsa" addr add 10.77.0.1/24 dev "va$id"; ip -n "$nsb" addr add 10.77.0.2/24 dev "vb$id"
ip -n "$nsa" link set "va$id" up; ip -n "$nsb" link set "vb$id" up
ip -n "$nsa" link set lo up; ip -n "$nsb" link set lo up
mkdir -p "/etc/netns/$nsa"
# Every name A resolves, written before its irmd starts (Go caches the file).
printf '10.77.0.2 pinger\n10.77.0.2 files\n10.77.0.2 ucB\n' >"/etc/netns/$nsa/hosts"
: >"$work/empty.conf"
# Background programs run without the in_a/in_b functions, so that $! is
# the program's own pid (ip netns exec and env exec in place).
ip netns exec "$nsa" env OUROBOROS_RUNDIR="$ranet" "$BIN/irmd" --stdout --config "$work/empty.conf" >"$work/irmd-a.log" 2>&1 &
nspids+=($!)
ip netns exec "$nsb" env OUROBOROS_RUNDIR="$rbnet" "$BIN/irmd" --stdout --config "$work/empty.conf" >"$work/irmd-b.log" 2>&1 &
nspids+=($!)
for _ in $(seq 100); do [ -S "$ranet/irmd.sock" ] && [ -S "$rbnet/irmd.sock" ] && break; sleep 0.05; done

step "A udp4 layer 'wan' between them; the server's names resolve through /etc/hosts"
show in_a irm ipcp bootstrap name ua layer wan type udp4 ip 10.77.0.1
show in_b irm ipcp bootstrap name ub layer wan type udp4 ip 10.77.0.2
show in_b irm name register pinger layer wan
ip netns exec "$nsb" env OUROBOROS_RUNDIR="$rbnet" "$BIN/oping" -l >"$work/oping-b.log" 2>&1 &
nspids+=($!)
show in_b irm bind process $! name pinger
show in_a oping -n pinger -c 5 -i 100ms

step "20 MB across the hosts over a reliable flow"
show in_b irm name register files layer wan
ip netns exec "$nsb" env OUROBOROS_RUNDIR="$rbnet" "$BIN/ocat" -l >"$work/received-b" 2>"$work/ocat-b.log" &
srv=$!
show in_b irm bind process $srv name files
show in_a ocat -n files -q data <"$work/sent"
wait $srv
show cmp "$work/sent" "$work/received-b" && echo "identical: $(stat -c %s "$work/received-b") bytes across the link"
show in_b irm ipcp list

# A third host behind the second: a routed unicast layer over both links.
step "A third host, $nsc (10.78.0.2), linked to $nsb (10.78.0.1) only"
ip netns add "$nsc"
ip link add "vc$id" netns "$nsc" type veth peer name "vd$id" netns "$nsb"
ip -n "$nsc" addr add 10.78.0.2/24 dev "vc$id"; ip -n "$nsb" addr add 10.78.0.1/24 dev "vd$id"
ip -n "$nsc" link set "vc$id" up; ip -n "$nsb" link set "vd$id" up; ip -n "$nsc" link set lo up
mkdir -p "/etc/netns/$nsc"
printf '10.78.0.1 ucB\n' >"/etc/netns/$nsc/hosts"
ip netns exec "$nsc" env OUROBOROS_RUNDIR="$rcnet" "$BIN/irmd" --stdout --config "$work/empty.conf" >"$work/irmd-c.log" 2>&1 &
nspids+=($!)
for _ in $(seq 100); do [ -S "$rcnet/irmd.sock" ] && break; sleep 0.05; done
show in_b irm ipcp bootstrap name ub2 layer lan type udp4 ip 10.78.0.1
show in_c irm ipcp bootstrap name uc layer lan type udp4 ip 10.78.0.2

step "Certificates for a routed layer: a CA, and an IPCP certificate for each member"
cd "$work"
show irm cert ca name corp.ca dir pki
for n in ucA ucB ucC; do show irm cert issue name $n ca pki/corp.ca kind ipcp dir pki; done
# The certificate options of one member's IPCP.
id() { echo ca pki/corp.ca.crt cert "pki/$1.crt" key "pki/$1.key"; }

step "A unicast layer 'corp' over both UDP layers, admitting only IPCPs with a certificate from corp.ca: B bootstraps it, A and C enroll through B"
show in_b irm ipcp bootstrap name ucB layer corp type unicast autobind $(id ucB)
show in_b irm name register ucB layer wan layer lan
show in_a irm ipcp enroll name ucA layer corp dst ucB autobind $(id ucA)
show in_a irm ipcp connect name ucA dst ucB
show in_c irm ipcp enroll name ucC layer corp dst ucB autobind $(id ucC)
show in_c irm ipcp connect name ucC dst ucB

step "An IPCP without a certificate from corp.ca is refused"
show in_c irm ipcp enroll name ucX layer corp dst ucB || true
# The failed enrolment removed the IPCP it created: nothing is half-made.
if in_c irm ipcp list | grep -q '^ucX '; then echo "ucX was left behind" >&2; exit 1; fi

step "A reaches a server on C by name; B forwards"
show in_c irm name register far layer corp
ip netns exec "$nsc" env OUROBOROS_RUNDIR="$rcnet" "$BIN/oping" -l >"$work/oping-c.log" 2>&1 &
nspids+=($!)
show in_c irm bind process $! name far
for _ in $(seq 50); do in_a oping -n far -c 1 -w 1s >/dev/null 2>&1 && break; sleep 0.1; done
show in_a oping -n far -c 5 -i 100ms
show in_b irm ipcp list

step "Done: three hosts, two UDP layers, one routed layer that admits only certified members, flows by name"
