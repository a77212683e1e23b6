/**
 * The soak's verdict on one member's view of one group: every member sees a group's posts in
 * the same order, and a `Dropped N messages` report stands exactly where N posts are missing.
 *
 * @module
 */

/** What a member received from one group: a post's text, or a report of `dropped` lost posts. */
export type StreamEvent = string | { readonly dropped: number };

/**
 * Checks `events` (what a member got from a group, in order) against `reference` (the group's
 * posts in the order a member that never lagged got them). Both are checked from `marker` on:
 * a post the member made right after joining, so everything after it was owed to the member.
 * Returns what is wrong, or null. `complete` asks that the member got to the reference's end.
 *
 * @example
 * ```ts
 * checkStream(['a', 'm', 'b', 'c', 'd'], ['m', { dropped: 2 }, 'd'], 'm', true); // null
 * checkStream(['a', 'm', 'b', 'c'], ['m', 'c'], 'm', true); // "after 1 events: got c, expected b"
 * ```
 */
export function checkStream(reference: readonly string[], events: readonly StreamEvent[], marker: string, complete: boolean): string | null {
  let at = reference.indexOf(marker);
  const start = events.indexOf(marker);
  if (at < 0 || start < 0) return `marker ${marker} missing (${at < 0 ? 'reference' : 'member'})`;
  for (let k = start; k < events.length; k++) {
    const event = events[k];
    if (typeof event !== 'string') {
      if (!(event.dropped > 0)) return `after ${k - start} events: a report of ${event.dropped} dropped`;
      at += event.dropped;
      continue;
    }
    if (reference[at] !== event) {
      return `after ${k - start} events: got ${clip(event)}, expected ${at < reference.length ? clip(reference[at]) : 'nothing more'}`;
    }
    at++;
  }
  if (at > reference.length) return `reports of dropped posts go ${at - reference.length} past the reference's end`;
  if (complete && at < reference.length) return `ended at post ${at} of ${reference.length}`;
  return null;
}

function clip(text: string): string {
  return text.length > 24 ? `${text.slice(0, 24)}...` : text;
}
