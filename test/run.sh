#!/usr/bin/env bash
# npm test's test phase: the unit tests, then the e2e tests of both tiers. The ns-tier files
# (their own namespaces and zfs-fuse daemons) need no vm guest:
# - when the vm guest image is not cached yet, they run beside the vm-tier files (at a lower
#   CPU priority), filling the wait for the image that .ci/run builds in the background;
# - when it is cached, they run first, alone: beside the vm files they slowed them by ≈15 %
#   (and the timing-sensitive ones with them) for no wait to fill.
# The recap of every failure comes last, so the tail of a CI log names what failed.
# The exit code is the worst of the three runs.
set -u
cd "$(dirname "$0")/.."
unit_log=$(mktemp)
ns_log=$(mktemp)
vm_log=$(mktemp)
trap 'rm -f "$unit_log" "$ns_log" "$vm_log"' EXIT
npx vitest run --project unit 2>&1 | tee "$unit_log"; unit=${PIPESTATUS[0]}
shown=0
show_ns() { # the ns run's report when it ran beside, once, however this script ends (a CI timeout included)
  [ "$shown" = 1 ] && return
  shown=1
  echo
  echo "── e2e-ns (ran beside the vm-tier files) ──"
  cat "$ns_log"
}
image=$(bash test/lab/image/build.sh --print-dir 2>/dev/null || true)
if [ -n "$image" ] && [ -f "$image/manifest.txt" ] && [ -f "$image/root.img" ]; then
  npx vitest run --project e2e-ns 2>&1 | tee "$ns_log"; ns=${PIPESTATUS[0]}
  npx vitest run --project e2e 2>&1 | tee "$vm_log"; vm=${PIPESTATUS[0]}
else
  trap 'show_ns; rm -f "$unit_log" "$ns_log" "$vm_log"' EXIT
  nice -n 10 npx vitest run --project e2e-ns >"$ns_log" 2>&1 &
  ns_pid=$!
  npx vitest run --project e2e 2>&1 | tee "$vm_log"; vm=${PIPESTATUS[0]}
  wait "$ns_pid"; ns=$?
  show_ns
fi
recap() { # name log: vitest's own "Failed Tests"/"Unhandled Errors" sections (names, errors, source lines), colours off
  sed 's/\x1b\[[0-9;]*m//g' "$2" | awk -v name="$1" '
    /⎯+ (Failed (Tests|Suites) [0-9]+|Unhandled Errors?) ⎯+/ { on = 1 }
    /^ *Test Files / { on = 0 }
    on { if (!printed) { print ""; print "── failures in " name " ──"; printed = 1 }; print }'
}
recap unit "$unit_log"
recap e2e-ns "$ns_log"
recap e2e "$vm_log"
echo "test: unit exit $unit, e2e-ns exit $ns, e2e exit $vm"
worst=$unit
[ "$ns" -gt "$worst" ] && worst=$ns
[ "$vm" -gt "$worst" ] && worst=$vm
exit "$worst"
