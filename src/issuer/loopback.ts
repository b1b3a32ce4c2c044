/**
 * What "this machine only" means for the development issuer: loopback
 * listening addresses, and requests that come from a loopback client under a
 * loopback Host name. The admin routes and the token debugger answer only such
 * requests; the Host check defeats DNS rebinding (a web page whose own name
 * resolves to 127.0.0.1 sends its name as Host).
 */
import type { IncomingMessage } from 'node:http';
import { isIPv4, isIPv6 } from 'node:net';

/**
 * A listening address reachable only from this machine: 127.0.0.0/8, ::1 (also as ::ffff:127.x.x.x)
 * or `localhost`. Wildcards (`0.0.0.0`, `::`, ``), other names and other addresses are not.
 */
export function isLoopbackHost(host: string): boolean {
  const name = host.toLowerCase();
  if (name === 'localhost') return true;
  if (isIPv4(name)) return name.startsWith('127.');
  if (!isIPv6(name)) return false;
  try {
    const canonical = new URL(`http://[${name}]/`).hostname;
    return canonical === '[::1]' || /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(canonical);
  } catch {
    return false; // e.g. a zone id (fe80::1%eth0): link-local, not loopback
  }
}

function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  return address === '::1' || /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address);
}

/** The Host header names this machine by a loopback name: `localhost`, `127.x.x.x` or `[::1]`, with or without a port. */
export function hasLoopbackHostHeader(req: Pick<IncomingMessage, 'headers'>): boolean {
  const hostname = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/** From a loopback client, addressed by a loopback Host name. */
export function isLocalRequest(req: Pick<IncomingMessage, 'headers' | 'socket'>): boolean {
  return isLoopbackAddress(req.socket.remoteAddress) && hasLoopbackHostHeader(req);
}
