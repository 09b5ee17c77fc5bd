/**
 * Captures the timers fact (provider/systemd/timers.ts) from a lab host in each state the
 * parser and the drift rules must know: as installed, disabled, last run failed, overridden
 * by a drop-in, script edited. Needs a host with one snapshot policy applied (any dataset);
 * restores it between cases. Usage: npx tsx test/lab/capture-timers.mts <host>
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";

import { timerFacts } from "../../provider/systemd/timers.js";
import { sh, transport, ROOT } from "../e2e/helpers.js";

const host = process.argv[2] ?? "prod";
const t = transport(host);
const read = async () => {
  const r = await t.run(timerFacts.command);
  if (r.exitCode !== 0) throw new Error(r.stderr);
  return r.stdout;
};
const unit = (await sh(host, "ls /etc/systemd/system | sed -n 's/^\\(backplane-snapshot-[0-9a-f]*\\)\\.timer$/\\1/p' | head -1")).trim();
if (!unit) throw new Error(`${host} has no backplane snapshot timer: apply a policy first`);
const dataset = (await sh(host, `sed -n "s/^set -- '\\{0,1\\}\\([^' ]*\\).*/\\1/p" /etc/backplane/timers/${unit}.sh`)).trim();
const save = async (name: string, text: string) => {
  await writeFile(join(ROOT, "test", "fixtures", "timers", `${name}.txt`), text);
  console.log(`${name}: ${text.split("\n").length} lines`);
};
await save("installed", await read());
await sh(host, `systemctl disable --now ${unit}.timer`);
await save("disabled", await read());
await sh(host, `systemctl enable --now ${unit}.timer`);
await sh(host, `zfs rename ${dataset} ${dataset}-away && (systemctl start ${unit}.service || true) && zfs rename ${dataset}-away ${dataset}`);
await save("failed", await read());
await sh(host, `systemctl reset-failed ${unit}.service; mkdir -p /etc/systemd/system/${unit}.timer.d && printf '[Timer]\\nOnCalendar=\\nOnCalendar=daily\\n' > /etc/systemd/system/${unit}.timer.d/override.conf && systemctl daemon-reload`);
await save("drop-in", await read());
await sh(host, `rm -rf /etc/systemd/system/${unit}.timer.d && systemctl daemon-reload && cp /etc/backplane/timers/${unit}.sh /tmp/keep.sh && echo '# edited' >> /etc/backplane/timers/${unit}.sh`);
await save("edited", await read());
await sh(host, `mv /tmp/keep.sh /etc/backplane/timers/${unit}.sh`);

process.exit(0);
