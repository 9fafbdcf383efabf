/**
 * Which event objects passed their schema in this process. Validation (zod over every field) costs ~7 µs an
 * event (bench/stages.ts), and an event used to be validated three times on Kafka: when a connector built it,
 * again when the bus published it, and once more when the router consumed it. The rule now
 * is once per process boundary: the builder validates, the producer publishes what the builder validated without
 * checking it again, and the consumer validates what it reads (another process, maybe another version, wrote it).
 *
 * The mark is an identity set, not a flag on the object: a copy (`{ ...event, id: 'x' }`) or an object made by
 * hand is not marked, so the bus validates it before publishing — nothing unvalidated reaches the topic by
 * mistake. zod's parse returns a fresh object, so the marked one is owned by whoever called the builder; no
 * code changes an event after building it (a change would still be caught by the consumer: dead-letter topic).
 */
const marked = new WeakSet<object>();

/** Records that `event` was just returned by its schema's parse. Returns it, for chaining. */
export function markValidated<T extends object>(event: T): T {
  marked.add(event);
  return event;
}

/** True only for the very object a schema parse returned in this process. */
export const isMarkedValid = (event: object): boolean => marked.has(event);
