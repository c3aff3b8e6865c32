export {
  grantIdempotencyRecords,
  IDEMPOTENCY_EXPIRY_ATTRIBUTE,
  IDEMPOTENCY_KEY_ATTRIBUTE,
  IdempotencyTable,
  type IdempotencyTableProps,
} from "./idempotency-table.js";
