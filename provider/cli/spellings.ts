/**
 * Terraform's spellings on backplane's command line. Terraform (and OpenTofu) users type
 * single-dash long options without thinking — `-auto-approve`, `-out=plan.bin`,
 * `-lock-timeout=30s`, `-no-color`, `-version` — and commander knows only `--long`. This
 * turns the one form into the other before commander sees the words. Pure.
 *
 *  - `-name` and `-name=value` (a letter, then letters, digits or dashes: two characters at
 *    least, so commander's short options such as `-o FILE` stay as they are) become `--name`
 *    and `--name value`;
 *  - `-v`, `-version`, `--version` alone in first place become the `version` command;
 *  - `destroy …` is `apply --destroy …`, as Terraform's destroy is an alias of apply -destroy;
 *  - `-no-color` / `--no-color` anywhere set noColor and are taken out (it is global in
 *    Terraform; here it sets NO_COLOR for the run);
 *  - after a bare `--` nothing is touched (what follows is an operand, e.g. an address).
 */
export interface Spelled {
  args: string[];
  noColor: boolean;
}

const SINGLE_DASH_LONG = /^-([a-z][a-z0-9-]+)(?:=([\s\S]*))?$/;
const VERSION = new Set(["-v", "-version", "--version"]);

export function terraformSpellings(words: readonly string[]): Spelled {
  const args: string[] = [];
  let noColor = false;
  let operands = false;
  for (const [i, w] of words.entries()) {
    if (operands) {
      args.push(w);
      continue;
    }
    if (w === "--") {
      operands = true;
      args.push(w);
      continue;
    }
    if (w === "-no-color" || w === "--no-color") {
      noColor = true;
      continue;
    }
    if (i === 0 && VERSION.has(w)) {
      args.push("version");
      continue;
    }
    if (i === 0 && w === "destroy") {
      args.push("apply", "--destroy");
      continue;
    }
    const m = SINGLE_DASH_LONG.exec(w);
    if (!m) args.push(w);
    else if (m[2] === undefined) args.push(`--${m[1]}`);
    else args.push(`--${m[1]}`, m[2]);
  }
  return { args, noColor };
}
