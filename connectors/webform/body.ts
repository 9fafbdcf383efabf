import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError, isAppError } from '../../lib/errors.js';
import { addValue, type FieldValues } from './fields.js';

/** A parsed submission: the fields, and what goes into the event's `raw` for audit. */
export interface FormBody {
  values: FieldValues;
  raw: { contentType: string; body: string };
}

/** urlencoded / JSON bodies. 10,000 Cyrillic characters percent-encode to ~60 KB, so leave room. */
export const BODY_LIMIT = 256 * 1024;
/** Multipart (set where the plugin registers @fastify/multipart): fields only. Files are drained and dropped;
 * their size is capped (the rest is truncated, not an error) so dropping them stays cheap. */
export const MULTIPART_LIMITS = {
  fieldNameSize: 200,
  fieldSize: 64 * 1024,
  fields: 100,
  files: 5,
  fileSize: 1024 * 1024,
  parts: 105,
};
export const EMPTY_BODY: FormBody = { values: new Map(), raw: { contentType: 'none', body: '' } };

export function fromUrlencoded(text: string, contentType = 'application/x-www-form-urlencoded'): FormBody {
  const values: FieldValues = new Map();
  for (const [k, v] of new URLSearchParams(text)) addValue(values, k, v);
  return { values, raw: { contentType, body: text } };
}

/** A flat JSON object; numbers and booleans become text, arrays of them several values, nested objects are ignored. */
export function fromJson(text: string, contentType = 'application/json'): FormBody {
  let data: unknown;
  try {
    data = text.trim() ? JSON.parse(text) : {};
  } catch {
    throw new AppError('VALIDATION', 'body: is not valid JSON', { fields: ['body'] });
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    throw new AppError('VALIDATION', 'body: the JSON body must be an object of form fields', {
      fields: ['body'],
    });
  }
  const values: FieldValues = new Map();
  for (const [k, v] of Object.entries(data)) {
    for (const item of Array.isArray(v) ? v : [v]) {
      if (typeof item === 'string' || typeof item === 'number' || typeof item === 'boolean') {
        addValue(values, k, String(item));
      }
    }
  }
  return { values, raw: { contentType, body: text } };
}

/**
 * Installs this plugin's own body parsers. The plugin is encapsulated (not wrapped in fastify-plugin), so these
 * replace the inherited ones only under /v1/forms. Parsing as a string keeps the exact body for `raw`.
 */
export function addFormParsers(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  const opts = { parseAs: 'string' as const, bodyLimit: BODY_LIMIT };
  app.addContentTypeParser('application/x-www-form-urlencoded', opts, (req, body: string, done) => {
    done(null, fromUrlencoded(body, mediaType(req)));
  });
  app.addContentTypeParser('application/json', opts, (req, body: string, done) => {
    try {
      done(null, fromJson(body, mediaType(req)));
    } catch (e) {
      done(e as Error);
    }
  });
}

function mediaType(req: FastifyRequest): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

/**
 * Reads the fields of a multipart body. `raw` is a faithful urlencoded serialisation of the fields: the
 * original bytes would drag file contents (and boundaries) into the audit copy.
 */
export async function readMultipart(request: FastifyRequest): Promise<FormBody> {
  try {
    return await readParts(request);
  } catch (e) {
    // Limits and our own field errors keep their answer; anything busboy trips over (a body that is not
    // multipart at all, a missing boundary, a part cut short) is the sender's malformed body.
    if (isAppError(e) || (e as { code?: string }).code?.startsWith('FST_')) throw e;
    throw new AppError(
      'VALIDATION',
      `body: is not a valid multipart/form-data body (${(e as Error).message})`,
      {
        fields: ['body'],
        cause: e,
      },
    );
  }
}

async function readParts(request: FastifyRequest): Promise<FormBody> {
  const values: FieldValues = new Map();
  let files = 0;
  for await (const part of request.parts()) {
    if (part.type === 'file') {
      files++;
      // The next part only arrives once this file is consumed; its bytes go nowhere.
      for await (const _ of part.file);
      continue;
    }
    if (part.valueTruncated) {
      throw new AppError('VALIDATION', `${part.fieldname} is too long`, { fields: [part.fieldname] });
    }
    addValue(
      values,
      part.fieldname,
      typeof part.value === 'string' ? part.value : JSON.stringify(part.value),
    );
  }
  if (files) request.log.debug({ files }, 'webform: file parts ignored');
  const pairs = [...values].flatMap(([k, vs]) => vs.map((v) => [k, v]));
  return {
    values,
    raw: {
      contentType: 'multipart/form-data; serialised=urlencoded',
      body: new URLSearchParams(pairs).toString(),
    },
  };
}
