/**
 * The shared state items of consumers in their idempotency table: the token buckets of
 * rate-limited consumers (QueueConsumer's `rateLimit`, items `<consumerName>#rate-limit#<bucket>`)
 * the tenant leases of consumers with tenant fairness (`tenantFairness`, items
 * `<consumerName>#tenant-quota#<tenant>`) and the group holds of FIFO consumers with
 * `holdGroupOnDeadLetter` (items `<consumerName>#group-hold#<group>`). Each consumer must be able to read and move its own,
 * and no other user of the table may move them (a neighbour draining a bucket or filling a
 * tenant's leases would stall the consumer; one filling a bucket or removing leases would lift
 * its limit).
 */
import { CONSUMER_ENV } from "../../../lib/spool/runtime/consumer-config.js";
import { type AccessPath, environmentOf, roleOf, tls } from "./access-path.js";
import { keyPrefixOf } from "./grant-paths.js";
import type { TemplateModel } from "./template-model.js";

/**
 * What the runtime sends per item (rate-limit.ts, tenant-quota.ts): conditional updates, and a
 * read when a failed condition returns no item.
 */
const STATE_ACTIONS = ["dynamodb:UpdateItem", "dynamodb:GetItem"];

/** One kind of state item: the path kinds, the key segment, and what marks a consumer using it. */
interface StateKind {
  readonly own: string;
  readonly theirs: string;
  readonly noun: string;
  readonly segment: string;
  readonly marker: string;
  /** What the runtime sends per item, when not STATE_ACTIONS. */
  readonly actions?: readonly string[];
}

const RATE_LIMIT: StateKind = {
  own: "rate-limit bucket",
  theirs: "another consumer's rate-limit bucket",
  noun: "buckets",
  segment: "rate-limit",
  marker: CONSUMER_ENV.rateLimitPerSecond,
};

const TENANT_QUOTA: StateKind = {
  own: "tenant lease",
  theirs: "another consumer's tenant leases",
  noun: "tenant leases",
  segment: "tenant-quota",
  marker: CONSUMER_ENV.tenantMaxInFlight,
};

interface TableUser {
  readonly fn: string;
  readonly table: string;
  readonly principal: string;
  readonly prefix: string;
  readonly env: Record<string, unknown>;
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
        env,
      },
    ];
  });
}

/** group-hold.ts: a consistent read per record, updates, and the conditional delete of a release. */
const GROUP_HOLD: StateKind = {
  own: "group hold",
  theirs: "another consumer's group holds",
  noun: "group holds",
  segment: "group-hold",
  marker: CONSUMER_ENV.holdGroupOnDeadLetter,
  actions: ["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
};

export function rateLimitBuckets(model: TemplateModel): AccessPath[] {
  return [
    ...stateItems(model, RATE_LIMIT),
    ...stateItems(model, TENANT_QUOTA),
    ...stateItems(model, GROUP_HOLD),
  ];
}

function stateItems(model: TemplateModel, kind: StateKind): AccessPath[] {
  const users = tableUsers(model);
  return users
    .filter((u) => u.env[kind.marker] !== undefined)
    .flatMap((owner): AccessPath[] => {
      const key = `${owner.prefix}#${kind.segment}#`;
      const bucket = tls({ "dynamodb:LeadingKeys": [`${key}probe`] });
      const to = `${model.label(owner.table)} ${kind.noun} ${key}*`;
      const own: AccessPath = {
        kind: kind.own,
        from: model.label(owner.fn),
        to,
        expect: "allowed",
        requests: (kind.actions ?? STATE_ACTIONS).map((action) => ({
          principal: owner.principal,
          action,
          resource: model.arnOf(owner.table),
          context: bucket,
        })),
      };
      const others = users.filter((u) => u.table === owner.table && u.prefix !== owner.prefix);
      if (others.length === 0) return [own];
      const theirs: AccessPath = {
        kind: kind.theirs,
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
