import { createHash, randomUUID } from "node:crypto";
import {
  type CancellationReason,
  type DynamoDBClient,
  GetItemCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
} from "@aws-sdk/client-dynamodb";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import { canonicalJson } from "../../lib/spool/runtime/canonical-json.js";
import { newCorrelationId } from "../../lib/spool/runtime/correlation.js";
import { intEnv, requireEnv } from "../../lib/spool/runtime/env.js";
import { createEvent, type SpoolEvent } from "../../lib/spool/runtime/envelope.js";
import { TransientError } from "../../lib/spool/runtime/errors.js";
import { outboxPut } from "../../lib/spool/transactional-outbox/runtime/outbox.js";
import { SET_BY_STACK } from "../env.js";
import { CHECKOUT_KEY_PREFIX } from "./contract.js";
import { CHECKOUT_SOURCE, CheckoutRequest, ORDER_PLACED, type OrderPlacedData } from "./schema.js";

/*
 * Why the idempotency record is written inside the order's transaction, not by Powertools
 * idempotency around the handler:
 *
 * Powertools writes an INPROGRESS record, runs the handler, then marks the record COMPLETED, in
 * three separate writes. If the function dies after the order is written but before COMPLETED
 * is stored, the record expires from INPROGRESS and the caller's retry runs the handler again:
 * a second order, under a new order id. Here the key, the order and its outbox event commit in
 * one TransactWriteItems, so a retry either finds the key (and returns the stored result) or
 * finds that nothing at all was written. The key cannot exist without its order, nor the order
 * without its event.
 */

export interface CheckoutDeps {
  readonly dynamo: DynamoDBClient;
  readonly ordersTable: string;
  readonly outboxTable: string;
  /** Shared with Powertools records; Spool's checkout keys are prefixed `checkout#`. */
  readonly idempotencyTable: string;
  /** How long a key keeps answering with its first result (then it may place a new order). */
  readonly idempotencyTtlSeconds: number;
  readonly now: () => Date;
  readonly newId: () => string;
  readonly random: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

export interface PlacedOrder {
  readonly orderId: string;
  readonly eventId: string;
  readonly correlationId: string;
  readonly totalCents: number;
  readonly currency: string;
  readonly placedAt: string;
}

export type CheckoutResponse =
  | ({ readonly outcome: "created" | "replayed" } & PlacedOrder)
  | {
      readonly outcome: "rejected";
      readonly error: {
        readonly code: "INVALID_REQUEST" | "IDEMPOTENCY_KEY_REUSED";
        readonly message: string;
        readonly issues?: { path: string; message: string }[];
      };
    };

/** Attribute names of Powertools' DynamoDB persistence layer, so both kinds of record read alike. */
const RECORD = {
  key: "id",
  expiry: "expiration",
  status: "status",
  data: "data",
  validation: "validation",
} as const;

/** Transaction items, in order: CancellationReasons come back in the same order. */
const IDEMPOTENCY_ITEM = 0;
const MAX_CONFLICT_ATTEMPTS = 4;

export function idempotencyRecordKey(customerId: string, idempotencyKey: string): string {
  return `${CHECKOUT_KEY_PREFIX}${customerId}#${idempotencyKey}`;
}

export function orderKey(orderId: string) {
  return { pk: `order#${orderId}`, sk: "order" };
}

/** What must match for a repeated key to be "the same request": everything but key and trace id. */
export function requestHash(request: CheckoutRequest): string {
  const { idempotencyKey: _key, correlationId: _trace, ...content } = request;
  return createHash("sha256").update(canonicalJson(content)).digest("hex");
}

export function defaultCheckoutDeps(
  dynamo: DynamoDBClient,
  env: NodeJS.ProcessEnv = process.env,
): CheckoutDeps {
  return {
    dynamo,
    ordersTable: requireEnv("ORDERS_TABLE", SET_BY_STACK, env),
    outboxTable: requireEnv("OUTBOX_TABLE", SET_BY_STACK, env),
    idempotencyTable: requireEnv("IDEMPOTENCY_TABLE", SET_BY_STACK, env),
    idempotencyTtlSeconds: intEnv(
      "CHECKOUT_IDEMPOTENCY_TTL_SECONDS",
      { min: 1, fallback: 86_400 },
      env,
    ),
    now: () => new Date(),
    newId: randomUUID,
    random: Math.random,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
}

/**
 * Places an order: validates the request, then writes the idempotency record, the order and
 * its `OrderPlaced` outbox event in one transaction. Bad input is answered, not thrown, and
 * writes nothing. A thrown error means "nothing decided, retry with the same key".
 */
export async function checkout(input: unknown, deps: CheckoutDeps): Promise<CheckoutResponse> {
  const parsed = CheckoutRequest.safeParse(input);
  if (!parsed.success) {
    return {
      outcome: "rejected",
      error: {
        code: "INVALID_REQUEST",
        message: "the checkout request is invalid; nothing was written",
        issues: parsed.error.issues.slice(0, 10).map((i) => ({
          path: i.path.join("."),
          message: i.message,
        })),
      },
    };
  }
  const request = parsed.data;
  const hash = requestHash(request);

  for (let attempt = 1; ; attempt++) {
    const now = deps.now();
    const placed = newOrder(request, deps, now);
    try {
      await deps.dynamo.send(
        new TransactWriteItemsCommand({
          TransactItems: transactionItems(request, placed, hash, deps, now),
        }),
      );
      return { outcome: "created", ...placed.result };
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const reasons = error.CancellationReasons ?? [];
      const keyReason = reasons[IDEMPOTENCY_ITEM];
      if (keyReason?.Code === "ConditionalCheckFailed") {
        return answerFromRecord(request, hash, keyReason, deps);
      }
      if (
        reasons.some((r) => r.Code === "TransactionConflict") &&
        attempt < MAX_CONFLICT_ATTEMPTS
      ) {
        // Another request with this key is committing right now; once it has, the next attempt
        // finds its record and answers from it. Full jitter keeps concurrent retries apart.
        await deps.sleep(Math.floor(deps.random() * 50 * 2 ** attempt));
        continue;
      }
      throw new TransientError("the checkout transaction was cancelled; retry with the same key", {
        code: "CHECKOUT_CANCELLED",
        cause: error,
        details: { reasons: reasons.map((r) => r.Code ?? "None") },
      });
    }
  }
}

interface NewOrder {
  readonly event: SpoolEvent<OrderPlacedData>;
  readonly result: PlacedOrder;
}

function newOrder(request: CheckoutRequest, deps: CheckoutDeps, now: Date): NewOrder {
  const orderId = deps.newId();
  const correlationId = request.correlationId ?? newCorrelationId();
  const totalCents = request.items.reduce((sum, i) => sum + i.quantity * i.unitPriceCents, 0);
  const placedAt = now.toISOString();
  const event = createEvent<OrderPlacedData>({
    ...ORDER_PLACED,
    id: deps.newId(),
    source: CHECKOUT_SOURCE,
    correlationId,
    time: now,
    data: {
      orderId,
      customerId: request.customerId,
      email: request.email,
      currency: request.currency,
      items: request.items,
      totalCents,
      placedAt,
    },
  });
  return {
    event,
    result: {
      orderId,
      eventId: event.id,
      correlationId,
      totalCents,
      currency: request.currency,
      placedAt,
    },
  };
}

export function transactionItems(
  request: CheckoutRequest,
  placed: NewOrder,
  hash: string,
  deps: Pick<
    CheckoutDeps,
    "ordersTable" | "outboxTable" | "idempotencyTable" | "idempotencyTtlSeconds"
  >,
  now: Date,
) {
  const nowSeconds = Math.floor(now.getTime() / 1000);
  const { result } = placed;
  return [
    {
      Put: {
        TableName: deps.idempotencyTable,
        Item: marshall({
          [RECORD.key]: idempotencyRecordKey(request.customerId, request.idempotencyKey),
          [RECORD.expiry]: nowSeconds + deps.idempotencyTtlSeconds,
          [RECORD.status]: "COMPLETED",
          [RECORD.data]: JSON.stringify(result),
          [RECORD.validation]: hash,
        }),
        // An expired record that TTL has not swept yet no longer holds the key.
        ConditionExpression: "attribute_not_exists(#key) OR #expiry < :now",
        ExpressionAttributeNames: { "#key": RECORD.key, "#expiry": RECORD.expiry },
        ExpressionAttributeValues: marshall({ ":now": nowSeconds }),
        // The stored result comes back with the cancellation: no second read for a retry.
        ReturnValuesOnConditionCheckFailure: "ALL_OLD" as const,
      },
    },
    {
      Put: {
        TableName: deps.ordersTable,
        Item: marshall({
          ...orderKey(result.orderId),
          orderId: result.orderId,
          customerId: request.customerId,
          email: request.email,
          currency: request.currency,
          items: request.items,
          totalCents: result.totalCents,
          status: "PLACED",
          placedAt: result.placedAt,
          correlationId: result.correlationId,
          idempotencyKey: request.idempotencyKey,
          eventId: result.eventId,
        }),
        ConditionExpression: "attribute_not_exists(pk)",
      },
    },
    outboxPut(deps.outboxTable, placed.event, result.orderId),
  ];
}

async function answerFromRecord(
  request: CheckoutRequest,
  hash: string,
  reason: CancellationReason,
  deps: CheckoutDeps,
): Promise<CheckoutResponse> {
  const item =
    reason.Item ??
    (
      await deps.dynamo.send(
        new GetItemCommand({
          TableName: deps.idempotencyTable,
          Key: marshall({
            [RECORD.key]: idempotencyRecordKey(request.customerId, request.idempotencyKey),
          }),
          ConsistentRead: true,
        }),
      )
    ).Item;
  const data = item ? unmarshall(item) : undefined;
  if (!data || typeof data[RECORD.data] !== "string") {
    // The record vanished between the cancellation and the read (TTL): nothing is decided.
    throw new TransientError("the idempotency record changed while reading it; retry", {
      code: "IDEMPOTENCY_RECORD_RACE",
    });
  }
  if (data[RECORD.validation] !== hash) {
    return {
      outcome: "rejected",
      error: {
        code: "IDEMPOTENCY_KEY_REUSED",
        message: `idempotency key ${request.idempotencyKey} was already used for a different checkout request; use a new key for a new order`,
      },
    };
  }
  return { outcome: "replayed", ...(JSON.parse(data[RECORD.data] as string) as PlacedOrder) };
}
