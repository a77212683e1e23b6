// The shared cells of a Parker and its Unparkers: layout, magic number and the state values.

// Cell layout of the shared buffer: [state, magic].
export const STATE = 0;
export const CELLS = 2;
/** Marks a buffer as a parker's ('PRK1'), so another primitive's buffer is refused. */
export const MAGIC = 0x50524b31;

// The state cell. Invariant: only the thread parked on the parker moves it to or from PARKED;
// unpark() only moves it to NOTIFIED; close() moves it to CLOSED, which is final.
/** No token, nobody parked. */
export const EMPTY = 0;
/** A token is waiting to be taken by the next park. */
export const NOTIFIED = 1;
/** A thread is (about to be) blocked in Atomics.wait; unpark must notify it. */
export const PARKED = -1;
/** The parker was closed: park and unpark throw ParkerClosedError. */
export const CLOSED = 2;
