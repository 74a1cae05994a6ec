/**
 * Where to send the browser after login: a path of this console only. Anything
 * that could leave the origin (an absolute URL, "//host", a backslash that
 * browsers read as a slash) becomes "/".
 */
export function safeReturnTo(value: unknown): string {
  if (typeof value !== 'string' || value.length > 2000) return '/';
  if (!value.startsWith('/') || value.startsWith('//') || value.includes('\\')) return '/';
  const parsed = URL.parse(value, 'http://console.invalid');
  if (!parsed || parsed.origin !== 'http://console.invalid') return '/';
  return `${parsed.pathname}${parsed.search}${parsed.hash}`;
}
