/**
 * Terraform's spellings on backplane's command line. Terraform (and OpenTofu) users type
 * single-dash long options without thinking — `-auto-approve`, `-out=plan.bin`,
 * `-lock-timeout=30s`, `-no-color`, `-version` — and commander knows only `--long`. This
 * turns the one form into the other before commander sees the words. Pure: what the
 * command line's options are (which take a value, which are flags) is handed in.
 *
 *  - `-name` and `-name=value` (a letter, then letters, digits or dashes: two characters at
 *    least, so commander's short options such as `-o FILE` stay as they are) become `--name`
 *    and `--name value`;
 *  - a flag given Terraform's way with a value, `-json=true` / `-destroy=false`, is the flag
 *    or nothing;
 *  - the word after an option that takes a value is that value, never rewritten
 *    (`--out -plan.bin` saves to `-plan.bin`);
 *  - `-v`, `-version`, `--version` as the command become the `version` command, and
 *    `destroy …` is `apply --destroy …` (Terraform's destroy is an alias of apply -destroy);
 *  - `-no-color` / `--no-color` anywhere set noColor and are taken out (it is global in
 *    Terraform; here it sets NO_COLOR for the run);
 *  - after a bare `--` nothing is touched (what follows is an operand, e.g. an address).
 */
export interface Spelled {
  args: string[];
  noColor: boolean;
}

export interface OptionKinds {
  /** long names (without dashes) of options that take a value */
  takesValue: ReadonlySet<string>;
  /** long names of options whose value may be left out (`--lock [true|false]`): the next word is theirs only when it is true or false */
  optionalValue?: ReadonlySet<string>;
  /** long names of options that take none */
  flags: ReadonlySet<string>;
}

const SINGLE_DASH_LONG = /^-([a-z][a-z0-9-]+)(?:=([\s\S]*))?$/;
const DOUBLE_DASH_LONG = /^--([a-z][a-z0-9-]*)$/;
const VERSION = new Set(["-v", "-version", "--version"]);

export function terraformSpellings(words: readonly string[], kinds: OptionKinds): Spelled {
  const args: string[] = [];
  let noColor = false;
  let operands = false;
  let valueNext = false;
  let first = true;
  // whether the word after option `name` is its value
  const takes = (name: string, next: string | undefined) => kinds.takesValue.has(name) || (kinds.optionalValue?.has(name) === true && (next === "true" || next === "false"));
  for (const [i, w] of words.entries()) {
    if (operands || valueNext) {
      args.push(w);
      valueNext = false;
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
    const atCommand = first;
    first = false;
    if (atCommand && VERSION.has(w)) {
      args.push("version");
      continue;
    }
    if (atCommand && w === "destroy") {
      args.push("apply", "--destroy");
      continue;
    }
    const long = DOUBLE_DASH_LONG.exec(w);
    if (long) {
      args.push(w);
      valueNext = takes(long[1]!, words[i + 1]);
      continue;
    }
    const m = SINGLE_DASH_LONG.exec(w);
    if (!m) {
      args.push(w);
      valueNext = w === "-o";
      continue;
    }
    const [, name, value] = m as unknown as [string, string, string | undefined];
    if (value === undefined) {
      args.push(`--${name}`);
      valueNext = takes(name, words[i + 1]);
    } else if (kinds.flags.has(name) && (value === "true" || value === "false")) {
      if (value === "true") args.push(`--${name}`);
    } else args.push(`--${name}`, value);
  }
  return { args, noColor };
}
