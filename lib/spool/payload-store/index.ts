export {
  DEFAULT_OFFLOAD_THRESHOLD_BYTES,
  DEFAULT_REPLAY_MARGIN_DAYS,
  PAYLOAD_BUCKET_ENV,
  PAYLOAD_KEY_PREFIX,
  PAYLOAD_SIZE_ATTRIBUTE,
  POINTER_CLASS,
} from "./contract.js";
export {
  PayloadStore,
  type PayloadStoreProps,
  type RetainingQueue,
} from "./payload-store.js";
