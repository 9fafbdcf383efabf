import type { NoticeListener, RealtimeHub, RealtimeNotice } from './hub.js';

/** Dispatches notices to this process's listeners by topic: the embedded default, and every hub's local half. */
export function createLocalDispatcher() {
  const listeners = new Map<string, Set<NoticeListener>>();
  return {
    dispatch(notice: RealtimeNotice): void {
      for (const listener of listeners.get(notice.topic) ?? []) {
        try {
          listener(notice);
        } catch {
          // One broken socket handler must not keep the notice from the others.
        }
      }
    },
    subscribe(topic: string, listener: NoticeListener): () => void {
      const set = listeners.get(topic) ?? new Set<NoticeListener>();
      listeners.set(topic, set);
      set.add(listener);
      return () => {
        set.delete(listener);
        if (set.size === 0) listeners.delete(topic);
      };
    },
    get topics(): number {
      return listeners.size;
    },
  };
}

/** In-process hub (embedded default, one instance): publish dispatches synchronously to local listeners. */
export function createMemoryHub(): RealtimeHub {
  const local = createLocalDispatcher();
  return {
    kind: 'memory',
    publish: async (notice) => local.dispatch(notice),
    subscribe: (topic, listener) => local.subscribe(topic, listener),
    close: async () => {},
  };
}
