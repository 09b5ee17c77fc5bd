#!/usr/bin/env bash
# Captures the replication fixtures from a running vm-tier lab (prod, dr): the refresh of both
# hosts with the replication sections in the states the planner's unit tests use — set up and
# in sync, behind (new writes on prod), diverged (a snapshot made by hand on dr), interrupted
# (a transfer cut mid-stream: dr holds a resume token) — plus the stack and its state.
# Destroys all pools and wg0 on prod and dr first.
#   bash test/lab/capture-replication.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
lab=${BACKPLANE_LAB_DIR:-/var/tmp/backplane-lab}
on() { ssh -F "$lab/ssh_config" "$@"; }
capture() { npx tsx test/lab/capture-refresh.ts "$1" "$2" --replication; }
fx=test/fixtures/refresh
for h in prod dr; do
  on "$h" 'for p in $(zpool list -H -o name); do zpool destroy -f "$p"; done; for d in /dev/vdb /dev/vdc; do zpool labelclear -f "$d" 2>/dev/null; wipefs -qa "$d"; done; ip link del wg0 2>/dev/null; rm -f /etc/wireguard/wg0.*; systemctl disable wg-quick@wg0 2>/dev/null; true'
done
on prod 'head -c 32 /dev/urandom > /root/bp-secret.key && chmod 600 /root/bp-secret.key'
dir=$(npx tsx test/lab/replication-project.mts replication-capture)
bp() { (cd "$dir" && "$OLDPWD/bin/backplane.mjs" "$@"); }
# never applied: no keys anywhere, no targets
capture prod zfs-2.3-prod-repl-none
bp apply --auto-approve >/dev/null
on prod 'dd if=/dev/urandom of=/tank/srv/uploads/a.bin bs=1M count=4 status=none; sync'
bp replicate --no-synth >/dev/null
capture prod zfs-2.3-prod-repl-synced
capture dr zfs-2.3-dr-repl-synced
cp "$dir/cdktf.out/stacks/replication-capture/cdk.tf.json" "$fx/zfs-2.3-repl.cdk.tf.json"
cp "$dir/terraform.tfstate" "$fx/zfs-2.3-repl.state.json"
on prod 'dd if=/dev/urandom of=/tank/srv/uploads/b.bin bs=1M count=2 status=none; sync; zfs snapshot tank/srv/uploads@handmade'
capture prod zfs-2.3-prod-repl-behind
on dr 'zfs snapshot backup/prod/postgres@handmade'
capture dr zfs-2.3-dr-repl-diverged
on dr 'zfs destroy backup/prod/postgres@handmade'
# an interrupted transfer: cut prod's replication ssh once it is sending
on prod 'dd if=/dev/urandom of=/tank/srv/uploads/c.bin bs=1M count=120 status=none; sync'
(bp replicate --no-synth >/dev/null 2>&1 || true) &
for _ in $(seq 1 120); do on prod 'pgrep -f "[s]sh -F /dev/null -i /etc/backplane/replication/" >/dev/null' && break; sleep 0.5; done
sleep 6
on prod 'pkill -f "[s]sh -F /dev/null -i /etc/backplane/replication/"' || true
wait
capture dr zfs-2.3-dr-repl-interrupted
bp apply --auto-approve --no-synth >/dev/null
echo "captured replication fixtures into $fx"
