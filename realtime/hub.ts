/**
 * Real-time fan-out between the processes that change things (router, API) and the sockets that show them
 * (operators' consoles, visitors' widgets), which may be connected to any API instance. A message is a small
 * notice on a topic; a socket subscribes to the topics its user may see and reads details through the API's
 * own visibility rules when it needs more than the notice carries.
 *
 * Topics (strings, so every implementation can route them without knowing their meaning):
 * - `operator:<id>`      what one operator must see now (assignments, screen pop, their conversations);
 * - `region:<id>`        the unassigned queue of one region (operators and supervisors of that region);
 * - `conversation:<id>`  one conversation's messages, statuses and typing (console and widget);
 * - `visitor:<widgetKey>:<visitorId>`  one website visitor, across their tabs;
 * - `presence`          any operator's availability changed (visitor sockets: is anybody online to answer?).
 *
 * Delivery is at most once and best effort: a notice lost while a socket reconnects is recovered by the
 * socket's own resume (it asks for what came after the last message it saw), never by the hub.
 */
export interface RealtimeNotice {
  topic: string;
  /** e.g. `message.created`, `message.status`, `conversation.assigned`, `call.ringing`, `typing`. */
  type: string;
  /** Small (PostgreSQL NOTIFY carries at most 8,000 bytes): ids and a preview, not whole histories. */
  data: Record<string, unknown>;
}

export type NoticeListener = (notice: RealtimeNotice) => void;

export interface RealtimeHub {
  readonly kind: 'memory' | 'postgres';
  /** Resolves once the notice has left this process (or been dispatched locally, in process). */
  publish(notice: RealtimeNotice): Promise<void>;
  /** Listens to one topic in this process; returns the function that stops listening. */
  subscribe(topic: string, listener: NoticeListener): () => void;
  close(): Promise<void>;
}
