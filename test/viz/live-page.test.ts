/** When an epoch's end rewrites the live report.html: the first time, then once a refresh has passed. */
import { describe, expect, it } from "vitest";
import { LIVE_REFRESH_SECONDS, livePageDue } from "../../viz/run-picture-files.js";

describe("livePageDue", () => {
  it("writes the first page, then none until the last is a refresh old", () => {
    expect(livePageDue(undefined, 0)).toBe(true);
    expect(livePageDue(1_000, 1_000 + LIVE_REFRESH_SECONDS * 1000 - 1)).toBe(false);
    expect(livePageDue(1_000, 1_000 + LIVE_REFRESH_SECONDS * 1000)).toBe(true);
  });
});
