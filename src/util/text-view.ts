import { toHex } from './hex.js';

const strict = new TextDecoder('utf-8', { fatal: true });
/** Control characters other than tab, line feed and carriage return: text holding them is not for reading. */
const CONTROL = /(?![\t\n\r])\p{Cc}/u;

/**
 * Bytes as a person would read them: their UTF-8 text when they are valid UTF-8 without control
 * characters (tab and line breaks aside), else `hex:` and their hex digits — the form the HTTP API
 * uses for keys. A view for display: `hex:...` text and hex-rendered bytes look alike.
 */
export function textView(bytes: Uint8Array): string {
  let text: string;
  try {
    text = strict.decode(bytes);
  } catch {
    return `hex:${toHex(bytes)}`;
  }
  return CONTROL.test(text) ? `hex:${toHex(bytes)}` : text;
}
