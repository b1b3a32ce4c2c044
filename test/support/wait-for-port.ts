/**
 * Waiting for a real process (nginx, Caddy, a README snippet) to listen:
 * none of them says when it does in a form worth parsing, so the port is the
 * signal. Fails as soon as the process is gone, naming why.
 */
import { connect } from 'node:net';

/**
 * Resolves once 127.0.0.1:`port` accepts a connection; rejects when
 * `exited()` reports the process gone, or after 10 s.
 */
export async function waitForPort(port: number, exited: () => string | undefined): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const gone = exited();
    if (gone !== undefined) throw new Error(gone);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nothing listened on 127.0.0.1:${port} within 10 s`);
}
