export {
  type ConsumedQueue,
  consumerBundling,
  QueueConsumer,
  type QueueConsumerProps,
  type RetryBackoff,
} from "./queue-consumer.js";
