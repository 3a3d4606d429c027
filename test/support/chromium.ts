/**
 * Headless Chromium for the browser tests, from the npm registry: @sparticuz/chromium ships a headless
 * Chromium build, brotli-packed, with the few shared libraries it needs beyond glibc (NSS, NSPR, expat,
 * packed for Amazon Linux but plain x86-64 ELF files). It is unpacked once per machine into
 * node_modules/.cache/graphnet-chromium/ (the package's own executablePath() unpacks into the temporary
 * folder, without guarding against two processes at once) and started with playwright-core. So `npm ci
 * && npm test` needs no browser from the system. CHROMIUM_PATH selects another Chromium instead.
 *
 * The pictures' layout is measured for DejaVu Sans Mono (viz/svg.ts: 0.6 em per character): whichever
 * browser runs, it sees one font, DejaVu Sans Mono from @fontsource/dejavu-mono, through a fontconfig
 * file of its own (FONTCONFIG_FILE), so the checks do not depend on the fonts a machine has.
 */
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliDecompressSync } from "node:zlib";
import { chromium, type Browser } from "playwright-core";
import { makeOnce } from "./make-once.js";
import { untar } from "./tar.js";
import { woffToSfnt } from "./woff.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SPARTICUZ = join(ROOT, "node_modules/@sparticuz/chromium");
const FONTSOURCE = join(ROOT, "node_modules/@fontsource/dejavu-mono");

/** The font family the pictures are measured for (viz/svg.ts's FONT starts with it). */
export const PICTURE_FONT = "DejaVu Sans Mono";

/**
 * As the machine's notes advise: no connections to the outside (this machine's network is closed), no
 * GPU, no sandbox (the tests run as root). Playwright gives each launch a new empty profile folder.
 */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Where the unpacked browser and fonts are kept (GRAPHNET_BROWSER_CACHE moves it). */
export function browserCache(): string {
  return process.env.GRAPHNET_BROWSER_CACHE ?? join(ROOT, "node_modules/.cache/graphnet-chromium");
}

const versionOf = (packageDir: string) => (JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")) as { version: string }).version;

/** @sparticuz/chromium's browser, unpacked once: the executable, and the folder of the libraries it loads. */
export async function bundledChromium(): Promise<{ executable: string; libraries: string }> {
  const dir = await makeOnce(join(browserCache(), `chromium-${versionOf(SPARTICUZ)}`), (tmp) => {
    const bin = join(SPARTICUZ, "bin");
    writeFileSync(join(tmp, "chromium"), brotliDecompressSync(readFileSync(join(bin, "chromium.br"))), { mode: 0o755 });
    untar(brotliDecompressSync(readFileSync(join(bin, "al2023.tar.br"))), tmp); // lib/: libnss3.so and the rest
  });
  return { executable: join(dir, "chromium"), libraries: join(dir, "lib") };
}

/**
 * A fontconfig file whose only fonts are DejaVu Sans Mono's (regular, bold, oblique), made once. Slight
 * hinting, as Debian's and most desktops' defaults: full hinting (fontconfig's own default, with no
 * settings) rounds every advance to whole pixels, 7 px instead of 6.3 for a character at 10.5 px, and
 * the labels would no longer fit boxes measured at 0.6 em.
 */
export async function pictureFontConfig(): Promise<string> {
  // The folder is named for the font package's version, so that another version's fonts are not reused.
  const dir = join(browserCache(), `fonts-dejavu-mono-${versionOf(FONTSOURCE)}`);
  await makeOnce(dir, (tmp) => {
    const files = join(FONTSOURCE, "files");
    // WOFF 1 (zlib), which converts back to the TrueType file that fontconfig reads; WOFF2 it does not read.
    for (const woff of readdirSync(files).filter((name) => name.endsWith(".woff"))) {
      writeFileSync(join(tmp, woff.replace(/\.woff$/, ".ttf")), woffToSfnt(readFileSync(join(files, woff))));
    }
  });
  // The configuration names the fonts' folder by its absolute path, so it is written by each process for
  // the path the folder has now: a cache made through another path to the same node_modules (a moved
  // checkout, a symlinked node_modules) would otherwise point at a folder that may no longer exist, and
  // the browser would draw with no font at all.
  const config = join(mkdtempSync(join(tmpdir(), "graphnet-fontconfig-")), "fonts.conf");
  writeFileSync(
    config,
    [
      `<?xml version="1.0"?>`,
      `<!DOCTYPE fontconfig SYSTEM "fonts.dtd">`,
      `<fontconfig>`,
      `  <dir>${dir}</dir>`,
      `  <cachedir>${join(dirname(config), "cache")}</cachedir>`,
      `  <match target="font">`,
      `    <edit name="antialias" mode="assign"><bool>true</bool></edit>`,
      `    <edit name="hinting" mode="assign"><bool>true</bool></edit>`,
      `    <edit name="hintstyle" mode="assign"><const>hintslight</const></edit>`,
      `  </match>`,
      `</fontconfig>`,
      ``,
    ].join("\n"),
  );
  return config;
}

/**
 * Starts headless Chromium: CHROMIUM_PATH's, or the one from the npm registry. A browser that does not
 * start is an error that says which executable and why, and what to try.
 */
export async function launchChromium(options: { executablePath?: string } = {}): Promise<Browser> {
  const chosen = options.executablePath ?? process.env.CHROMIUM_PATH;
  let executable = chosen ?? "@sparticuz/chromium";
  try {
    const bundled = chosen ? undefined : await bundledChromium();
    executable = bundled?.executable ?? executable;
    const env: Record<string, string> = { ...(process.env as Record<string, string>), FONTCONFIG_FILE: await pictureFontConfig() };
    if (bundled) env.LD_LIBRARY_PATH = [bundled.libraries, process.env.LD_LIBRARY_PATH].filter(Boolean).join(":");
    return await chromium.launch({ executablePath: executable, args: CHROMIUM_ARGS, headless: true, env, timeout: 60_000 });
  } catch (err) {
    const reason = (err as Error).message
      .split("\n")
      .filter((line) => line.trim() !== "")
      .slice(0, 12)
      .join("\n  ");
    throw new Error(
      `headless Chromium (${executable}) could not start: ${reason}\n` +
        (chosen ? "Unset CHROMIUM_PATH to use the browser from @sparticuz/chromium." : "Set CHROMIUM_PATH to another Chromium to use that one instead."),
    );
  }
}
