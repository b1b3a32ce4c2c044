/**
 * Whether a port can be listened on, found by listening and closing at once:
 * the demo and the issuer check their ports before they create anything (a
 * signing key, a data dir) that a busy port would leave behind. Another
 * process can still take the port between the probe and the real listen; the
 * callers report that the same way.
 */
import { createServer } from 'node:net';

/** Resolves when `host:port` could be listened on; rejects with the listen error (EADDRINUSE, EACCES…). Port 0 always resolves. */
export async function probePort(port: number, host: string): Promise<void> {
  if (port === 0) return;
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}
