#!/usr/bin/env bash
# npm test's test phase: the unit tests, then the e2e tests of both tiers at once — the
# ns-tier files (their own namespaces and zfs-fuse daemons, at a lower CPU priority) beside
# the vm-tier files (one lab, booted by the e2e project's global setup): on a fresh machine they
# fill the wait for the guest image .ci/run builds in the background, and with the image cached
# the run is still ≈5 min shorter than one after the other (measured 2026-11-27: 3509 s in all
# with the ns files first). The ns run's report follows the vm run's, then the recap of every
# failure, so the tail of a CI log names what failed. The exit code is the worst of the three.
set -u
cd "$(dirname "$0")/.."
unit_log=$(mktemp)
ns_log=$(mktemp)
vm_log=$(mktemp)
trap 'rm -f "$unit_log" "$ns_log" "$vm_log"' EXIT
npx vitest run --project unit 2>&1 | tee "$unit_log"; unit=${PIPESTATUS[0]}
shown=0
show_ns() { # the ns run's report, once, however this script ends (a CI timeout included)
  [ "$shown" = 1 ] && return
  shown=1
  echo
  echo "── e2e-ns (ran beside the vm-tier files) ──"
  cat "$ns_log"
}
trap 'show_ns; rm -f "$unit_log" "$ns_log" "$vm_log"' EXIT
nice -n 10 npx vitest run --project e2e-ns >"$ns_log" 2>&1 &
ns_pid=$!
npx vitest run --project e2e 2>&1 | tee "$vm_log"; vm=${PIPESTATUS[0]}
wait "$ns_pid"; ns=$?
show_ns
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
