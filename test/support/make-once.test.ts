/** The browser's cache folder is made once, whole, even when several makers race for it. */
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { makeOnce } from "./make-once.js";
import { untar } from "./tar.js";

describe("makeOnce", () => {
  it("gives every one of several makers racing for a folder the same complete folder, and leaves no temporary one", async () => {
    const parent = mkdtempSync(join(tmpdir(), "graphnet-make-once-"));
    const dir = join(parent, "made");
    let made = 0;
    const make = async (tmp: string) => {
      made++;
      writeFileSync(join(tmp, "first"), "1");
      await new Promise((resolve) => setTimeout(resolve, 20)); // all makers are now inside make
      writeFileSync(join(tmp, "second"), "2");
    };
    const results = await Promise.all(Array.from({ length: 4 }, () => makeOnce(dir, make)));
    expect(made).toBe(4);
    expect(results).toEqual(Array.from({ length: 4 }, () => dir));
    expect(readdirSync(dir).sort()).toEqual(["first", "second"]);
    expect(readdirSync(parent)).toEqual(["made"]);
    // Once made, it is not made again.
    expect(await makeOnce(dir, () => expect.fail("made again"))).toBe(dir);
  });

  it("leaves nothing behind when the making fails", async () => {
    const parent = mkdtempSync(join(tmpdir(), "graphnet-make-once-"));
    await expect(
      makeOnce(join(parent, "made"), () => {
        throw new Error("disk full");
      }),
    ).rejects.toThrow("disk full");
    expect(readdirSync(parent)).toEqual([]);
  });
});

describe("untar", () => {
  /** One ustar header block for a file or folder, with its checksum. */
  const header = (name: string, size: number, type: string, mode = 0o644) => {
    const block = Buffer.alloc(512);
    block.write(name, 0);
    block.write(mode.toString(8).padStart(7, "0"), 100);
    block.write(size.toString(8).padStart(11, "0"), 124);
    block.write(type, 156);
    block.write("ustar\u000000", 257);
    block.fill(" ", 148, 156);
    block.write((block.reduce((sum, b) => sum + b, 0) & 0o777777).toString(8).padStart(6, "0") + "\u0000 ", 148);
    return block;
  };
  const body = (text: string) => Buffer.concat([Buffer.from(text), Buffer.alloc(512 - (text.length % 512 || 512))]);

  it("unpacks folders and files with their modes, and refuses a path that leaves the folder", () => {
    const archive = Buffer.concat([
      header("lib/", 0, "5", 0o755),
      header("lib/a.so", 5, "0", 0o755),
      body("hello"),
      header("b.txt", 3, "0"),
      body("abc"),
      Buffer.alloc(1024),
    ]);
    const dir = mkdtempSync(join(tmpdir(), "graphnet-untar-"));
    expect(untar(archive, dir)).toEqual(["lib/a.so", "b.txt"]);
    expect(readFileSync(join(dir, "lib/a.so"), "utf8")).toBe("hello");
    expect(readFileSync(join(dir, "b.txt"), "utf8")).toBe("abc");
    expect(statSync(join(dir, "lib/a.so")).mode & 0o777).toBe(0o755);
    expect(existsSync(join(dir, "lib"))).toBe(true);
    const escaping = Buffer.concat([header("../evil", 1, "0"), body("x"), Buffer.alloc(1024)]);
    expect(() => untar(escaping, dir)).toThrow(/points outside the folder/);
  });
});
