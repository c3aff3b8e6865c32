export {
  EventSubscription,
  type EventSubscriptionProps,
  type SubscribedPayloadStore,
} from "./event-subscription.js";
export {
  type EventSubscriptionAlarmOptions,
  type EventSubscriptionMonitoringOptions,
  eventSubscriptionKind,
} from "./monitoring.js";
