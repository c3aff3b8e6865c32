export {
  type ConsumedQueue,
  QueueConsumer,
  type QueueConsumerProps,
  type RetryBackoff,
} from "./queue-consumer.js";
