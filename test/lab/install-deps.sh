#!/usr/bin/env bash
# Installs what the lab needs on a Debian 12 machine; does nothing for what is there already.
set -euo pipefail
pkgs=(qemu-system-x86 qemu-utils mmdebstrap e2fsprogs openssh-client python3 iproute2 procps)
missing=()
for p in "${pkgs[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "lab: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null
  apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
