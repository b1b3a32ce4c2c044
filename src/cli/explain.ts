/**
 * `portcullis explain -c FILE --endpoint PATH [--method M] [TOKEN]`: why is my
 * token accepted or rejected? Prints every check with pass or fail and the
 * reason, then the gateway's decision. Exit code 0 = allow, 1 = deny,
 * 2 = the config or the arguments are wrong.
 *
 * The flags are declared in commands/explain.ts, which imports this file only when
 * the command runs.
 */
import { loadGatewayPlan } from '../config/load.js';
import { ConfigError } from '../config/validate.js';
import { createRouter } from '../routing/router.js';
import { createVerifiedTokenCache } from '../authorizer/cache.js';
import { createKeySetRegistry } from '../keys/registry.js';
import { bindPolicy } from '../runtime/bind.js';
import { explainRequest, formatExplanation } from '../authorizer/explain.js';
import { systemClock } from '../lib/clock.js';
import { configErrorLines, type CliIo } from './shared.js';

export interface ExplainOptions {
  config: string;
  endpoint: string;
  method: string;
  header?: string;
}

/** Returns the exit code: 0 allow, 1 deny, 2 a wrong config or endpoint. */
export async function explainCommand(tokenArgument: string | undefined, options: ExplainOptions, io: CliIo): Promise<number> {
  let plan;
  try {
    ({ plan } = loadGatewayPlan(options.config));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.stderr(`${configErrorLines(error).join('\n')}\n`);
    return 2;
  }
  const method = options.method.toUpperCase();
  const configured = plan.endpoints.find((e) => e.path === options.endpoint && e.method === method);
  const match = configured
    ? { kind: 'found' as const, endpoint: configured, params: {} as Record<string, string> }
    : createRouter(plan.endpoints).match(method, options.endpoint);
  if (match.kind !== 'found') {
    io.stderr(`no endpoint ${method} ${options.endpoint} in ${options.config}\n`);
    return 2;
  }
  const endpoint = match.endpoint;
  if (!endpoint.auth) {
    io.stdout(`${endpoint.label} has no auth/validator: every request is forwarded without a token check.\ndecision: allow\n`);
    return 0;
  }
  const token = (tokenArgument === undefined || tokenArgument === '-' ? io.readStdin() : tokenArgument).trim();
  const keySets = createKeySetRegistry();
  try {
    // The same binding as the gateway's, with a private cache: explain must verify, never reuse.
    const authorizer = bindPolicy(endpoint.auth, { keySets, cache: createVerifiedTokenCache(0), label: endpoint.label });
    await authorizer.ready();
    const headerName = authorizer.policy.extraction.headerName;
    const explanation = await explainRequest(authorizer, { headers: { [headerName]: token }, params: match.params }, systemClock);
    io.stdout(`${endpoint.label} ${method} ${options.endpoint}\n${formatExplanation(explanation)}`);
    return explanation.decision.allowed ? 0 : 1;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.stderr(`${configErrorLines(error).join('\n')}\n`);
    return 2;
  } finally {
    keySets.close();
  }
}
