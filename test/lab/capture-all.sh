#!/usr/bin/env bash
# Recaptures every refresh fixture from a running vm-tier lab (prod, dr), in the scenarios
# the planner's unit tests use. Destroys all pools and wg0 on prod and dr first. Then run
# test/lab/capture-wg.sh (WireGuard fixtures) and test/lab/capture-ns.ts (the old host).
#   bash test/lab/capture-all.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
lab=${BACKPLANE_LAB_DIR:-/var/tmp/backplane-lab}
on() { ssh -F "$lab/ssh_config" "$@"; }
capture() { npx tsx test/lab/capture-refresh.ts "$1" "$2"; }
for h in prod dr; do
  on "$h" 'for p in $(zpool list -H -o name); do zpool destroy -f "$p"; done; for d in /dev/vdb /dev/vdc; do zpool labelclear -f "$d" 2>/dev/null; wipefs -qa "$d"; done; true'
  # and no WireGuard left from an earlier capture or test: "empty" means empty
  on "$h" 'ip link del wg0 2>/dev/null; rm -f /etc/wireguard/wg0.*; systemctl disable wg-quick@wg0 2>/dev/null; true'
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
# Ownership: snapshots and clones this stack marked, one made by hand, one of another stack, a
# recursive snapshot, a clone with a hand-made child, a user property the code does not name.
lineage=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["lineage"])' test/fixtures/refresh/zfs-2.3-prod-seed.state.json)
next=$(( $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["serial"])' test/fixtures/refresh/zfs-2.3-prod-seed.state.json) + 1 ))
# (and the safety snapshot an interrupted removal of ci-workspace at the next serial left behind)
on prod "set -e
zfs snapshot -r tank/srv/ci-workspace@backplane-pre-$next
zfs snapshot -o backplane:managed=$lineage tank/srv/uploads@ours
zfs snapshot tank/srv/uploads@handmade
zfs snapshot -o backplane:managed=00000000-0000-4000-8000-0000000000aa tank/srv/logs@foreign
zfs snapshot -r -o backplane:managed=$lineage tank/srv@rec
zfs clone -o backplane:managed=$lineage tank/srv/uploads@ours tank/srv/staging
zfs create tank/srv/staging/handmade
zfs clone -o backplane:managed=$lineage tank/srv/uploads@ours tank/srv/preview
zfs set acme:owner=ops tank/srv/logs"
capture prod zfs-2.3-prod-ownership
on prod "set -e
zfs destroy -r tank/srv/staging
zfs destroy tank/srv/preview
zfs destroy -r tank/srv@rec
for s in tank/srv/uploads@ours tank/srv/uploads@handmade tank/srv/logs@foreign; do zfs destroy \$s; done
zfs inherit acme:owner tank/srv/logs
zfs destroy -r tank/srv/ci-workspace@backplane-pre-$next"
on dr 'zpool create -O mountpoint=/many many /dev/disk/by-id/virtio-bp-disk1 && for i in $(seq 1 200); do echo "many/ds$i"; done | xargs -n 50 sh -c '"'"'for d; do zfs create "$d"; done'"'"' _'
capture dr zfs-2.3-200-datasets
on dr 'zpool destroy many'
# A pool this stack made whose root holds nothing but a snapshot made by hand (not empty).
on dr "zpool create -O backplane:managed=$lineage solo /dev/disk/by-id/virtio-bp-disk1 && zfs snapshot solo@handmade"
capture dr zfs-2.3-dr-root-snapshot
on dr 'zpool destroy solo'
