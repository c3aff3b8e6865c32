import type { Duration } from "aws-cdk-lib";
import { Archive, type EventPattern, type IEventBus } from "aws-cdk-lib/aws-events";
import type { IConstruct } from "constructs";
import { invalid, secondsOf } from "../runtime/validation.js";
import { SPOOL_EVENT_ARCHIVE_PATTERN } from "./contract.js";

/** What the TransactionalOutbox's archive props say, before they are checked. */
export interface OutboxArchiveProps {
  readonly archiveRetention?: Duration | undefined;
  readonly archiveEventPattern?: EventPattern | undefined;
}

const DAY_SECONDS = 86_400;

/**
 * Checks the archive props: `archiveRetention` a whole number of days, at least one (an archive
 * kept forever is a cost nobody chose: EventBridge's own default, 0, is not offered), and the
 * pattern only with it.
 */
export function validateOutboxArchive(scope: IConstruct, props: OutboxArchiveProps): void {
  const seconds = secondsOf(props.archiveRetention);
  if (seconds !== undefined && (seconds < DAY_SECONDS || seconds % DAY_SECONDS !== 0)) {
    invalid(
      scope,
      `archiveRetention must be a whole number of days, at least 1, got ${seconds / DAY_SECONDS} days (${seconds} s)`,
    );
  }
  if (props.archiveRetention === undefined && props.archiveEventPattern !== undefined) {
    invalid(
      scope,
      `archiveEventPattern needs archiveRetention (the archive it filters), got ${JSON.stringify(props.archiveEventPattern)} without it`,
    );
  }
}

/**
 * The EventBridge archive of the events the outbox publishes, on the bus it publishes to: by
 * default every event in Spool's envelope (`detail.id` and `detail.schemaVersion` present), which
 * is what `spool events replay` replays. Undefined without `archiveRetention`.
 */
export function outboxArchive(
  scope: IConstruct,
  eventBus: IEventBus,
  props: OutboxArchiveProps,
): Archive | undefined {
  if (props.archiveRetention === undefined) return undefined;
  return new Archive(scope, "Archive", {
    sourceEventBus: eventBus,
    description: "Spool: the events the outbox published, for spool events replay",
    eventPattern: props.archiveEventPattern ?? SPOOL_EVENT_ARCHIVE_PATTERN,
    retention: props.archiveRetention,
  });
}
