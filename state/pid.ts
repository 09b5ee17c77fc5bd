/** Whether a process exists on this machine: what makes a lock or a temporary file stale. */

/**
 * True when a process with this pid exists here (EPERM: it exists, owned by another user).
 * Only positive integers are asked: kill(0) and kill(-1) would signal process groups.
 */
export function pidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
