#!/usr/bin/env bash
# Installs what the lab needs on a Debian 12 machine; does nothing for what is there already.
set -euo pipefail
pkgs=(qemu-system-x86 qemu-utils mmdebstrap e2fsprogs openssh-client python3 iproute2 procps)
extra=()
# --ns: the light tier's hosts (zfs-fuse, sshd, wireguard-go) and the socat that reaches them;
# without recommends, wireguard-tools would pull in a kernel and systemd (LAB.md)
if [ "${1:-}" = "--ns" ]; then
  pkgs=(zfs-fuse openssh-server openssh-client wireguard-tools wireguard-go iproute2 socat util-linux iputils-ping)
  extra=(--no-install-recommends)
fi
# --tools: the real servers and checkers the tests use beside the lab: Prometheus (a real
# server scrapes `backplane probe --listen`; promtool checks the exposition format) and
# PostgreSQL (the shared state backend; tests start their own clusters in temporary
# directories: test/lab/pg.ts)
if [ "${1:-}" = "--tools" ]; then
  pkgs=(prometheus postgresql)
  extra=(--no-install-recommends)
fi
# --bench: the peers the benchmarks compare with (bench/), from Debian's packages: Ansible with
# community.general.zfs, syncoid (sanoid) and GNU time for the controller's CPU
if [ "${1:-}" = "--bench" ]; then
  pkgs=(ansible sanoid time)
  extra=(--no-install-recommends)
fi
missing=()
for p in "${pkgs[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "lab: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Packages such as openssh-server would start their daemon on this machine: the lab runs
  # its own, inside its namespaces, so service starts are refused while installing.
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; trap 'rm -f "$policy"' EXIT; fi
  apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null
  apt-get -o DPkg::Lock::Timeout=600 install -y -q "${extra[@]}" "${missing[@]}" >/dev/null
fi
