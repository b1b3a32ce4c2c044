/**
 * What the metrics read from a running gateway or forward-auth at scrape
 * time, through a getter for the bound plan (a reload swaps it).
 */
import type { BoundPlan } from '../runtime/bind-plan.js';
import type { MetricSources } from './prometheus.js';

export function boundPlanSources(bound: () => BoundPlan | undefined, droppedLogLines: () => number): MetricSources {
  return {
    keySets: () => bound()?.usedKeySets.map((keySet) => keySet.status()) ?? [],
    cache: () => bound()?.cache,
    droppedLogLines,
    revocation: () => bound()?.revocation?.status(),
    redisLimiters: () => bound()?.fleet.redisLimiters().map(({ scope, limiter }) => ({ scope, stats: limiter.stats() })) ?? [],
  };
}
