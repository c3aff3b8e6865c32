/**
 * The token buckets of rate-limited consumers (QueueConsumer's `rateLimit`): items keyed
 * `<consumerName>#rate-limit#<bucket>` in the consumer's idempotency table. Each consumer must be
 * able to read and move its own buckets, and no other user of the table may move them (a
 * neighbour draining a bucket would stall the consumer; one filling it would lift its limit).
 */
import { CONSUMER_ENV } from "../../../lib/spool/runtime/consumer-config.js";
import { type AccessPath, environmentOf, roleOf, tls } from "./access-path.js";
import { keyPrefixOf } from "./grant-paths.js";
import type { TemplateModel } from "./template-model.js";

/** What the runtime sends per bucket (rate-limit.ts): a conditional update, a read on contention. */
const BUCKET_ACTIONS = ["dynamodb:UpdateItem", "dynamodb:GetItem"];

interface TableUser {
  readonly fn: string;
  readonly table: string;
  readonly principal: string;
  readonly prefix: string;
  readonly rateLimited: boolean;
}

function tableUsers(model: TemplateModel): TableUser[] {
  return model.ids("AWS::Lambda::Function").flatMap((fn) => {
    const env = environmentOf(model, fn);
    const table = model.idOf(env[CONSUMER_ENV.idempotencyTable]);
    const role = roleOf(model, fn);
    if (!table || !role) return [];
    return [
      {
        fn,
        table,
        principal: model.arnOf(role),
        prefix: keyPrefixOf(model, fn),
        rateLimited: env[CONSUMER_ENV.rateLimitPerSecond] !== undefined,
      },
    ];
  });
}

export function rateLimitBuckets(model: TemplateModel): AccessPath[] {
  const users = tableUsers(model);
  return users
    .filter((u) => u.rateLimited)
    .flatMap((owner): AccessPath[] => {
      const bucket = tls({ "dynamodb:LeadingKeys": [`${owner.prefix}#rate-limit#probe`] });
      const to = `${model.label(owner.table)} buckets ${owner.prefix}#rate-limit#*`;
      const own: AccessPath = {
        kind: "rate-limit bucket",
        from: model.label(owner.fn),
        to,
        expect: "allowed",
        requests: BUCKET_ACTIONS.map((action) => ({
          principal: owner.principal,
          action,
          resource: model.arnOf(owner.table),
          context: bucket,
        })),
      };
      const others = users.filter((u) => u.table === owner.table && u.prefix !== owner.prefix);
      if (others.length === 0) return [own];
      const theirs: AccessPath = {
        kind: "another consumer's rate-limit bucket",
        from: others.map((o) => model.label(o.fn)).join(", "),
        to,
        expect: "denied",
        requests: others.map((other) => ({
          principal: other.principal,
          action: "dynamodb:UpdateItem",
          resource: model.arnOf(owner.table),
          context: bucket,
        })),
      };
      return [own, theirs];
    });
}
