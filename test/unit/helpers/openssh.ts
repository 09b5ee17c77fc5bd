/**
 * How OpenSSH reads back an `-o Key=value` option: a port of misc.c argv_split (quotes,
 * backslash escapes, '#' comments) and of the %% escape of percent_expand. Anchored to the
 * real ssh by test/unit/ssh-options.test.ts (`ssh -G`, which prints the configuration and
 * connects nowhere); used by the property tests, which spawn no real ssh.
 */
export function argvSplit(s: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    if (s[i] === " " || s[i] === "\t") {
      i++;
      continue;
    }
    if (s[i] === "#") break;
    let arg = "";
    let quote = "";
    for (; i < s.length; i++) {
      const c = s[i]!;
      const n = s[i + 1];
      if (c === "\\" && (n === "'" || n === '"' || n === "\\" || (quote === "" && n === " "))) {
        arg += n;
        i++;
      } else if (quote === "" && (c === " " || c === "\t")) break;
      else if (quote === "" && (c === '"' || c === "'")) quote = c;
      else if (quote !== "" && c === quote) quote = "";
      else arg += c;
    }
    out.push(arg);
  }
  return out;
}

/** The value ssh takes from `Key=value` (null when it would not be exactly one word). */
export function optionValue(option: string, opts: { percentTokens: boolean }): string | null {
  const eq = option.indexOf("=");
  const words = argvSplit(option.slice(eq + 1));
  if (words.length !== 1) return null;
  return opts.percentTokens ? words[0]!.replace(/%%/g, "%") : words[0]!;
}
