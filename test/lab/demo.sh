#!/usr/bin/env bash
# The demo: on a fresh Debian 12 machine, install what is missing, build (or reuse) the
# vm-tier image, start the lab's hosts prod and dr, then synthesize the seed stack, plan it,
# apply it, plan again (no changes) and show the result live on the hosts.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
lab_dir=${BACKPLANE_LAB_DIR:-/var/tmp/backplane-lab}
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "1/8 installing what is missing (Debian packages for the lab, npm packages)"
if ! command -v node >/dev/null; then apt-get -o DPkg::Lock::Timeout=600 update -q && apt-get -o DPkg::Lock::Timeout=600 install -y -q nodejs npm; fi
bash test/lab/install-deps.sh
[ -d node_modules/cdktf ] || npm ci --no-audit --no-fund
[ -d constructs/gen ] || npm run -s build:schema

say "2/8 starting a clean lab: two qemu guests with OpenZFS 2.3 and WireGuard (the image is built once, ≈6-13 min)"
if [ "${DEMO_REUSE_LAB:-0}" != 1 ]; then npx tsx test/lab/cli.ts down >/dev/null 2>&1 || true; rm -f examples/seed/terraform.seed.tfstate*; fi
npx tsx test/lab/cli.ts up --hosts 2
npx tsx test/lab/cli.ts status

bp() { (cd examples/seed && "$root/bin/backplane.mjs" "$@"); }

say "3/8 synthesizing examples/seed (TypeScript constructs -> cdktf.out/stacks/*/cdk.tf.json)"
bp synth

say "4/8 backplane plan --stack seed"
bp plan --stack seed --no-synth

say "5/8 backplane apply --stack seed"
bp apply --stack seed --no-synth --auto-approve

say "6/8 backplane plan again: nothing left to do"
bp plan --stack seed --no-synth --detailed-exitcode

say "7/8 the result, live on the hosts"
ssh -F "$lab_dir/ssh_config" prod 'zfs get -o name,property,value,source recordsize,compression,quota,atime,sync,logbias -r tank/srv | grep -v default'
ssh -F "$lab_dir/ssh_config" dr 'zpool list backup; zfs get -o name,property,value,source readonly backup/prod'

say "8/8 backplane probe: is the back plane healthy? (pools, space, I/O latency per dataset by bpftrace)"
rc=0; bp probe --stack seed --no-synth || rc=$?
[ "$rc" -le 2 ] || exit "$rc"

cat <<MSG

Done. Explore further:
  ssh -F $lab_dir/ssh_config prod             # a shell on the prod host (dr likewise)
  ssh -F $lab_dir/ssh_config prod zfs set compression=gzip tank/srv/logs
  (cd examples/seed && $root/bin/backplane.mjs drift --stack seed)   # exit 2, names the drift
  (cd examples/seed && $root/bin/backplane.mjs apply --stack seed)   # repairs it
  (cd examples/seed && $root/bin/backplane.mjs apply --stack seed-dr) # + WireGuard mesh, replication to dr, their probes
  (cd examples/seed && $root/bin/backplane.mjs probe --stack seed-dr --format prometheus)
  (cd examples/seed && $root/bin/backplane.mjs facts --stack seed)   # what each host is and can do
  docs/resources.md                                         # every resource and attribute
Stop the lab:
  npm run lab -- down
MSG
