/** Synthesizes a stack in-process (as `backplane synth` would) and returns cdk.tf.json. */
import { App, TerraformStack } from "cdktf";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Host, type HostProps } from "../../../constructs/index.js";

// A real ed25519 public key line, generated with ssh-keygen -t ed25519 for these fixtures.
export const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAFcmkXaJQP9UeFWhIybVTNxpBbWmuCdLI0Hs4SDRawg";

export function hostProps(over: Partial<HostProps> = {}): HostProps {
  return { address: "127.0.0.1", port: 22221, hostKey: HOST_KEY, ...over };
}

export function synth(build: (stack: TerraformStack) => void): Record<string, any> {
  const outdir = mkdtempSync(join(tmpdir(), "bp-synth-"));
  try {
    const app = new App({ outdir });
    const stack = new TerraformStack(app, "test");
    build(stack);
    app.synth();
    return JSON.parse(readFileSync(join(outdir, "stacks", "test", "cdk.tf.json"), "utf8"));
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

export function withHost(build: (host: Host, stack: TerraformStack) => void): Record<string, any> {
  return synth((stack) => build(new Host(stack, "prod", hostProps()), stack));
}
