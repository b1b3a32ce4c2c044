/** Request headers as Node gives them: lower-case names, a string or a list of strings. */
export type HeaderBag = Readonly<Record<string, string | readonly string[] | undefined>>;

/** The single value of a header; undefined when absent, and for a repeated header, so ambiguity never authorizes. */
export function headerValue(headers: HeaderBag, lowerName: string): string | undefined {
  const value = headers[lowerName];
  return typeof value === 'string' ? value : undefined;
}
