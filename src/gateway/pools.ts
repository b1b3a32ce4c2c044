/**
 * Backend connections: one keep-alive undici Pool per origin, shared by every
 * endpoint, and a round-robin target over each backend's hosts, which also
 * holds the pools of the origins its redirects may lead to.
 */
import { Pool } from 'undici';

export interface BackendTarget {
  /** The next host in round-robin order. */
  next(): { readonly pool: Pool; readonly origin: string; readonly prefix: string };
  /** The pool of an origin this backend's redirects may lead to, undefined for any other origin. */
  poolFor(origin: string): Pool | undefined;
}

export interface BackendPools {
  /** A round-robin target over these base URLs (`scheme://host:port[/prefix]`); redirects may lead to `redirectOrigins` too. */
  target(hosts: readonly string[], redirectOrigins?: readonly string[]): BackendTarget;
  /** Closes every connection now. */
  destroy(): Promise<void>;
}

export interface PoolOptions {
  /** Idle time before a backend connection is closed (default 4 s, under the usual 5 s server keep-alive). */
  keepAliveTimeoutMs?: number;
  /** Connections per origin; unlimited by default. */
  connections?: number | null;
}

export function createBackendPools(options: PoolOptions = {}): BackendPools {
  const pools = new Map<string, Pool>();

  function poolFor(origin: string): Pool {
    let pool = pools.get(origin);
    if (pool === undefined) {
      pool = new Pool(origin, {
        connections: options.connections ?? null,
        keepAliveTimeout: options.keepAliveTimeoutMs ?? 4000,
        pipelining: 1,
      });
      pools.set(origin, pool);
    }
    return pool;
  }

  return {
    target(hosts, redirectOrigins = []) {
      const entries = hosts.map((host) => {
        const url = new URL(host);
        const prefix = url.pathname === '/' ? '' : url.pathname.replace(/\/+$/, '');
        return Object.freeze({ pool: poolFor(url.origin), origin: url.origin, prefix });
      });
      if (entries.length === 0) throw new Error('a backend needs at least one host');
      // Made on first use: most backends never redirect.
      const allowed = new Set([...entries.map((entry) => entry.origin), ...redirectOrigins.map((origin) => new URL(origin).origin)]);
      const redirectPool = (origin: string) => (allowed.has(origin) ? poolFor(origin) : undefined);
      if (entries.length === 1) {
        const only = entries[0]!;
        return { next: () => only, poolFor: redirectPool };
      }
      let index = 0;
      return {
        next() {
          const entry = entries[index]!;
          index = index + 1 === entries.length ? 0 : index + 1;
          return entry;
        },
        poolFor: redirectPool,
      };
    },
    async destroy() {
      await Promise.all([...pools.values()].map((pool) => pool.destroy().catch(() => undefined)));
    },
  };
}
