import fc from 'fast-check';

/**
 * Malformed requests for the fuzz suite. Every mutation makes a valid request invalid for sure (a valid one
 * would be accepted and written), and says which field its 4xx must name (`field`), or `body` / a part of the
 * request, or nothing where the answer need not name one (401 without credentials).
 */
export type Kind = 'string' | 'int' | 'bool' | 'date' | 'object' | 'array' | 'enum' | 'nullableInt';

export interface JsonEndpoint {
  name: string;
  method: 'POST' | 'PUT' | 'PATCH' | 'GET';
  url: string;
  headers: Record<string, string>;
  /** A valid body: each mutation breaks it in one place. */
  base: Record<string, unknown>;
  fields: Record<string, Kind>;
  required: string[];
  /** API input refuses control characters (400 naming the field); webhooks remove them, so none is generated. */
  refusesText: boolean;
}

export interface Mutation {
  kind: string;
  payload: string;
  contentType?: string;
  /** What the answer's `fields[0]` must start with; undefined: any documented 4xx. */
  field?: string;
}

/** A raw JSON literal spliced into the text (JSON.stringify cannot write 1e400, which parses as Infinity). */
const RAW = 'raw-literal:';
const raw = (literal: string) => `${RAW}${Buffer.from(literal).toString('base64')}`;
const stringify = (body: unknown) =>
  JSON.stringify(body).replace(new RegExp(`"${RAW}([A-Za-z0-9+/=]*)"`, 'g'), (_, b64: string) =>
    Buffer.from(b64, 'base64').toString(),
  );

const unsafeChar = fc.constantFrom('\u0000', '\u0001', '\u0008', '\u000b', '\u001f', '\ud800', '\udfff');
export const unsafeText = fc
  .tuple(fc.string({ maxLength: 20 }), unsafeChar, fc.string({ maxLength: 20 }))
  .map(([a, c, b]) => a + c + b);

const anyObject = fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string(), fc.integer()), {
  maxKeys: 3,
});
const notString = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
  anyObject,
);
const notInt = fc.oneof(
  fc.constantFrom(
    'Infinity',
    '-Infinity',
    'NaN',
    '1',
    '',
    raw('1e400'),
    raw('-1e400'),
    1.5,
    -0.25,
    1e308,
    -1e308,
    2 ** 53 + 2,
  ),
  fc.double({ noInteger: true }).filter((d) => Number.isFinite(d)),
  fc.boolean(),
  fc.string({ maxLength: 10 }),
  fc.array(fc.integer(), { maxLength: 3 }),
  anyObject,
);
const notDate = fc.oneof(
  fc.constantFrom(
    '0000-01-01T00:00:00Z',
    '2026-01-01T00:00:00-23:59',
    '2026-02-30T10:00:00Z',
    '9999-12-31T23:59:59-01:00',
    '1800-01-01T00:00:00Z',
    '2026-11-23',
    '+010000-01-01T00:00:00Z',
  ),
  fc.string({ maxLength: 12 }),
  fc.integer(),
  fc.constant(null),
);

const wrongValue: Record<Kind, fc.Arbitrary<unknown>> = {
  string: notString,
  enum: fc.oneof(notString, fc.constant('not-one-of-them')),
  int: fc.oneof(notInt, fc.constant(null)),
  nullableInt: notInt,
  bool: fc.oneof(fc.constantFrom('true', 'false', 0, 1, null, 'yes'), fc.string({ maxLength: 5 })),
  date: notDate,
  object: fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.array(fc.integer(), { maxLength: 2 })),
  array: fc.oneof(fc.string(), fc.integer(), fc.boolean(), anyObject, fc.constant(null)),
};

function setPath(body: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const copy = structuredClone(body);
  const keys = path.split('.');
  let at = copy;
  for (const k of keys.slice(0, -1)) at = at[k] as Record<string, unknown>;
  if (value === undefined) delete at[keys.at(-1)!];
  else at[keys.at(-1)!] = value;
  return copy;
}

/** Nested arrays thousands deep as the body (never an object, so always refused as `body`). */
const deep = fc.integer({ min: 200, max: 2000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`);
/** Nested objects thousands deep as a field's value: a wrong type for every field kind but `object`. */
const deepObject = fc
  .integer({ min: 200, max: 5000 })
  .map((n) => raw(`${'{"a":'.repeat(n)}1${'}'.repeat(n)}`));

export function jsonMutations(e: JsonEndpoint): fc.Arbitrary<Mutation> {
  const fieldNames = Object.keys(e.fields);
  const stringFields = fieldNames.filter((f) => e.fields[f] === 'string' || e.fields[f] === 'enum');
  const objectFields = fieldNames.filter((f) => e.fields[f] === 'object');
  const good = stringify(e.base);
  const options: fc.Arbitrary<Mutation>[] = [
    fc.constantFrom(...fieldNames).chain((f) =>
      wrongValue[e.fields[f]!].map((v) => ({
        kind: 'wrong type',
        field: f,
        payload: stringify(setPath(e.base, f, v)),
      })),
    ),
    fc.tuple(fc.constantFrom(...fieldNames), fc.constantFrom(...fieldNames)).chain(([f]) =>
      wrongValue[e.fields[f]!].map((v) => {
        // Duplicate keys: the last one wins, and it is the wrong one.
        // A function, not a string: a generated value holding "$`" or "$&" would be read as a pattern.
        const text = good.replace(
          /}$/,
          () => `,${JSON.stringify(f.split('.')[0])}:${stringify(setPath(e.base, f, v)[f.split('.')[0]!])}}`,
        );
        return { kind: 'duplicate key', field: f, payload: text };
      }),
    ),
    fc.integer({ min: 1, max: Math.max(1, good.length - 2) }).map((cut) => ({
      kind: 'truncated JSON',
      field: 'body',
      payload: good.slice(0, cut),
    })),
    deep.map((payload) => ({ kind: 'deep JSON', field: 'body', payload })),
    fc
      .constantFrom('null', '[]', '"text"', '42', 'true', '[{}]')
      .map((payload) => ({ kind: 'not an object', field: 'body', payload })),
  ];
  // Webhooks read any content type as text (vendors label JSON loosely); the API reads JSON only. Fastify reads
  // text/plain as a string, which the body schema then refuses as `body`.
  if (e.refusesText)
    options.push(
      fc.constantFrom('application/xml', 'image/png', 'text/plain').map((contentType) => ({
        kind: 'media type',
        field: contentType === 'text/plain' ? 'body' : 'content-type',
        payload: good,
        contentType,
      })),
    );
  const notObjectFields = fieldNames.filter((f) => e.fields[f] !== 'object');
  options.push(
    fc.tuple(fc.constantFrom(...notObjectFields), deepObject).map(([f, v]) => ({
      kind: 'deep value',
      field: f,
      payload: stringify(setPath(e.base, f, v)),
    })),
  );
  if (e.refusesText)
    options.push(
      protoKey.map((key) => ({
        kind: 'prototype key',
        field: 'body',
        payload: good.replace(/^\{/, () => `{${key},`),
      })),
    );
  if (e.required.length)
    options.push(
      fc
        .constantFrom(...e.required)
        .map((f) => ({ kind: 'missing', field: f, payload: stringify(setPath(e.base, f, undefined)) })),
    );
  if (e.refusesText && stringFields.length)
    options.push(
      fc.tuple(fc.constantFrom(...stringFields), unsafeText).map(([f, v]) => ({
        kind: 'control characters',
        field: f,
        payload: stringify(setPath(e.base, f, v)),
      })),
    );
  if (e.refusesText && objectFields.length)
    options.push(
      fc.tuple(fc.constantFrom(...objectFields), unsafeText).map(([f, v]) => ({
        kind: 'control characters in a key',
        field: f,
        payload: stringify(setPath(e.base, f, { [v]: 'x' })),
      })),
    );
  return fc.oneof(...options);
}

/** Prototype keys: refused as JSON by the API's parser; elsewhere they ride along with another mistake. */
export const protoKey = fc.constantFrom(
  '"__proto__":{"polluted":1}',
  '"constructor":{"prototype":{"polluted":1}}',
);
