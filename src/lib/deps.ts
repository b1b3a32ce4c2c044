/**
 * What every long-lived part takes from outside: the clock, the logger and
 * the undici dispatcher for downloads. Declared once, so the gateway,
 * forward-auth, the Lambda authorizer, the library and the key sets all
 * accept the same three and default them the same way.
 */
import type { Dispatcher } from 'undici';
import { systemClock, type Clock } from './clock.js';
import { silentLogger, type Logger } from './logger.js';

export interface Deps {
  clock: Clock;
  logger: Logger;
  /** For JWKS and discovery downloads; tests inject one. Undefined means undici's global dispatcher. */
  dispatcher: Dispatcher | undefined;
}

export function resolveDeps(partial: Partial<Deps> = {}): Deps {
  return { clock: partial.clock ?? systemClock, logger: partial.logger ?? silentLogger, dispatcher: partial.dispatcher };
}
