/**
 * Which client headers never reach a backend because portcullis owns them.
 * CGI, WSGI, PHP and Rack backends read `X_User` and `X-User` as the same
 * variable (`HTTP_X_USER`), so names are compared with `_` read as `-`.
 *
 * - Identity headers: every header some endpoint propagates a claim into. They
 *   are stripped on every endpoint, public ones included, so a public route can
 *   never hand a backend a client-made `X-User`.
 * - Headers a policy reads (the tenant header of `tenant.from: "header"`): the
 *   checked spelling is forwarded as usual, any other spelling of it is dropped,
 *   so the backend cannot read a tenant other than the one that was checked.
 */

export interface StripRule {
  /** `name` is a lower-case client header name. */
  owns(name: string): boolean;
}

export const STRIP_NOTHING: StripRule = Object.freeze({ owns: () => false });

export function dashed(lowerName: string): string {
  return lowerName.indexOf('_') === -1 ? lowerName : lowerName.replace(/_/g, '-');
}

export function createStripRule(identityNames: Iterable<string>, checkedNames: Iterable<string>): StripRule {
  const identity = new Set<string>();
  for (const name of identityNames) identity.add(dashed(name.toLowerCase()));
  const checked = new Set<string>();
  for (const name of checkedNames) checked.add(name.toLowerCase());
  const checkedDashed = new Set([...checked].map(dashed));
  if (identity.size === 0 && checked.size === 0) return STRIP_NOTHING;
  return Object.freeze({
    owns(name: string): boolean {
      const key = dashed(name);
      if (identity.has(key)) return true;
      return checkedDashed.has(key) && !checked.has(name);
    },
  });
}
