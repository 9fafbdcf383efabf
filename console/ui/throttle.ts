/**
 * Refetch on notices without refetching on every one: the first notice plans a run `firstDelayMs` later (the
 * rest of its burst joins it), and runs are at least `everyMs` apart, so a busy operator (a notice for every
 * client message) costs the server one work-list query every couple of seconds, not one per message. The open
 * conversation itself stays live through its own `message.created` notices.
 */
/** The work list and the open card refetch at most this often, however many notices arrive. */
export const WORK_REFETCH_EVERY_MS = 2_000;
/**
 * A conversation already listed is patched in place from its notice; its counters (overdue, due today) are
 * refetched at most this often on such notices alone.
 */
export const WORK_TOUCH_REFETCH_EVERY_MS = 30_000;

export function throttle(run: () => void, everyMs: number, firstDelayMs = 150) {
  let last = Number.NEGATIVE_INFINITY;
  let timer: ReturnType<typeof setTimeout> | undefined;
  return {
    trigger(): void {
      if (timer !== undefined) return; // a run is planned: it will see this change too
      const wait = Math.max(firstDelayMs, last + everyMs - Date.now());
      timer = setTimeout(() => {
        timer = undefined;
        last = Date.now();
        run();
      }, wait);
    },
    cancel(): void {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
