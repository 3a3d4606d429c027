/**
 * Bytes still in their files, read when first needed: into an array of their own, or — when a model is
 * about to copy them into its WebAssembly memory — straight there, which then holds the only copy.
 *
 * Why: on a virtual machine, the first write to each fresh page of memory is what costs (measured on this
 * project's 2-core VM: 0.15–0.18 s for MNIST's 47 MB of training images, against 0.004 s to copy them again
 * once the pages exist). Read into an array and then copied into the model, the images paid it twice, a
 * tenth of a short training run's wall clock.
 */
export class DeferredBytes {
  private held: Uint8Array | undefined;
  /** Until the bytes are read: what reads them (let go then, with whatever it holds — a gzipped file's bytes, decompressed). */
  private read: ((target: Uint8Array, offset: number) => void) | undefined;

  /** `read(target, offset)` writes the `length` bytes into target[offset …); once it has, it is not called again. */
  constructor(
    readonly length: number,
    read: (target: Uint8Array, offset: number) => void,
  ) {
    this.read = read;
  }

  /** The bytes: read now into an array of their own unless they have been read or placed. */
  get bytes(): Uint8Array {
    if (this.held === undefined) {
      const own = new Uint8Array(this.length);
      this.readInto(own, 0);
      this.held = own;
    }
    return this.held;
  }

  /**
   * Puts the bytes into target[offset … offset + length) — read there from the files the first time,
   * copied from where they are after that — and from then on `bytes` is that view of `target`, so that no
   * second copy is kept. `target` must outlive every use of `bytes` (a WebAssembly memory does: it is
   * never freed while a view of it is held).
   */
  placeIn(target: Uint8Array, offset: number): void {
    if (this.held === undefined) this.readInto(target, offset);
    else target.set(this.held, offset);
    this.held = target.subarray(offset, offset + this.length);
  }

  private readInto(target: Uint8Array, offset: number): void {
    this.read!(target, offset);
    this.read = undefined;
  }
}
