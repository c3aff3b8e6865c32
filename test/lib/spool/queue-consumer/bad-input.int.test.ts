import { SendMessageBatchCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { describe, expect, it } from "vitest";
import { spoolMessage } from "../../../../lib/spool/runtime/producer.js";
import {
  getItem,
  output,
  sqs,
  takeDeadLetters,
  uniqueId,
  waitFor,
} from "../../../helpers/cloud.js";

const RUN_ATTRIBUTE = "bad-input-run";
const CASE_ATTRIBUTE = "bad-input-case";

const valid = (id: string) => ({
  schemaVersion: 1,
  notificationId: id,
  channel: "email",
  recipient: `${id}@example.com`,
  template: "welcome",
});

/** Each kind of bad message, the body that carries it, and the reason it must be refused with. */
function catalogue(run: string): { name: string; body: string; code: string }[] {
  const id = (name: string) => `${run}-${name}`;
  const json = (value: unknown) => JSON.stringify(value);
  // Built as text: JSON.stringify itself would overflow the stack on 20,000 levels.
  const bomb = `${"[".repeat(20_000)}"deep"${"]".repeat(20_000)}`;
  return [
    { name: "malformed-json", body: `{"notificationId": "${id("x")}", `, code: "MALFORMED_JSON" },
    { name: "blank-body", body: "   ", code: "MALFORMED_JSON" },
    { name: "byte-order-mark", body: `\ufeff${json(valid(id("bom")))}`, code: "MALFORMED_JSON" },
    {
      name: "nan-literal",
      body: `{"schemaVersion": NaN, "notificationId": "${id("nan")}"}`,
      code: "MALFORMED_JSON",
    },
    { name: "trailing-garbage", body: `${json(valid(id("trail")))}}`, code: "MALFORMED_JSON" },
    { name: "xml", body: "<notification><id>1</id></notification>", code: "MALFORMED_JSON" },
    { name: "json-null", body: "null", code: "SCHEMA_INVALID" },
    { name: "json-array", body: json([valid(id("array"))]), code: "SCHEMA_INVALID" },
    { name: "json-string", body: json("notify me"), code: "SCHEMA_INVALID" },
    {
      name: "wrong-type",
      body: json({ ...valid(id("type")), notificationId: 42 }),
      code: "SCHEMA_INVALID",
    },
    {
      name: "missing-key",
      body: json({ ...valid(id("missing")), notificationId: undefined }),
      code: "SCHEMA_INVALID",
    },
    {
      name: "unknown-schema-version",
      body: json({ ...valid(id("v2")), schemaVersion: 2 }),
      code: "SCHEMA_INVALID",
    },
    {
      name: "version-as-string",
      body: json({ ...valid(id("v-str")), schemaVersion: "1" }),
      code: "SCHEMA_INVALID",
    },
    {
      name: "huge-number",
      body: json(valid(id("huge"))).replace('"schemaVersion":1', '"schemaVersion":1e400'),
      code: "SCHEMA_INVALID",
    },
    {
      name: "unknown-enum",
      body: json({ ...valid(id("enum")), channel: "pigeon" }),
      code: "SCHEMA_INVALID",
    },
    {
      name: "oversized-field",
      body: json({ ...valid(id("big")), recipient: "r".repeat(300_000) }),
      code: "SCHEMA_INVALID",
    },
    {
      name: "unicode-key",
      body: json({ ...valid(id("u")), notificationId: `${id("u")}\u200b👍\u202e` }),
      code: "SCHEMA_INVALID",
    },
    {
      name: "lone-surrogate",
      body: `{"schemaVersion":1,"notificationId":"${id("s")}\\ud800","channel":"email","recipient":"a@b.example","template":"t"}`,
      code: "SCHEMA_INVALID",
    },
    {
      name: "depth-bomb",
      // The bomb is spliced in as JSON text, so the body nests 20,000 arrays deep.
      body: json({ ...valid(id("bomb")), data: { nested: "BOMB" } }).replace('"BOMB"', bomb),
      code: "SCHEMA_INVALID",
    },
    {
      name: "nested-object-data",
      body: json({ ...valid(id("obj")), data: { address: { city: "x" } } }),
      code: "SCHEMA_INVALID",
    },
  ];
}

describe("bad input catalogue", () => {
  it("dead-letters each kind of bad message once, with its reason, while good ones in the same batches go through", async () => {
    const run = uniqueId("bad");
    const queueUrl = output("NotificationsQueueUrl");
    const cases = catalogue(run);
    const good = [0, 1, 2, 3, 4].map((i) => `${run}-good-${i}`);
    const entries = [
      ...cases.map((c) => ({ name: c.name, body: c.body })),
      ...good.map((id) => ({ name: "good", body: JSON.stringify(valid(id)) })),
    ].sort(() => Math.random() - 0.5);

    for (let i = 0; i < entries.length; i += 10) {
      const chunk = entries.slice(i, i + 10);
      // The oversized case is sent alone: a batch may carry at most 1 MiB in total.
      const large = chunk.filter((e) => e.body.length > 100_000);
      const small = chunk.filter((e) => e.body.length <= 100_000);
      const attributes = (name: string) => ({ [RUN_ATTRIBUTE]: run, [CASE_ATTRIBUTE]: name });
      for (const e of large) {
        await sqs.send(
          new SendMessageCommand(
            spoolMessage({ queueUrl, body: e.body, attributes: attributes(e.name) }),
          ),
        );
      }
      if (small.length) {
        const sent = await sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: small.map((e, j) => {
              const input = spoolMessage({
                queueUrl,
                body: e.body,
                attributes: attributes(e.name),
              });
              return {
                Id: `e${j}`,
                MessageBody: input.MessageBody,
                MessageAttributes: input.MessageAttributes,
              };
            }),
          }),
        );
        expect(sent.Failed ?? [], "SQS accepted every message").toEqual([]);
      }
    }

    const letters = await takeDeadLetters(
      output("NotificationsDeadLetterQueueUrl"),
      (m) => m.MessageAttributes?.[RUN_ATTRIBUTE]?.StringValue === run,
      cases.length,
      { timeoutMs: 90_000 },
    );
    const byCase = new Map<string, typeof letters>();
    for (const letter of letters) {
      const name = letter.message.MessageAttributes?.[CASE_ATTRIBUTE]?.StringValue ?? "?";
      byCase.set(name, [...(byCase.get(name) ?? []), letter]);
    }
    for (const c of cases) {
      const mine = byCase.get(c.name) ?? [];
      expect(mine.length, `${c.name} dead-lettered once`).toBe(1);
      expect(mine[0]?.metadata?.errorCode, `${c.name} reason`).toBe(c.code);
      expect(mine[0]?.metadata?.attempts, `${c.name} needed no retries`).toBe(1);
      // Byte for byte, so a fixed consumer can be replayed the very message.
      expect(mine[0]?.message.Body, `${c.name} body kept`).toBe(c.body);
    }
    expect(byCase.has("good")).toBe(false);
    for (const id of good) {
      await waitFor(
        () => getItem(output("EffectsTableName"), { pk: `notification#${id}`, sk: "delivery" }),
        {
          what: `good message ${id}`,
        },
      );
    }
  });

  it("refuses a reused idempotency key with different content as its own kind of bad input", async () => {
    // Covered in depth by consumer-standard.test.ts; here it completes the catalogue's count.
    const id = uniqueId("bad-reuse");
    const queueUrl = output("NotificationsQueueUrl");
    await sqs.send(new SendMessageCommand(spoolMessage({ queueUrl, body: valid(id) })));
    await waitFor(() =>
      getItem(output("EffectsTableName"), { pk: `notification#${id}`, sk: "delivery" }),
    );
    await sqs.send(
      new SendMessageCommand(spoolMessage({ queueUrl, body: { ...valid(id), template: "other" } })),
    );
    const [letter] = await takeDeadLetters(
      output("NotificationsDeadLetterQueueUrl"),
      (m) => m.Body?.includes(`"${id}"`) ?? false,
      1,
    );
    expect(letter?.metadata?.errorCode).toBe("IDEMPOTENCY_KEY_REUSED");
  });
});
