#!/usr/bin/env bash
# npm test's test phase: the unit tests, then the e2e tests of both tiers at once — the
# ns-tier files (their own namespaces and zfs-fuse daemons, at a lower CPU priority) beside
# the vm-tier files (one lab, booted by the e2e project's global setup): on a fresh machine they
# fill the wait for the guest image .ci/run builds in the background, and with the image cached
# the run is still ≈5 min shorter than one after the other (measured 2026-11-27: 3509 s in all
# with the ns files first). The timer tests (e2e-timers: ≈14 min, most of it waiting for
# minute ticks) run on a second vm lab of two guests, beside the main one. The side runs'
# reports follow the vm run's, then the recap of every failure, so the tail of a CI log names
# what failed. The exit code is the worst of the four. --e2e: the e2e runs only.
set -u
cd "$(dirname "$0")/.."
unit_log=$(mktemp)
ns_log=$(mktemp)
vm_log=$(mktemp)
timers_log=$(mktemp)
logs=("$unit_log" "$ns_log" "$vm_log" "$timers_log")
trap 'rm -f "${logs[@]}"' EXIT
unit=0
if [ "${1:-}" != --e2e ]; then
  npx vitest run --project unit 2>&1 | tee "$unit_log"; unit=${PIPESTATUS[0]}
fi
shown=0
show_side() { # the side runs' reports, once, however this script ends (a CI timeout included)
  [ "$shown" = 1 ] && return
  shown=1
  echo
  echo "── e2e-timers (ran beside the other vm-tier files, on a lab of its own) ──"
  cat "$timers_log"
  echo
  echo "── e2e-ns (ran beside the vm-tier files) ──"
  cat "$ns_log"
}
trap 'show_side; rm -f "${logs[@]}"' EXIT
nice -n 10 npx vitest run --project e2e-ns >"$ns_log" 2>&1 &
ns_pid=$!
# the second vm lab: its own folder, network namespace and ports (test/lab/vm.ts), torn down at
# its end. It boots once the main lab is up (or after 30 min whatever happened to it): five TCG
# guests booting at once on two cores, beside the ns tier, took 342 s where three take ≈100 s.
main_lab=${BACKPLANE_LAB_DIR:-/var/tmp/backplane-lab}/hosts.json
(
  for _ in $(seq 360); do [ -f "$main_lab" ] && break; sleep 5; done
  BACKPLANE_LAB_DIR=/var/tmp/backplane-lab-timers BACKPLANE_LAB_NETNS=bplab-timers BACKPLANE_LAB_PORT_BASE=22240 BACKPLANE_LAB_VM_HOSTS=2 \
    exec npx vitest run --project e2e-timers
) >"$timers_log" 2>&1 &
timers_pid=$!
npx vitest run --project e2e 2>&1 | tee "$vm_log"; vm=${PIPESTATUS[0]}
wait "$timers_pid"; timers=$?
wait "$ns_pid"; ns=$?
show_side
recap() { # name log: vitest's own "Failed Tests"/"Unhandled Errors" sections (names, errors, source lines), colours off
  sed 's/\x1b\[[0-9;]*m//g' "$2" | awk -v name="$1" '
    /⎯+ (Failed (Tests|Suites) [0-9]+|Unhandled Errors?) ⎯+/ { on = 1 }
    /^ *Test Files / { on = 0 }
    on { if (!printed) { print ""; print "── failures in " name " ──"; printed = 1 }; print }'
}
recap unit "$unit_log"
recap e2e-ns "$ns_log"
recap e2e-timers "$timers_log"
recap e2e "$vm_log"
echo "test: unit exit $unit, e2e-ns exit $ns, e2e-timers exit $timers, e2e exit $vm"
worst=$unit
for x in "$ns" "$timers" "$vm"; do [ "$x" -gt "$worst" ] && worst=$x; done
exit "$worst"
