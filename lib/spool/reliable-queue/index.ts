export { ReliableQueue, type ReliableQueueProps } from "./reliable-queue.js";
