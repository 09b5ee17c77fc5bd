#!/usr/bin/env bash
# npm test's test phase: the unit tests, then the e2e tests of both tiers at once — the
# ns-tier files (their own namespaces and zfs-fuse daemons, at a lower CPU priority) beside
# the vm-tier files (one lab, booted by the e2e project's global setup). The ns run's report
# follows the vm run's; the exit code is the worst of the three.
set -u
cd "$(dirname "$0")/.."
npx vitest run --project unit; unit=$?
ns_log=$(mktemp)
shown=0
show_ns() { # the ns run's report, once, however this script ends (a CI timeout included)
  [ "$shown" = 1 ] && return
  shown=1
  echo
  echo "── e2e-ns (ran beside the vm-tier files) ──"
  cat "$ns_log"
  rm -f "$ns_log"
}
trap show_ns EXIT
nice -n 10 npx vitest run --project e2e-ns >"$ns_log" 2>&1 &
ns_pid=$!
npx vitest run --project e2e; vm=$?
wait "$ns_pid"; ns=$?
show_ns
echo "test: unit exit $unit, e2e-ns exit $ns, e2e exit $vm"
worst=$unit
[ "$ns" -gt "$worst" ] && worst=$ns
[ "$vm" -gt "$worst" ] && worst=$vm
exit "$worst"
