#!/usr/bin/env bash
# npm test's test phase, in this order:
#   1. the unit tests;
#   2. the ns-tier files (their own namespaces and zfs-fuse daemons): on a fresh machine they
#      run while .ci/run still builds the guest image in the background, which the vm tier
#      waits for anyway;
#   3. the vm-tier files on the main lab (booted once by the e2e project's global setup) and,
#      beside them, the files that need only prod and dr (e2e-side: the timer tests, ≈14 min
#      alone, most of it waiting for the timers' minute ticks; replication; restore; ownership) on a second
#      lab of two guests, booted once the main one is up.
# Why not everything at once: the CI of 2026-11-27 ran the ns files beside the vm files and took
# 3,790 s for the tests where the one before, ns files first, took 2,699 s in all; TCG guests slow down more than in
# proportion when the two cores are shared, and the crash matrix went past its timeout.
# The side run's report follows the vm run's, then the recap of every failure, so the tail of a
# CI log names what failed. The exit code is the worst of the four. --e2e: the e2e runs only.
set -u
cd "$(dirname "$0")/.."
# The CLI the tests start: the built dist/ (what the package runs: ≈0.5 s a start where the
# sources through tsx take ≈2 s, and the tests start it hundreds of times) when it is newer than
# every file bundled into it (provider/, state/, the dependencies) and the build's settings, as
# after `npm test`'s build; otherwise the sources (bin/backplane.mjs).
if [ -f dist/cli.mjs ] && [ -z "$(find provider state package-lock.json tsconfig.json tsconfig.build.json \( -name '*.ts' -o -name '*.json' \) -newer dist/cli.mjs -print -quit)" ]; then
  export BACKPLANE_RUN_DIST=1
else
  echo "test/run.sh: dist/ is missing or older than its sources: the tests run the CLI from its sources (npm run build makes it)"
fi
unit_log=$(mktemp)
ns_log=$(mktemp)
vm_log=$(mktemp)
side_log=$(mktemp)
logs=("$unit_log" "$ns_log" "$vm_log" "$side_log")
trap 'rm -f "${logs[@]}"' EXIT
unit=0
skipped=
if [ "${1:-}" = --e2e ]; then
  skipped="not run (--e2e)"
else
  npx vitest run --project unit 2>&1 | tee "$unit_log"; unit=${PIPESTATUS[0]}
fi
# nice 10: below the image build (.ci/run, nice 5), which is what the vm tier will wait for
nice -n 10 npx vitest run --project e2e-ns 2>&1 | tee "$ns_log"; ns=${PIPESTATUS[0]}
shown=0
show_side() { # the side run's report, once, however this script ends (a CI timeout included)
  [ "$shown" = 1 ] && return
  shown=1
  echo
  echo "── e2e-side (ran beside the other vm-tier files, on a lab of its own) ──"
  cat "$side_log"
}
side_pid=
stop_side() { # a run cut short (a CI timeout) takes its side run and that run's guests' vitest with it
  [ -n "$side_pid" ] && kill -TERM -- "-$side_pid" 2>/dev/null
  side_pid=
}
trap 'stop_side; show_side; rm -f "${logs[@]}" "$vm_log.done"' EXIT
# the second vm lab: its own folder, network namespace and ports (test/lab/vm.ts), torn down at
# its end. It boots once the main lab is up (five TCG guests booting at once on two cores took
# 342 s where three take ≈100 s), and not at all when the main run ended without one (its image
# or boot failed: the same would fail here). The main lab's own overrides are not passed on.
main_lab=${BACKPLANE_LAB_DIR:-/var/tmp/backplane-lab}/hosts.json
rm -f "$vm_log.done"
setsid bash -c '
  while [ ! -f "$1" ]; do [ -f "$2" ] && { echo "e2e-side: not started, the main vm run ended without a lab"; exit 1; }; sleep 5; done
  exec env -u BACKPLANE_LAB_HOSTS -u BACKPLANE_INVENTORY \
    BACKPLANE_LAB_DIR=/var/tmp/backplane-lab-side BACKPLANE_LAB_NETNS=bplab-side BACKPLANE_LAB_PORT_BASE=22240 BACKPLANE_LAB_VM_HOSTS=2 \
    timeout 3600 npx vitest run --project e2e-side' sh "$main_lab" "$vm_log.done" >"$side_log" 2>&1 &
side_pid=$!
npx vitest run --project e2e 2>&1 | tee "$vm_log"; vm=${PIPESTATUS[0]}
touch "$vm_log.done"
wait "$side_pid"; side=$?
side_pid=
show_side
recap() { # name log: vitest's own "Failed Tests"/"Unhandled Errors" sections (names, errors, source lines), colours off
  sed 's/\x1b\[[0-9;]*m//g' "$2" | awk -v name="$1" '
    /⎯+ (Failed (Tests|Suites) [0-9]+|Unhandled Errors?) ⎯+/ { on = 1 }
    /^ *Test Files / { on = 0 }
    on { if (!printed) { print ""; print "── failures in " name " ──"; printed = 1 }; print }'
}
recap unit "$unit_log"
recap e2e-ns "$ns_log"
recap e2e-side "$side_log"
recap e2e "$vm_log"
echo "test: unit ${skipped:-exit $unit}, e2e-ns exit $ns, e2e-side exit $side, e2e exit $vm"
worst=$unit
for x in "$ns" "$side" "$vm"; do [ "$x" -gt "$worst" ] && worst=$x; done
exit "$worst"
