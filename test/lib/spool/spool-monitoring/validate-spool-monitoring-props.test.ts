import { Duration } from "aws-cdk-lib";
import { describe, expect, it } from "vitest";
import { SpoolValidationError } from "../../../../lib/spool/runtime/validation.js";
import type { SpoolMonitoringProps } from "../../../../lib/spool/spool-monitoring/index.js";
import { thrownBy } from "../../../helpers/errors.js";
import { monitoredStack } from "../../../helpers/spool-monitoring.js";

describe("SpoolMonitoring props validation", () => {
  it.each([
    [
      { sampleInterval: Duration.seconds(90) },
      "sampleInterval must be a whole number of minutes, got 90 s",
    ],
    [
      { deadLetterGrowthWindow: Duration.minutes(1) },
      "deadLetterGrowthWindow must be from 2 min to 1 day, got 1 min",
    ],
    [
      { processingRateWindow: Duration.hours(2) },
      "processingRateWindow must be from 1 min to 1 h, got 2 h",
    ],
  ] as [SpoolMonitoringProps, string][])("fails synthesis for %j", (props, message) => {
    expect(() => monitoredStack(props)).toThrow(message);
  });

  it("names the monitoring's path, the prop and the value", () => {
    const error = thrownBy(() => monitoredStack({ sampleInterval: Duration.seconds(90) }));
    expect(error).toBeInstanceOf(SpoolValidationError);
    expect(error).toMatchObject({
      constructPath: "Ops/Monitoring",
      message: "Ops/Monitoring: sampleInterval must be a whole number of minutes, got 90 s",
    });
  });
});
