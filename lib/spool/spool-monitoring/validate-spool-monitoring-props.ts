import type { Duration } from "aws-cdk-lib";
import type { IConstruct } from "constructs";
import { requireDuration } from "../runtime/validation.js";

/** The sampler's timings, defaults filled in. */
export interface SamplerTimings {
  readonly sampleInterval: Duration;
  readonly processingRateWindow: Duration;
  readonly deadLetterGrowthWindow: Duration;
}

/**
 * Refuses sampler timings the sampler cannot honour, naming the monitoring's path, the prop and
 * the value: schedules run in whole minutes, and growth needs at least two samples to compare.
 */
export function validateSpoolMonitoringProps(scope: IConstruct, timings: SamplerTimings): void {
  requireDuration(scope, "sampleInterval", timings.sampleInterval, 60, 3_600, {
    wholeMinutes: true,
  });
  requireDuration(scope, "processingRateWindow", timings.processingRateWindow, 60, 3_600, {
    wholeMinutes: true,
  });
  requireDuration(
    scope,
    "deadLetterGrowthWindow",
    timings.deadLetterGrowthWindow,
    2 * timings.sampleInterval.toSeconds(),
    86_400,
    { wholeMinutes: true },
  );
}
