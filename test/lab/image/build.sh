#!/usr/bin/env bash
# Builds (or reuses) the vm-tier guest image: Debian 12 with OpenZFS (2.3 from
# bookworm-backports with its 6.12 kernel, or 2.1 from plain bookworm), kernel WireGuard,
# OpenSSH, wireguard-tools and bpftrace. DKMS compiles zfs.ko inside the chroot.
#
#   build.sh [--zfs 2.3|2.1] [--print-dir]
#
# Output: $BACKPLANE_LAB_CACHE/images/<key>/{vmlinuz,initrd.img,root.img,manifest.txt}
# The key hashes this script, the guest files and the apt sources, so a second run (or CI
# on a machine that built it before) reuses the image. manifest.txt records the package
# versions that went in.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
zfs=2.3
print_dir=0
while [ $# -gt 0 ]; do
  case "$1" in
    --zfs) zfs=$2; shift 2 ;;
    --print-dir) print_dir=1; shift ;;
    *) echo "build.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
case "$zfs" in 2.3|2.1) ;; *) echo "build.sh: --zfs must be 2.3 or 2.1" >&2; exit 2 ;; esac

cache=${BACKPLANE_LAB_CACHE:-/var/cache/backplane-lab}
sources=$(bash "$here/apt-sources.sh")
main_uri=$(awk '$1=="main"{print $2}' <<<"$sources")
security_uri=$(awk '$1=="security"{print $2}' <<<"$sources")

key=$( { echo "zfs=$zfs"; echo "$sources"; cat "$here/build.sh" "$here"/guest/*; } | sha256sum | cut -c1-16)
out="$cache/images/zfs$zfs-$key"
if [ "$print_dir" = 1 ]; then echo "$out"; exit 0; fi
if [ -f "$out/manifest.txt" ] && [ -f "$out/root.img" ]; then
  echo "image: reusing $out"
  exit 0
fi

start=$(date +%s)
phase() { printf '[image %4ss] %s\n' "$(( $(date +%s) - start ))" "$*"; }

need=()
for c in mmdebstrap mkfs.ext4 qemu-system-x86_64; do command -v "$c" >/dev/null || need+=("$c"); done
if [ ${#need[@]} -gt 0 ]; then
  echo "build.sh: missing ${need[*]}; run test/lab/install-deps.sh first" >&2; exit 1
fi

work=$(mktemp -d "$cache/build.XXXXXX" 2>/dev/null || { mkdir -p "$cache"; mktemp -d "$cache/build.XXXXXX"; })
trap 'umount -R "$work/rootfs/proc" "$work/rootfs/sys" "$work/rootfs/dev" 2>/dev/null || true; rm -rf "$work"' EXIT
rootfs="$work/rootfs"

lists=(
  "deb $main_uri bookworm main contrib"
  "deb $main_uri bookworm-updates main contrib"
)
[ -n "$security_uri" ] && lists+=("deb $security_uri bookworm-security main contrib")
pin_hook=true
if [ "$zfs" = 2.3 ]; then
  lists+=("deb $main_uri bookworm-backports main contrib")
  # Without the pin apt mixes 2.1 libraries with 2.3 tools and fails (LAB.md).
  pin_hook='mkdir -p "$1/etc/apt/preferences.d" && printf "Package: zfs* libzfs* libzpool* libnvpair* libuutil* linux-image* linux-headers* linux-kbuild* dkms\nPin: release n=bookworm-backports\nPin-Priority: 990\n" > "$1/etc/apt/preferences.d/90-zfs-backports"'
fi

include=linux-image-amd64,linux-headers-amd64,zfs-dkms,zfsutils-linux,openssh-server,systemd-sysv,udev,kmod,iproute2,dbus,wireguard-tools,bpftrace,iputils-ping,procps,python3-minimal

phase "mmdebstrap bookworm (zfs $zfs) — downloads, unpacks and compiles zfs.ko with DKMS (≈10 min)"
mkdir -p "$rootfs"
mmdebstrap --mode=root --variant=apt --components=main,contrib \
  --include="$include" \
  --setup-hook="$pin_hook" \
  --customize-hook='chroot "$1" dpkg-query -W -f="\${Package} \${Version}\n" > "$1/.manifest"' \
  bookworm "$rootfs" "${lists[@]}" > "$work/mmdebstrap.log" 2>&1 &
mm=$!
# Progress: show the last meaningful line of the log every 30 s while it runs.
while kill -0 "$mm" 2>/dev/null; do
  sleep 30
  last=$(grep -E '^(I:|Setting up|Building module|DKMS|Unpacking)' "$work/mmdebstrap.log" | tail -n 1 || true)
  phase "… ${last:0:100}"
done
if ! wait "$mm"; then
  tail -n 40 "$work/mmdebstrap.log" >&2
  echo "build.sh: mmdebstrap failed; full log above ($work/mmdebstrap.log)" >&2
  exit 1
fi

phase "checking zfs.ko and kernel"
kver=$(ls "$rootfs/lib/modules" | sort -V | tail -n 1)
if ! find "$rootfs/lib/modules/$kver" -name 'zfs.ko*' | grep -q .; then
  echo "build.sh: zfs.ko was not built for $kver" >&2; tail -n 60 "$work/mmdebstrap.log" >&2; exit 1
fi

phase "configuring guest ($kver)"
echo "/dev/vda / ext4 defaults,noatime 0 1" > "$rootfs/etc/fstab"
echo "lab" > "$rootfs/etc/hostname"
install -m 0755 "$here/guest/backplane-lab-init" "$rootfs/usr/local/sbin/backplane-lab-init"
install -m 0644 "$here/guest/backplane-lab-init.service" "$rootfs/etc/systemd/system/backplane-lab-init.service"
install -d "$rootfs/etc/ssh/sshd_config.d"
install -m 0644 "$here/guest/sshd-lab.conf" "$rootfs/etc/ssh/sshd_config.d/10-lab.conf"
printf 'zfs\nwireguard\nqemu_fw_cfg\n' > "$rootfs/etc/modules-load.d/backplane-lab.conf"
rm -f "$rootfs"/etc/ssh/ssh_host_*
chroot "$rootfs" systemctl enable backplane-lab-init.service systemd-networkd.service ssh.service >/dev/null 2>&1
chroot "$rootfs" systemctl mask apt-daily.timer apt-daily-upgrade.timer systemd-networkd-wait-online.service \
  e2scrub_all.timer e2scrub_reap.service fstrim.timer man-db.timer >/dev/null 2>&1 || true
# The guest never resolves names; keep resolv.conf empty rather than pointing anywhere.
: > "$rootfs/etc/resolv.conf"
# Debian's root .bashrc is fine; the guest has no pyenv. Nothing else to trim.
rm -rf "$rootfs/var/cache/apt/archives"/*.deb "$rootfs/var/lib/apt/lists"/* 2>/dev/null || true
# Keep the compiler out of the image's size concerns but leave DKMS sources: harmless.

mkdir -p "$work/out"
cp "$rootfs/boot/vmlinuz-$kver" "$work/out/vmlinuz"
cp "$rootfs/boot/initrd.img-$kver" "$work/out/initrd.img"
{
  echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ) zfs=$zfs kernel=$kver"
  cat "$rootfs/.manifest"
} > "$work/out/manifest.txt"
rm -f "$rootfs/.manifest"

phase "making root.img (ext4, 3 GiB sparse)"
for m in proc sys dev; do umount -R "$rootfs/$m" 2>/dev/null || true; done
truncate -s 3G "$work/out/root.img"
mkfs.ext4 -q -F -L bp-root -d "$rootfs" "$work/out/root.img"

mkdir -p "$cache/images"
rm -rf "$out"
mv "$work/out" "$out"
phase "image ready: $out ($(du -sh "$out" | cut -f1) on disk)"
grep -E '^(zfsutils-linux|linux-image-[0-9]|wireguard-tools|openssh-server|bpftrace) ' "$out/manifest.txt" | sed 's/^/  /'
