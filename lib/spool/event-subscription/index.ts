export { EventSubscription, type EventSubscriptionProps } from "./event-subscription.js";
export {
  type EventSubscriptionAlarmOptions,
  type EventSubscriptionMonitoringOptions,
  eventSubscriptionKind,
} from "./monitoring.js";
