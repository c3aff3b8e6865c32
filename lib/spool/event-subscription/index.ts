export { EventSubscription, type EventSubscriptionProps } from "./event-subscription.js";
