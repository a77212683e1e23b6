// The shared cells of a Parker and its Unparkers: layout, magic number and the state values.

// Cell layout of the shared buffer: [state, magic].
export const STATE = 0;
export const CELLS = 2;
/** Marks a buffer as a parker's ('PRK1'), so another primitive's buffer is refused. */
export const MAGIC = 0x50524b31;

// The state cell. Invariant: only the thread parked on the parker moves it to PARKED or out of
// PARKED and PARKED_NOTIFIED; unpark() only moves EMPTY to NOTIFIED and PARKED to
// PARKED_NOTIFIED; close() moves it to CLOSED, which is final. So while a thread is parked the
// cell holds PARKED, PARKED_NOTIFIED or CLOSED, and no other handle can take its token.
/** No token, nobody parked. */
export const EMPTY = 0;
/** A token is waiting to be taken by the next park. */
export const NOTIFIED = 1;
/** A thread is (about to be) blocked in Atomics.wait; unpark must notify it. */
export const PARKED = -1;
/** A token was handed to the parked thread, which has not taken it yet; only it may. */
export const PARKED_NOTIFIED = -2;
/** The parker was closed: park and unpark throw ParkerClosedError. */
export const CLOSED = 2;
