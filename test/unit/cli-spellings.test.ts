/** Terraform's single-dash spellings reach commander as the long options it knows. */
import { describe, it, expect } from "vitest";
import { terraformSpellings } from "../../provider/cli/spellings.js";

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

  it("a word that is a value, not an option, stays: numbers, paths, words with capitals", () => {
    for (const w of ["-1", "-/tmp/x", "-Foo", "tank/-x"]) expect(terraformSpellings(["import", "a", w]).args).toEqual(["import", "a", w]);
  });
});
