/**
 * examples/nginx/portcullis.json, the forward-auth config every proxy test
 * (nginx, Caddy, the README's snippets) runs as written, except that its
 * validators download their keys from the test's own JWKS server.
 */
import { readFileSync } from 'node:fs';
import { fromRoot } from './repo-root.js';

export const FORWARD_AUTH_EXAMPLE = 'examples/nginx/portcullis.json';

export interface ForwardAuthExample {
  port: number;
  endpoints: { extra_config?: Record<string, Record<string, unknown>> }[];
}

export function forwardAuthExample(jwksUrl: string): ForwardAuthExample {
  const path = fromRoot(FORWARD_AUTH_EXAMPLE);
  const config = JSON.parse(readFileSync(path, 'utf8')) as ForwardAuthExample;
  for (const endpoint of config.endpoints) {
    const validator = endpoint.extra_config?.['auth/validator'];
    if (validator) validator.jwk_url = jwksUrl;
  }
  return config;
}
