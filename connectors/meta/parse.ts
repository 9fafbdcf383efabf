import type { z } from 'zod';
import { AppError } from '../../lib/errors.js';
import type { UpdateOutcome } from '../contract.js';

/**
 * Parses one part of a Meta delivery, naming failures by their full path in the body
 * (`entry.0.changes.1.value.messages.2.id`), as the 400 answer must.
 */
export function parseAt<S extends z.ZodType>(schema: S, data: unknown, at: string): z.infer<S> {
  const r = schema.safeParse(data);
  if (r.success) return r.data;
  const path = (i: z.core.$ZodIssue) => [at, ...i.path.map(String)].filter(Boolean).join('.') || 'body';
  const fields = [...new Set(r.error.issues.map(path))];
  const message = r.error.issues.map((i) => `${path(i)}: ${i.message}`).join('; ');
  throw new AppError('VALIDATION', message, { fields });
}

/** A metrics label from a vendor's type name: bounded in length and alphabet whatever the body says. */
export const kindLabel = (prefix: string, name: string | undefined): string =>
  `${prefix}:${(name ?? 'none').replace(/[^a-z0-9_]/gi, '_').slice(0, 40) || 'none'}`;

export interface Update {
  kind: string;
  outcome: UpdateOutcome;
}
