export {
  type ConsumerAlarmOptions,
  type ConsumerMonitoringOptions,
  consumerKind,
} from "./monitoring.js";
export {
  type ConsumedQueue,
  QueueConsumer,
  type QueueConsumerProps,
  type RetryBackoff,
} from "./queue-consumer.js";
