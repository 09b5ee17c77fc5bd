#!/usr/bin/env bash
# Recaptures the WireGuard fixtures from a running 3-host vm-tier lab (prod, dr, h3): a full
# mesh with preshared keys (test/lab/wg-mesh-stack), then one end's key removed, then the
# two ends of a pair holding different keys. Replaces any wg0 on those hosts.
#   bash test/lab/capture-wg.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
lab=${BACKPLANE_LAB_DIR:-/var/tmp/backplane-lab}
on() { ssh -F "$lab/ssh_config" "$@"; }
capture() { npx tsx test/lab/capture-refresh.ts "$1" "$2"; }
out=test/fixtures/wg-mesh
for h in prod dr h3; do on "$h" 'ip link del wg0 2>/dev/null; rm -f /etc/wireguard/wg0.*; systemctl disable wg-quick@wg0 2>/dev/null; true'; done
(cd test/lab/wg-mesh-stack && rm -f terraform.tfstate* && ../../../bin/backplane.mjs apply --auto-approve >/dev/null)
for h in prod dr h3; do capture "$h" "zfs-2.3-$h-wg-psk-mesh"; done
mkdir -p "$out"
cp test/lab/wg-mesh-stack/terraform.tfstate "$out/psk-mesh.state.json"
cp test/lab/wg-mesh-stack/cdktf.out/stacks/mesh/cdk.tf.json "$out/psk-mesh.cdk.tf.json"
dr=$(on dr wg show wg0 public-key)
on prod "wg set wg0 peer $dr preshared-key /dev/null"
capture prod zfs-2.3-prod-wg-psk-missing
on prod "umask 077; wg genpsk > /tmp/other.psk && wg set wg0 peer $dr preshared-key /tmp/other.psk && rm /tmp/other.psk"
capture prod zfs-2.3-prod-wg-psk-different
(cd test/lab/wg-mesh-stack && ../../../bin/backplane.mjs apply --auto-approve >/dev/null)
