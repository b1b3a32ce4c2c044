/**
 * Starts the revocation admin listener next to a serving command when the
 * config asks for one (`auth/revoker.admin`). A missing or short admin token
 * stops startup with the JSON path: an admin port without a credential would
 * let anyone who reaches it revoke every user.
 */
import { readAdminToken, startRevocationAdmin, type RevocationAdmin } from '../admin/revocation-admin.js';
import type { GatewayPlan } from '../config/plan.js';
import type { Logger } from '../lib/logger.js';
import type { RevocationStore } from '../revocation/store.js';

export async function startAdminIfConfigured(
  plan: GatewayPlan,
  store: () => RevocationStore | undefined,
  logger: Logger,
  env: NodeJS.ProcessEnv = process.env,
): Promise<RevocationAdmin | undefined> {
  const revocation = plan.revocation;
  const admin = revocation?.admin;
  if (revocation === undefined || admin === undefined) return undefined;
  const token = readAdminToken(admin, env);
  return startRevocationAdmin({ store, rules: revocation, token, port: admin.port, host: admin.listenIp, logger });
}

/** With --workers every process holds its own memory: a revocation would reach one worker in N. */
export function workersNeedSharedRevocation(plan: GatewayPlan, workers: number): { path: string; message: string }[] {
  if (workers <= 1 || plan.revocation === undefined || plan.revocation.pool !== undefined) return [];
  return [
    {
      path: `${plan.revocation.path}.connection_pool`,
      message: `with --workers ${workers} each worker would hold its own revocations: name a redis pool so every worker shares them`,
    },
  ];
}
