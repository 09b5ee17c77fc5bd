#!/usr/bin/env python3
"""Open a tap device that lives inside a lab network namespace, then exec qemu with it.

    tapfd.py NETNS TAPNAME -- qemu-system-x86_64 ... -netdev tap,id=lab,fd={TAPFD} ...

Why: qemu must run in the root namespace (its user-mode port forward for SSH has to listen
on the root namespace's 127.0.0.1), while the guest-to-guest bridge and taps must live
inside the namespace the lab made. So: enter the namespace, open /dev/net/tun with
TUNSETIFF for the tap, return, and hand the open fd to qemu.
"""
import ctypes, fcntl, os, struct, sys

CLONE_NEWNET = 0x40000000
TUNSETIFF = 0x400454CA
IFF_TAP, IFF_NO_PI, IFF_VNET_HDR = 0x0002, 0x1000, 0x4000

def main() -> None:
    if len(sys.argv) < 5 or sys.argv[3] != "--":
        sys.exit("usage: tapfd.py NETNS TAPNAME -- qemu ... fd={TAPFD} ...")
    netns, tap, argv = sys.argv[1], sys.argv[2], sys.argv[4:]
    libc = ctypes.CDLL(None, use_errno=True)
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{netns}", os.O_RDONLY)
    if libc.setns(target, CLONE_NEWNET) != 0:
        sys.exit(f"tapfd: setns({netns}) failed: {os.strerror(ctypes.get_errno())}")
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", tap.encode(), IFF_TAP | IFF_NO_PI | IFF_VNET_HDR))
    if libc.setns(home, CLONE_NEWNET) != 0:
        sys.exit(f"tapfd: returning to the root namespace failed: {os.strerror(ctypes.get_errno())}")
    os.close(home); os.close(target)
    os.set_inheritable(fd, True)
    os.execvp(argv[0], [a.replace("{TAPFD}", str(fd)) for a in argv])

main()
