/**
 * A gateway plan from a config object, through the same loader and compiler as
 * `portcullis run` (the object is serialised and parsed as a file would be).
 */
import { compileGateway, type GatewayPlan, type ServerLimits } from '../../src/config/compile.js';
import { parseConfigText } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/validate.js';
import { checkPlanSources } from '../../src/runtime/bind.js';

export interface PlanOptions {
  /** Unknown keys are errors, as with `--strict`. */
  strict?: boolean;
  /** Also read the static key files and CA files now, as `portcullis run` does before it starts (a ConfigError otherwise surfaces at startGateway). */
  checkSources?: boolean;
  /** Server limits to override (smaller bodies, fewer headers) without spelling them in the config. */
  limits?: Partial<ServerLimits>;
}

export function planFrom(config: unknown, options: PlanOptions = {}): GatewayPlan {
  const { config: parsed } = parseConfigText(JSON.stringify(config), 'test.json', { strict: options.strict === true });
  const plan = compileGateway(parsed);
  if (options.checkSources) {
    const issues = checkPlanSources(plan);
    if (issues.length > 0) throw new ConfigError(issues);
  }
  return options.limits ? { ...plan, limits: { ...plan.limits, ...options.limits } } : plan;
}
