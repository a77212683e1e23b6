// Helpers for the thread primitives whose state lives in a SharedArrayBuffer of Int32 cells
// (Parker/Unparker, WaitGroup, CrossThreadSignal): making the cells, handing adopted cells from a static `from()`
// to the constructor, and Atomics.waitAsync.

/** Set by adoptNext() just before `new`: the shared cells the constructor adopts. */
let adopting: Int32Array | undefined;

/** Makes `cells` zeroed shared cells with `magic` in the last one, where the form checks look. */
export function newCells(cells: number, magic: number): Int32Array {
  const view = new Int32Array(new SharedArrayBuffer(cells * 4));
  Atomics.store(view, cells - 1, magic);
  return view;
}

/** Leaves `cells` for the constructor called right after: `adoptNext(cells); return new X();`. */
export function adoptNext(cells: Int32Array): void {
  adopting = cells;
}

/** Takes the cells adoptNext() left for this constructor, if any. */
export function takeAdopted(): Int32Array | undefined {
  const cells = adopting;
  adopting = undefined;
  return cells;
}

/** Atomics.waitAsync, typed here: TypeScript lists it from lib es2024 on, Node 20 has it. */
export function atomicsWaitAsync(
  cells: Int32Array,
  index: number,
  value: number,
): { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> } {
  const atomics = Atomics as unknown as {
    waitAsync: (a: Int32Array, i: number, v: number) => ReturnType<typeof atomicsWaitAsync>;
  };
  return atomics.waitAsync(cells, index, value);
}
