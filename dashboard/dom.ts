/** Small DOM helpers: elements are built, never parsed from strings, so no value can inject markup. */

type Child = Node | string | number | null | undefined | false;

/** An element with attributes (`on*` functions become listeners) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, unknown> = {}, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v as EventListener);
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(typeof c === 'number' ? String(c) : c);
  return el;
}

/** A link to a page of the dashboard. */
export const link = (hash: string, text: string): HTMLAnchorElement => h('a', { href: `#${hash}` }, text);

/** A table of rows under a header. */
export const table = (head: string[], rows: Child[][]): HTMLTableElement =>
  h('table', {}, h('thead', {}, h('tr', {}, head.map((c) => h('th', {}, c)))), h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c) => h('td', {}, c))))));

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Bytes as text when they are printable UTF-8, else as hex. */
export function bytesView(b: Uint8Array | null, as: 'auto' | 'hex' = 'auto'): string {
  if (b === null) return '—';
  const hex = () => `0x${Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')}`;
  if (as === 'hex') return hex();
  if (b.length === 0) return '(empty)';
  try {
    const text = utf8.decode(b);
    return /^[\P{C}\n\t]*$/u.test(text) ? text : hex();
  } catch {
    return hex();
  }
}
