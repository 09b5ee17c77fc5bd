/**
 * The takeover claim, `<lock file>.takeover`: one process at a time replaces or removes a lock
 * it did not take (lock-file.ts). Taking it is exclusive (created only where none exists).
 *
 * A claim is held for milliseconds, so one older than CLAIM_STALE_MS is taken for a killed
 * taker's and cleared. But its taker may only have been stopped (SIGSTOP, a suspended laptop)
 * and go on later, believing it still holds the claim. So each claim holds a token of its own,
 * and a taker reads the claim file again just before it acts (`stillOurs`): a taker whose claim
 * was cleared meanwhile acts on nothing. Clearing and releasing a claim are compare-and-remove
 * (exclusive-file.ts): nobody removes a claim other than the one they judged.
 */
import { randomUUID } from "node:crypto";
import { createExclusive, readSeen, removeIfSame, sameFile, type FileSeen } from "./exclusive-file.js";

/**
 * A takeover holds the claim for the milliseconds it takes to check and replace the lock;
 * a claim older than this was left by a process killed in between, and is cleared.
 */
export const CLAIM_STALE_MS = 30_000;

/** Someone else's claim, as found: the evidence for a message. */
export interface ClaimFound {
  claimFile: string;
  ageMs: number;
  /** who wrote it, when it says (a claim of an older backplane is empty) */
  holder?: { pid: number; hostname: string };
}

interface ClaimContent {
  token: string;
  pid: number;
  hostname: string;
  created: string;
}

function contentOf(raw: string): Partial<ClaimContent> {
  try {
    const v = JSON.parse(raw) as unknown;
    return typeof v === "object" && v !== null ? (v as Partial<ClaimContent>) : {};
  } catch {
    return {};
  }
}

/** A claim this process holds. */
export class HeldClaim {
  constructor(readonly path: string, readonly token: string, private readonly pid: number) {}

  /** Whether the claim file still is ours: false once another process cleared it as stale. */
  async stillOurs(): Promise<boolean> {
    const seen = await readSeen(this.path);
    return seen !== null && contentOf(seen.raw).token === this.token;
  }

  /** Removes the claim if it still is ours: one cleared as stale may now be another taker's. */
  async release(): Promise<void> {
    // kept or displaced: it was another taker's; if it could not be put back, that taker's
    // stillOurs() says so and it acts on nothing
    await removeIfSame(this.path, (seen) => contentOf(seen.raw).token === this.token, this.pid);
  }
}

export class TakeoverClaim {
  constructor(
    readonly path: string,
    private readonly who: { pid: number; hostname: string },
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Takes the claim, or says whose it is. A claim older than CLAIM_STALE_MS is cleared first
   * (its taker was killed, or stopped: see the module comment), only if it still is the claim
   * judged — two processes clearing it at once must not clear the one the first then took.
   */
  async take(): Promise<{ held: HeldClaim } | { busy: ClaimFound }> {
    for (let attempt = 0; ; attempt++) {
      const token = randomUUID();
      const content: ClaimContent = { token, pid: this.who.pid, hostname: this.who.hostname, created: new Date(this.now()).toISOString() };
      if (await createExclusive(this.path, JSON.stringify(content), this.who.pid)) return { held: new HeldClaim(this.path, token, this.who.pid) };
      const seen = await readSeen(this.path);
      if (seen === null) {
        if (attempt < 2) continue; // released between our attempt and our reading
        return { busy: { claimFile: this.path, ageMs: 0 } };
      }
      const found = this.found(seen);
      if (found.ageMs < CLAIM_STALE_MS || attempt >= 2) return { busy: found };
      await removeIfSame(this.path, (now) => sameFile(now, seen), this.who.pid);
    }
  }

  private found(seen: FileSeen): ClaimFound {
    const c = contentOf(seen.raw);
    const holder = typeof c.pid === "number" && typeof c.hostname === "string" ? { pid: c.pid, hostname: c.hostname } : undefined;
    return { claimFile: this.path, ageMs: Math.max(0, this.now() - seen.mtimeMs), ...(holder ? { holder } : {}) };
  }
}
