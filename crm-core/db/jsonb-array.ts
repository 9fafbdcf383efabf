/**
 * Many rows' JSON values as one parameter. A jsonb[] parameter makes pg write an array literal, escaping every
 * row's JSON text a second time (quotes and backslashes, two regex passes each): JSON serialised twice, the
 * costliest part of sending a router batch. One JSON array, expanded in SQL, is serialised once.
 */

/** SQL for parameter $n (a JSON array from jsonArrayParam) as jsonb[], in order. */
export const jsonbArray = (n: number): string =>
  `ARRAY(SELECT d FROM jsonb_array_elements($${n}::jsonb) WITH ORDINALITY AS x(d, o) ORDER BY o)`;

/**
 * The values as one JSON array text. A null is JSON null, as JSON.stringify(null) per row was; an undefined
 * also becomes JSON null (per row it was SQL NULL) — the columns sent this way never take either.
 */
export const jsonArrayParam = (values: unknown[]): string => JSON.stringify(values.map((v) => v ?? null));
