/** `npm run lab -- up|down|status`: start, stop and show the lab's real hosts. */
import { Command } from "commander";
import { execa } from "execa";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { vmUp, labDown, labStatus } from "./vm.js";
import { nsUp } from "./ns.js";

const here = dirname(fileURLToPath(import.meta.url));
const log = (l: string) => console.log(l);

const program = new Command("lab").description("backplane's local lab of real test hosts");
program
  .command("up")
  .option("--tier <tier>", "vm (qemu guests, OpenZFS kernel module) or ns", "vm")
  .option("--hosts <n>", "number of hosts", "2")
  .option("--zfs <version>", "OpenZFS in the vm image: 2.3 or 2.1", "2.3")
  .option("--memory <MiB>", "memory per vm guest", "1536")
  .action(async (o) => {
    await execa("bash", [join(here, "install-deps.sh")], { stdio: "inherit" });
    if (o.tier === "ns") {
      await execa("bash", [join(here, "install-deps.sh"), "--ns"], { stdio: "inherit" });
      await nsUp({ hosts: Number(o.hosts), log });
    } else if (o.tier === "vm") {
      await vmUp({ hosts: Number(o.hosts), zfs: o.zfs, memoryMiB: Number(o.memory), log });
    } else throw new Error(`unknown tier '${o.tier}' (vm or ns)`);
  });
program.command("down").action(() => labDown(log));
program.command("status").action(async () => console.log(await labStatus()));
program.command("image").option("--zfs <version>", "2.3 or 2.1", "2.3").action(async (o) => {
  await execa("bash", [join(here, "install-deps.sh")], { stdio: "inherit" });
  await execa("bash", [join(here, "image", "build.sh"), "--zfs", o.zfs], { stdio: "inherit" });
});

program.parseAsync().catch((e: Error) => {
  console.error(e.message);
  process.exit(1);
});
