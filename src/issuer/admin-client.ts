/**
 * Client side of the admin routes, for `portcullis token` and
 * `portcullis issuer rotate`. "Nothing listens" is a normal outcome (the
 * caller then works on the data dir); any other failure is an error.
 */
export type AdminCallResult<T> = { kind: 'ok'; value: T } | { kind: 'unreachable' };

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EADDRNOTAVAIL', 'EHOSTUNREACH']);

export async function callAdmin<T>(issuerUrl: string, path: string, body: unknown, timeoutMs = 5_000): Promise<AdminCallResult<T>> {
  let response: Response;
  try {
    response = await fetch(new URL(path, issuerUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    const code = (error as { cause?: { code?: string } }).cause?.code;
    if (code !== undefined && UNREACHABLE_CODES.has(code)) return { kind: 'unreachable' };
    const reason = code ?? (error as { cause?: Error }).cause?.message ?? (error as Error).message;
    throw new Error(`cannot reach the issuer at ${issuerUrl}: ${reason}`, { cause: error });
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const message = (parsed as { errorMessage?: unknown } | undefined)?.errorMessage;
    throw new Error(`issuer at ${issuerUrl} answered ${response.status}${typeof message === 'string' ? `: ${message}` : ''}`);
  }
  if (parsed === undefined) throw new Error(`issuer at ${issuerUrl} answered something other than JSON`);
  return { kind: 'ok', value: parsed as T };
}
