/**
 * A pinned SSH host key, parsed the way OpenSSH reads a known_hosts key: the type label,
 * canonical base64, and inside the blob its own type string (which must be the label), the
 * key material with the right length for the type, and nothing after it. A truncated key,
 * a blob of another type under a trusted label, or trailing bytes are refused — the key is
 * what decides whether backplane talks to the right machine.
 */
import { echo } from "../model/echo.js";

export interface HostKey {
  type: string;
  base64: string;
}

const ECDSA: Record<string, { curve: string; point: number }> = {
  "ecdsa-sha2-nistp256": { curve: "nistp256", point: 65 },
  "ecdsa-sha2-nistp384": { curve: "nistp384", point: 97 },
  "ecdsa-sha2-nistp521": { curve: "nistp521", point: 133 },
};
export const HOST_KEY_TYPES = ["ssh-ed25519", "ssh-rsa", ...Object.keys(ECDSA)];

class Reader {
  private at = 0;
  constructor(private readonly buf: Uint8Array) {}
  bytes(what: string): Uint8Array {
    if (this.at + 4 > this.buf.length) throw new Error(`the key blob is truncated before ${what}`);
    const n = ((this.buf[this.at]! << 24) | (this.buf[this.at + 1]! << 16) | (this.buf[this.at + 2]! << 8) | this.buf[this.at + 3]!) >>> 0;
    this.at += 4;
    if (this.at + n > this.buf.length) throw new Error(`the key blob is truncated inside ${what} (needs ${n} bytes, has ${this.buf.length - this.at})`);
    const out = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
  text(what: string): string {
    return new TextDecoder().decode(this.bytes(what));
  }
  end(): void {
    if (this.at !== this.buf.length) throw new Error(`the key blob has ${this.buf.length - this.at} bytes after the key`);
  }
}

function bits(mpint: Uint8Array): number {
  let i = 0;
  while (i < mpint.length && mpint[i] === 0) i++;
  if (i === mpint.length) return 0;
  return (mpint.length - i - 1) * 8 + (32 - Math.clz32(mpint[i]!));
}

function blobProblem(type: string, blob: Uint8Array): string | null {
  const r = new Reader(blob);
  const inner = r.text("its type");
  if (inner !== type) return `the key is labelled ${type} but its blob is a ${echo(inner, 40)} key`;
  if (type === "ssh-ed25519") {
    const k = r.bytes("the ed25519 key");
    if (k.length !== 32) return `an ssh-ed25519 key is 32 bytes; this one is ${k.length}`;
  } else if (type === "ssh-rsa") {
    const e = r.bytes("the RSA exponent");
    const n = r.bytes("the RSA modulus");
    if (bits(e) < 2 || (e[e.length - 1]! & 1) === 0) return "the RSA exponent is not an odd number above 1";
    if (bits(n) < 1024) return `the RSA modulus has ${bits(n)} bits; OpenSSH refuses fewer than 1024`;
  } else {
    const spec = ECDSA[type]!;
    const curve = r.text("the curve name");
    if (curve !== spec.curve) return `the key is labelled ${type} but names the curve ${echo(curve, 40)}`;
    const q = r.bytes("the EC point");
    if (q.length !== spec.point || q[0] !== 4) return `a ${type} key is an uncompressed point of ${spec.point} bytes; this one is ${q.length}`;
  }
  r.end();
  return null;
}

/** '<type> <base64>[ comment]' → the key, or the reason it is not one. */
export function parseHostKey(line: string): HostKey | string {
  const cc = /[\p{Cc}]/u.exec(line);
  if (cc) return `contains a control character (U+${cc[0].codePointAt(0)!.toString(16).padStart(4, "0").toUpperCase()}); a host key is one line`;
  const m = /^(\S+) (\S+)(?: [^\s].*)?$/.exec(line);
  if (!m) return "must be an OpenSSH public key line: '<type> <base64>' (ssh-ed25519, ssh-rsa or ecdsa-sha2-*)";
  const [, type, b64] = m as unknown as [string, string, string];
  if (!HOST_KEY_TYPES.includes(type)) return `key type '${echo(type, 40)}' is not one of ${HOST_KEY_TYPES.join(", ")}`;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) return "the key is not canonical base64";
  const blob = Buffer.from(b64, "base64");
  if (blob.toString("base64") !== b64) return "the key is not canonical base64";
  try {
    const p = blobProblem(type, blob);
    return p ?? { type, base64: b64 };
  } catch (e) {
    return (e as Error).message;
  }
}

export function hostKeyProblem(line: string): string | null {
  const k = parseHostKey(line);
  return typeof k === "string" ? k : null;
}

/**
 * The key a known_hosts text holds for `name` (a line whose host field lists `name` or
 * `[name]:port`, compared ignoring case as ssh does), as "<type> <base64>"; null when there is
 * none; a reason (string in `problem`) when the file is not one backplane can take a key from:
 * two different keys for the name, or the key marked @revoked. Lines are what ssh writes with
 * HashKnownHosts=no; hashed names, comments, @cert-authority lines and keys that do not parse
 * are never taken as the host's key.
 */
export function learnedHostKey(text: string, name: string): string | null {
  const r = learnedHostKeyOf(text, name);
  return "key" in r ? r.key : null;
}

export function learnedHostKeyOf(text: string, name: string): { key: string } | { none: true } | { problem: string } {
  const want = name.toLowerCase();
  const keys = new Set<string>();
  const revoked = new Set<string>();
  for (const raw of text.split("\n")) {
    const fields = raw.trim().split(/\s+/);
    const marker = fields[0]?.startsWith("@") ? fields.shift() : undefined;
    const [hosts, type, b64] = fields;
    if (!hosts || !type || !b64 || hosts.startsWith("#")) continue;
    const names = hosts.toLowerCase().split(",").map((h) => h.replace(/^\[(.*)\]:\d+$/, "$1"));
    if (!names.includes(want) && marker !== "@revoked") continue;
    const k = parseHostKey(`${type} ${b64}`);
    if (typeof k === "string") continue;
    const key = `${k.type} ${k.base64}`;
    if (marker === "@revoked") revoked.add(key);
    else if (marker === undefined) keys.add(key);
  }
  const usable = [...keys];
  if (usable.some((k) => revoked.has(k))) return { problem: `the key recorded for ${name} is marked @revoked` };
  if (usable.length > 1) return { problem: `${usable.length} different keys are recorded for ${name}; keep one line for it` };
  return usable.length === 1 ? { key: usable[0]! } : { none: true };
}
