/**
 * The issuer's signing algorithms and issuer forms, apart from config.ts so
 * that the schema (config-schema.ts) and the code that checks a value against
 * them (config.ts) share one list without either loading the other.
 */
export const ISSUER_ALGS = ['RS256', 'ES256', 'ES384', 'EdDSA'] as const;
export type IssuerAlg = (typeof ISSUER_ALGS)[number];

export const ISSUER_FORMS = ['project', 'url', 'apps'] as const;
/** `project`: bare project id; `url`: `<base>/<pid>`; `apps`: `<base>/v1/apps/<pid>` (descope.md §5). */
export type IssuerForm = (typeof ISSUER_FORMS)[number];
