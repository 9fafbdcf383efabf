/**
 * Raw header access. mailparser turns the headers it knows into structured values and leaves others as
 * strings; robot and bounce detection want the text as sent, so they read the raw lines instead. The same
 * helpers parse header blocks found inside a message (text/rfc822-headers, message/delivery-status).
 */
export type HeaderLines = ReadonlyArray<{ key: string; line: string }>;

const unfold = (s: string) => s.replace(/\r?\n[ \t]+/g, ' ').trim();

/** Values of every header with this name, unfolded, name and colon stripped. */
export function headerValues(lines: HeaderLines, name: string): string[] {
  const key = name.toLowerCase();
  return lines.filter((l) => l.key === key).map((l) => unfold(l.line.slice(l.line.indexOf(':') + 1)));
}

export function headerValue(lines: HeaderLines, name: string): string | undefined {
  return headerValues(lines, name)[0];
}

export const hasHeader = (lines: HeaderLines, name: string) =>
  lines.some((l) => l.key === name.toLowerCase());

/** A header block (up to the first empty line) as HeaderLines. Lines that are not headers are ignored. */
export function parseHeaderBlock(text: string): HeaderLines {
  const end = text.search(/\r?\n\r?\n/);
  const block = end < 0 ? text : text.slice(0, end);
  const out: { key: string; line: string }[] = [];
  for (const line of block.split(/\r?\n(?![ \t])/)) {
    const colon = line.indexOf(':');
    if (colon <= 0 || /\s/.test(line.slice(0, colon))) continue;
    out.push({ key: line.slice(0, colon).toLowerCase(), line });
  }
  return out;
}

/** message/delivery-status: a per-message block, then one block per recipient, separated by empty lines. */
export function parseFieldGroups(text: string): HeaderLines[] {
  return text
    .split(/\r?\n[ \t]*\r?\n/)
    .map((g) => parseHeaderBlock(g.replace(/^\s+/, '')))
    .filter((g) => g.length > 0);
}
