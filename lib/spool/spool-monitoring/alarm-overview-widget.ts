import { type Alarm, ConcreteWidget } from "aws-cdk-lib/aws-cloudwatch";

/** CloudWatch's limit per alarm-status widget. */
export const MAX_ALARMS_PER_WIDGET = 100;
/** The overview row holds at most this many alarm widgets side by side (each 6 units wide). */
export const MAX_OVERVIEW_WIDGETS = 4;

/** The alarm status of every alarm, filled in once synthesis has found them all. */
export class AlarmOverviewWidget extends ConcreteWidget {
  readonly #alarms: readonly Alarm[];

  constructor(alarms: readonly Alarm[]) {
    super(24, 6);
    this.#alarms = alarms;
  }

  override position(x: number, y: number): void {
    this.x = x;
    this.y = y;
  }

  /**
   * One alarm-status widget per 100 alarms (CloudWatch's limit), side by side in the overview
   * row: the row's height is fixed when the dashboard is laid out, before the alarms are known.
   */
  override toJson(): unknown[] {
    const alarms = this.#alarms.slice(0, MAX_ALARMS_PER_WIDGET * MAX_OVERVIEW_WIDGETS);
    const parts = Math.max(1, Math.ceil(alarms.length / MAX_ALARMS_PER_WIDGET));
    const width = Math.floor(this.width / parts);
    return Array.from({ length: parts }, (_, i) => ({
      type: "alarm",
      width,
      height: this.height,
      x: (this.x ?? 0) + i * width,
      y: this.y,
      properties: {
        title: parts > 1 ? `Alarms (${i + 1} of ${parts})` : "Alarms",
        alarms: alarms
          .slice(i * MAX_ALARMS_PER_WIDGET, (i + 1) * MAX_ALARMS_PER_WIDGET)
          .map((a) => a.alarmArn),
        sortBy: "stateUpdatedTimestamp",
      },
    }));
  }
}
