/** Terraform's single-dash spellings reach commander as the long options it knows. */
import { describe, it, expect } from "vitest";
import { terraformSpellings as spell, type OptionKinds } from "../../provider/cli/spellings.js";

// the options of backplane's command line, as main.ts hands them in (from commander's definitions)
const KINDS: OptionKinds = {
  takesValue: new Set(["out", "target", "replace", "lock-timeout", "parallelism", "dir", "stack", "format", "input"]),
  optionalValue: new Set(["lock"]),
  flags: new Set(["detailed-exitcode", "json", "auto-approve", "refresh-only", "destroy", "allow-destroy", "synth", "no-synth", "raw"]),
};
const terraformSpellings = (words: string[]) => spell(words, KINDS);

describe("Terraform's spellings on the command line", () => {
  it.each([
    [["plan", "-out=plan.bin"], ["plan", "--out", "plan.bin"]],
    [["plan", "-detailed-exitcode", "-json"], ["plan", "--detailed-exitcode", "--json"]],
    [["apply", "-auto-approve", "-input=false"], ["apply", "--auto-approve", "--input", "false"]],
    [["plan", "-lock=false", "-lock-timeout=30s"], ["plan", "--lock", "false", "--lock-timeout", "30s"]],
    [["apply", "-parallelism=20", "-target=backplane_dataset.a", "-target=backplane_dataset.b"], ["apply", "--parallelism", "20", "--target", "backplane_dataset.a", "--target", "backplane_dataset.b"]],
    [["plan", "-replace=backplane_wireguard_interface.wg", "-refresh-only", "-destroy"], ["plan", "--replace", "backplane_wireguard_interface.wg", "--refresh-only", "--destroy"]],
    // a value keeps its own '=' and spaces whole
    [["plan", "-out=a=b c.plan"], ["plan", "--out", "a=b c.plan"]],
    [["plan", "-out="], ["plan", "--out", ""]],
  ])("%j becomes %j", (words, args) => {
    expect(terraformSpellings(words)).toEqual({ args, noColor: false });
  });

  it("leaves commander's own spellings and short options alone", () => {
    for (const words of [["plan", "--out", "x"], ["plan", "-o", "x"], ["plan", "--out=x"], ["state", "list"], ["apply", "-"]]) {
      expect(terraformSpellings(words).args).toEqual(words);
    }
  });

  it("-version, --version and -v in first place are the version command; elsewhere they are not", () => {
    for (const v of ["-v", "-version", "--version"]) expect(terraformSpellings([v]).args).toEqual(["version"]);
    expect(terraformSpellings(["plan", "-v"]).args).toEqual(["plan", "-v"]);
    expect(terraformSpellings(["plan", "-version"]).args).toEqual(["plan", "--version"]);
  });

  it("destroy is apply -destroy, with the rest of its words", () => {
    expect(terraformSpellings(["destroy", "-auto-approve", "-allow-destroy"]).args).toEqual(["apply", "--destroy", "--auto-approve", "--allow-destroy"]);
    expect(terraformSpellings(["state", "destroy"]).args).toEqual(["state", "destroy"]);
  });

  it("-no-color anywhere sets noColor and is taken out", () => {
    expect(terraformSpellings(["plan", "-no-color", "-json"])).toEqual({ args: ["plan", "--json"], noColor: true });
    expect(terraformSpellings(["--no-color", "plan"])).toEqual({ args: ["plan"], noColor: true });
  });

  it("after a bare -- nothing is rewritten: what follows is an operand", () => {
    expect(terraformSpellings(["state", "rm", "--", "-odd-address", "-no-color"])).toEqual({ args: ["state", "rm", "--", "-odd-address", "-no-color"], noColor: false });
  });

  it("a flag with Terraform's =true / =false is the flag or nothing; an option's value may be true or false", () => {
    expect(terraformSpellings(["plan", "-json=true", "-destroy=false"]).args).toEqual(["plan", "--json"]);
    expect(terraformSpellings(["show", "-json=false", "x.plan"]).args).toEqual(["show", "x.plan"]);
    expect(terraformSpellings(["apply", "-input=false", "-lock=true"]).args).toEqual(["apply", "--input", "false", "--lock", "true"]);
    expect(terraformSpellings(["plan", "-out=false"]).args).toEqual(["plan", "--out", "false"]);
  });

  it("the word after an option that takes a value is its value, whatever it looks like", () => {
    expect(terraformSpellings(["plan", "--out", "-myplan"]).args).toEqual(["plan", "--out", "-myplan"]);
    expect(terraformSpellings(["plan", "-out", "-no-color"])).toEqual({ args: ["plan", "--out", "-no-color"], noColor: false });
    expect(terraformSpellings(["plan", "-o", "-x.plan", "-json"]).args).toEqual(["plan", "-o", "-x.plan", "--json"]);
    expect(terraformSpellings(["plan", "--json", "-destroy"]).args).toEqual(["plan", "--json", "--destroy"]);
  });

  it("an option whose value may be left out takes the next word only when it is true or false", () => {
    expect(terraformSpellings(["plan", "-lock", "-detailed-exitcode"]).args).toEqual(["plan", "--lock", "--detailed-exitcode"]);
    expect(terraformSpellings(["plan", "-lock", "-no-color"])).toEqual({ args: ["plan", "--lock"], noColor: true });
    expect(terraformSpellings(["plan", "--lock", "false", "-json"]).args).toEqual(["plan", "--lock", "false", "--json"]);
  });

  it("-no-color before the command does not hide it: -version and destroy are still the command", () => {
    expect(terraformSpellings(["-no-color", "-version"])).toEqual({ args: ["version"], noColor: true });
    expect(terraformSpellings(["-no-color", "destroy", "-auto-approve"])).toEqual({ args: ["apply", "--destroy", "--auto-approve"], noColor: true });
  });

  it("a word that is a value, not an option, stays: numbers, paths, words with capitals", () => {
    for (const w of ["-1", "-/tmp/x", "-Foo", "tank/-x"]) expect(terraformSpellings(["import", "a", w]).args).toEqual(["import", "a", w]);
  });
});
