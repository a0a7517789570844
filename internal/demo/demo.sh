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

step "Done: irmd stops on SIGTERM and every flow is told it is down"
