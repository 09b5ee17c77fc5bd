#!/usr/bin/env bash
# Recaptures every refresh fixture from a running vm-tier lab (prod, dr), in the scenarios
# the planner's unit tests use. Destroys all pools on prod and dr first.
#   bash test/lab/capture-all.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
lab=${BACKPLANE_LAB_DIR:-/var/tmp/backplane-lab}
on() { ssh -F "$lab/ssh_config" "$@"; }
capture() { npx tsx test/lab/capture-refresh.ts "$1" "$2"; }
for h in prod dr; do
  on "$h" 'for p in $(zpool list -H -o name); do zpool destroy -f "$p"; done; for d in /dev/vdb /dev/vdc; do zpool labelclear -f "$d" 2>/dev/null; wipefs -qa "$d"; done; true'
done
npx tsx test/lab/capture-fixtures.ts prod zfs-2.3
capture prod zfs-2.3-prod-empty
(cd examples/seed && rm -f terraform.seed.tfstate* && ../../bin/backplane.mjs apply --stack seed --auto-approve >/dev/null)
capture prod zfs-2.3-prod-seed
capture dr zfs-2.3-dr-seed
cp examples/seed/terraform.seed.tfstate test/fixtures/refresh/zfs-2.3-prod-seed.state.json
on prod 'zfs set compression=gzip tank/srv/logs && zfs create tank/srv/handmade'
capture prod zfs-2.3-prod-seed-drifted
on prod 'zfs set compression=zstd-19 tank/srv/logs && zfs destroy tank/srv/handmade'
on dr 'zpool create -O mountpoint=/many many /dev/disk/by-id/virtio-bp-disk1 && for i in $(seq 1 200); do echo "many/ds$i"; done | xargs -n 50 sh -c '"'"'for d; do zfs create "$d"; done'"'"' _'
capture dr zfs-2.3-200-datasets
on dr 'zpool destroy many'
