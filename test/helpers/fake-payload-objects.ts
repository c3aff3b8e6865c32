import type { PayloadObjects, PayloadPointer } from "../../lib/spool/runtime/payload-pointer.js";

/** A payload store in memory: objects by bucket and key, every call recorded. */
export class FakePayloadObjects implements PayloadObjects {
  readonly objects = new Map<string, string>();
  readonly puts: PayloadPointer[] = [];
  readonly gets: PayloadPointer[] = [];
  /** When set, every get throws it (a throttled or unreachable S3). */
  failGetsWith: Error | undefined;

  static id(pointer: PayloadPointer): string {
    return `${pointer.bucket}/${pointer.key}`;
  }

  async put(pointer: PayloadPointer, body: string): Promise<void> {
    this.puts.push(pointer);
    this.objects.set(FakePayloadObjects.id(pointer), body);
  }

  async get(pointer: PayloadPointer): Promise<string | undefined> {
    this.gets.push(pointer);
    if (this.failGetsWith) throw this.failGetsWith;
    return this.objects.get(FakePayloadObjects.id(pointer));
  }
}
