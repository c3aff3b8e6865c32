import { describe, expect, it } from "vitest";
import { lanesEnvName, laneUrlEnvName } from "../../../../../lib/spool/priority-lanes/contract.js";
import { laneNames, laneUrl } from "../../../../../lib/spool/priority-lanes/runtime/lanes.js";

const env = {
  [lanesEnvName("exports")]: "high,low",
  [laneUrlEnvName("exports", "high")]: "https://sqs/exports-high",
  [laneUrlEnvName("exports", "low")]: "https://sqs/exports-low",
};

describe("laneUrl", () => {
  it("finds each lane's queue URL", () => {
    expect(laneUrl("exports", "high", env)).toBe("https://sqs/exports-high");
    expect(laneUrl("exports", "low", env)).toBe("https://sqs/exports-low");
    expect(laneNames("exports", env)).toEqual(["high", "low"]);
  });

  it("refuses a lane the group lacks, naming its lanes", () => {
    expect(() => laneUrl("exports", "urgent", env)).toThrow(
      'priority lanes "exports" have no lane "urgent"; its lanes: high, low',
    );
  });

  it("refuses a group the function was never granted", () => {
    const unset =
      'no priority lanes "imports" in this function\'s environment (SPOOL_LANES_IMPORTS is unset): grant it with lanes.grantSend(fn)';
    expect(() => laneUrl("imports", "high", env)).toThrow(unset);
    expect(() => laneNames("imports", env)).toThrow(unset);
  });
});
