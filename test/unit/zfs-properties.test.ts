import { describe, it, expect } from "vitest";
import { propertySpec, userPropertyNameProblem, versionAtLeast } from "../../provider/zfs/properties.js";

const check = (name: string, value: string) => propertySpec(name)!.check(value);

describe("the property catalogue knows each property's domain", () => {
  it.each([
    ["recordsize", "1M", "1048576"],
    ["recordsize", "16K", "16384"],
    ["recordsize", "128k", "131072"],
    ["quota", "500G", "536870912000"],
    ["quota", "none", "0"],
    ["compression", "zstd-19", "zstd-19"],
    ["compression", "zstd-fast-1000", "zstd-fast-1000"],
    ["compression", "gzip-9", "gzip-9"],
    ["mountpoint", "/srv/x/", "/srv/x"],
    ["refreservation", "auto", "auto"],
    ["volblocksize", "16K", "16384"],
  ])("%s=%s normalises to %s", (name, value, normalized) => {
    expect(check(name, value)).toEqual({ ok: true, normalized });
  });

  it.each([
    ["recordsize", "3K", "power of 2"],
    ["recordsize", "32M", "at most 16M"],
    ["recordsize", "256", "at least 512"],
    ["compression", "zstd-20", "must be one of"],
    ["compression", "brotli", "must be one of"],
    ["quota", "-1", "bad numeric value"],
    ["quota", "5Q", "invalid numeric suffix"],
    ["quota", "0", "use 'none'"],
    ["sync", "off", "must be one of"],
    ["atime", "yes", "must be one of"],
    ["mountpoint", "relative/path", "absolute path"],
    ["mountpoint", "/a/../b", "'..'"],
    ["keylocation", "http://x", "file:///"],
    ["volblocksize", "32M", "at most 16M"],
  ])("%s=%s is refused (%s)", (name, value, why) => {
    const r = check(name, value);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain(why);
  });

  it("knows what needs a newer OpenZFS or a pool feature", () => {
    expect(propertySpec("compression")!.requires!("zstd")).toMatchObject({ zfs: "2.0", feature: "zstd_compress" });
    expect(propertySpec("recordsize")!.requires!("1048576")).toMatchObject({ feature: "large_blocks" });
    expect(propertySpec("recordsize")!.requires!("131072")).toBeNull();
    // OpenZFS: volblocksize up to the pool's maxblocksize (128K without large_blocks, 16M with)
    expect(propertySpec("volblocksize")!.requires!("262144")).toMatchObject({ feature: "large_blocks" });
    expect(propertySpec("volblocksize")!.requires!("131072")).toBeNull();
  });

  it("marks create-only properties", () => {
    for (const p of ["encryption", "casesensitivity", "normalization", "utf8only", "volblocksize", "keyformat"]) {
      expect(propertySpec(p)!.createOnly).toBe(true);
    }
    expect(propertySpec("compression")!.createOnly).toBe(false);
  });

  it("user properties need module:name in lowercase", () => {
    expect(userPropertyNameProblem("com.example:owner")).toBeNull();
    expect(userPropertyNameProblem("owner")).toContain("':'");
    expect(userPropertyNameProblem("Com:Owner")).toContain("lowercase");
  });

  it("compares OpenZFS versions", () => {
    expect(versionAtLeast("2.3.2", "2.0")).toBe(true);
    expect(versionAtLeast("0.8.6", "2.0")).toBe(false);
    expect(versionAtLeast(null, "0.6")).toBe(false);
  });
});
