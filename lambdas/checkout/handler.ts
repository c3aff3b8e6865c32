import { Logger } from "@aws-lambda-powertools/logger";
import { dynamoClient } from "../../lib/spool/runtime/clients.js";
import { faultInjectorFromEnv } from "../../lib/spool/runtime/faults.js";
import { type CheckoutResponse, checkout, defaultCheckoutDeps } from "./place-order.js";

const logger = new Logger();
const deps = defaultCheckoutDeps(dynamoClient(faultInjectorFromEnv()));

/** Invoked directly (or behind an API) with a checkout request; answers with the outcome. */
export async function handler(event: unknown): Promise<CheckoutResponse> {
  const response = await checkout(event, deps);
  if (response.outcome === "rejected") {
    logger.warn("checkout rejected", { error: response.error });
  } else {
    logger.info(`checkout ${response.outcome}`, {
      orderId: response.orderId,
      eventId: response.eventId,
      correlationId: response.correlationId,
    });
  }
  return response;
}
