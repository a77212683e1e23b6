// The `\n` search under BufReader.readLine(), done by Uint8Array.indexOf.

const LF = 10;

/** The index of the first `\n` in buf[from, end), or -1 (memchr-speed search, no rescans). */
export function indexOfLf(buf: Uint8Array, from: number, end: number): number {
  if (end === buf.length) return buf.indexOf(LF, from);
  const i = buf.subarray(from, end).indexOf(LF);
  return i < 0 ? -1 : from + i;
}
