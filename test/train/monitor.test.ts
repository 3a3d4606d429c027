/** What counts as a better epoch, for early stopping and the best checkpoint. */
import { describe, expect, it } from "vitest";
import { improves } from "../../src/train/monitor.js";

const figures = (val_loss: number, val_accuracy: number) => ({ val_loss, val_accuracy });

describe("improves", () => {
  it("on val_loss: a strictly lower loss, whatever the accuracy", () => {
    expect(improves(figures(0.3, 0.8), figures(0.4, 0.9), "val_loss")).toBe(true);
    expect(improves(figures(0.4, 0.99), figures(0.4, 0.9), "val_loss")).toBe(false);
    expect(improves(figures(0.5, 0.99), figures(0.4, 0.9), "val_loss")).toBe(false);
  });

  it("on val_accuracy: a strictly higher accuracy, a tie going to the lower loss", () => {
    expect(improves(figures(0.5, 0.91), figures(0.4, 0.9), "val_accuracy")).toBe(true);
    expect(improves(figures(0.3, 0.89), figures(0.4, 0.9), "val_accuracy")).toBe(false);
    expect(improves(figures(0.3, 0.9), figures(0.4, 0.9), "val_accuracy")).toBe(true);
    expect(improves(figures(0.4, 0.9), figures(0.4, 0.9), "val_accuracy")).toBe(false);
  });

  it("the first epoch improves on nothing, unless its loss is not a number", () => {
    expect(improves(figures(2.3, 0.1), undefined, "val_loss")).toBe(true);
    expect(improves(figures(NaN, 0.1), undefined, "val_loss")).toBe(false);
    expect(improves(figures(2.3, 0.1), undefined, "val_accuracy")).toBe(true);
  });
});
