/**
 * KrakenD's `/__health` answer (krakend-compat.md §7): 200 with
 * `{"agents":{},"now":"<Go time.Now().String()>","status":"ok"}`. It is never
 * behind `auth/validator`.
 */
import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';

/**
 * Go's `time.Now().String()` in UTC: `2025-05-01 10:00:00.123456789 +0000 UTC m=+12.345678901`.
 * Go trims trailing zeros of the fraction (`.999999999` layout); the monotonic
 * reading always has nine digits. Clients are not meant to parse it.
 */
export function goTimeString(epochNs: bigint, monotonicNs: bigint): string {
  const ms = Number(epochNs / 1_000_000n);
  const iso = new Date(ms).toISOString(); // 2025-05-01T10:00:00.123Z
  const fraction = String(epochNs % 1_000_000_000n).padStart(9, '0').replace(/0+$/, '');
  const seconds = `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction ? `.${fraction}` : ''}`;
  const mono = `${monotonicNs / 1_000_000_000n}.${String(monotonicNs % 1_000_000_000n).padStart(9, '0')}`;
  return `${seconds} +0000 UTC m=+${mono}`;
}

export function healthBody(): string {
  const nowMs = performance.timeOrigin + performance.now();
  const epochNs = BigInt(Math.floor(nowMs)) * 1_000_000n + BigInt(Math.floor((nowMs % 1) * 1e6));
  const monotonicNs = BigInt(Math.floor(performance.now() * 1e6));
  return `{"agents":{},"now":${JSON.stringify(goTimeString(epochNs, monotonicNs))},"status":"ok"}`;
}

export function sendHealth(res: ServerResponse, method: string): void {
  const body = healthBody();
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(method === 'HEAD' ? undefined : body);
}
