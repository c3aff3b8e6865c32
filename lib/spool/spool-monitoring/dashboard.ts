import { Duration } from "aws-cdk-lib";
import { type Alarm, Dashboard, TextWidget } from "aws-cdk-lib/aws-cloudwatch";
import type { Construct } from "constructs";
import { AlarmOverviewWidget } from "./alarm-overview-widget.js";

/**
 * The monitoring dashboard's frame: a heading with the CLI commands an operator reaches for,
 * then the status of `alarms` (filled in as synthesis finds them). Each kind adds its section
 * below.
 */
export function createDashboard(
  scope: Construct,
  options: { readonly dashboardName: string; readonly stackName: string },
  alarms: readonly Alarm[],
): Dashboard {
  const dashboard = new Dashboard(scope, "Dashboard", {
    dashboardName: options.dashboardName,
    defaultInterval: Duration.hours(3),
  });
  dashboard.addWidgets(
    new TextWidget({
      markdown: [
        `# ${options.stackName}: Spool operations`,
        "Generated from the stack's constructs: a section per kind of resource it contains (queues, consumers, and whatever kinds were added: workflows, schedules).",
        "From a terminal: `npx spool status`, `npx spool dlq list <queue>`, `npx spool dlq replay <queue> --dry-run`, `npx spool jobs show <id>`, `npx spool schedules list`.",
      ].join("\n\n"),
      width: 24,
      height: 3,
    }),
  );
  dashboard.addWidgets(new AlarmOverviewWidget(alarms));
  return dashboard;
}
