/**
 * A status change by conditional write, as data: a table names each transition, the statuses it
 * may come from and the one it goes to, and derives the DynamoDB condition that holds exactly when
 * the record's current status allows it. A write guarded by that condition cannot make a move the
 * table does not list, whoever issues it; the table is also the one place to read what may happen.
 *
 * SDK-free on purpose: synth-time code (a Step Functions DynamoDB task) builds its condition from
 * the same table the Lambda code enforces, and it may not load the AWS SDK.
 */

/** A source status the item must also meet a further condition in (`leaseUntil < :nowMs`). */
export interface GuardedSource<S extends string> {
  readonly status: S;
  /** A DynamoDB condition; the values of its placeholders come with each write. */
  readonly when: string;
}

export type TransitionSource<S extends string> = S | GuardedSource<S>;

export interface TransitionRule<S extends string> {
  /** The statuses it may come from; the table's `absent` marker for "no record yet". */
  readonly from: readonly TransitionSource<S>[];
  readonly to: S;
}

export interface TransitionTableSpec<S extends string, N extends string> {
  /** What a record is called in errors: "job", "run". */
  readonly subject: string;
  /** The attribute holding the status (written `#status` in expressions). */
  readonly statusAttribute: string;
  readonly transitions: Readonly<Record<N, TransitionRule<S>>>;
  /** The source standing for "no record yet", and the condition that tests it. */
  readonly absent?: {
    readonly source: S;
    readonly expression: string;
    readonly names?: Readonly<Record<string, string>>;
  };
  /**
   * How status placeholders are named: `:<status in lower case>` unless given. A table whose
   * expressions are already deployed (a state machine definition) keeps its own names.
   */
  readonly placeholders?: {
    readonly source?: (status: S, index: number) => string;
    readonly target?: (status: S) => string;
  };
}

export interface TransitionCondition<V = never> {
  /** A DynamoDB ConditionExpression that holds exactly when the transition is allowed. */
  readonly expression: string;
  /** ExpressionAttributeNames the expression uses (none when it tests absence only). */
  readonly names: Record<string, string>;
  /** ExpressionAttributeValues the expression uses: source statuses and the guards' values. */
  readonly values: Record<string, string | V>;
}

export interface TransitionUpdate<V = never> extends TransitionCondition<V> {
  readonly transition: string;
  readonly to: string;
  /** The SET clause that writes the new status (`#status = :running`); its value is in `values`. */
  readonly setStatus: string;
  /** The ConditionExpression (the same as `expression`, named for an UpdateItem). */
  readonly conditionExpression: string;
}

export interface ConditionOptions<S extends string, V> {
  /** Narrows the sources to these (a writer that knows more); never widens them. */
  readonly onlyFrom?: readonly S[];
  /** Values of the guards' placeholders (`:nowMs`, `:attempt`): each guard used needs its own. */
  readonly values?: Readonly<Record<string, V>>;
}

/** A transition refused: the record's status is not one the transition may come from. */
export class IllegalTransitionError extends Error {
  override readonly name: string = "IllegalTransitionError";
  constructor(
    readonly subject: string,
    readonly key: string,
    readonly from: string,
    readonly to: string,
  ) {
    super(`${subject} ${key} cannot move from ${from} to ${to}`);
  }
}

export interface TransitionTable<S extends string, N extends string> {
  readonly subject: string;
  readonly transitions: Readonly<Record<N, TransitionRule<S>>>;
  /** The statuses `name` may come from (guarded ones included), in the table's order. */
  sources(name: N): S[];
  /** Whether `name` may start from a record in status `from` (guards aside). */
  allows(name: N, from: S): boolean;
  /** The condition alone (a PutItem that creates the record, say). */
  condition<V = never>(name: N, options?: ConditionOptions<S, V>): TransitionCondition<V>;
  /** The condition and the status write of an UpdateItem. */
  update<V = never>(name: N, options?: ConditionOptions<S, V>): TransitionUpdate<V>;
  /** The error for a record found in `found` when `name` was refused. */
  refused(name: N, key: string, found: S): IllegalTransitionError;
}

const PLACEHOLDER = /:[A-Za-z0-9_]+/g;

function statusOf<S extends string>(source: TransitionSource<S>): S {
  return typeof source === "string" ? source : source.status;
}

export function transitionTable<S extends string, N extends string>(
  spec: TransitionTableSpec<S, N>,
): TransitionTable<S, N> {
  const sourcePlaceholder =
    spec.placeholders?.source ?? ((status: S) => `:${status.toLowerCase()}`);
  const targetPlaceholder =
    spec.placeholders?.target ?? ((status: S) => `:${status.toLowerCase()}`);
  const ruleOf = (name: N): TransitionRule<S> => {
    const rule = spec.transitions[name];
    if (!rule) {
      const known = Object.keys(spec.transitions).join(", ");
      throw new Error(`no ${spec.subject} transition named ${name}; the table has ${known}`);
    }
    return rule;
  };

  function condition<V = never>(
    name: N,
    options: ConditionOptions<S, V> = {},
  ): TransitionCondition<V> {
    const rule = ruleOf(name);
    const sources = rule.from.filter(
      (source) => !options.onlyFrom || options.onlyFrom.includes(statusOf(source)),
    );
    const absent = spec.absent;
    const plain = sources.filter(
      (source): source is S => typeof source === "string" && source !== absent?.source,
    );
    const guarded = sources.filter((source) => typeof source !== "string");
    const names: Record<string, string> = {};
    const values: Record<string, string | V> = {};
    const clauses: string[] = [];
    if (plain.length || guarded.length) names["#status"] = spec.statusAttribute;
    if (absent && sources.includes(absent.source)) {
      Object.assign(names, absent.names);
      clauses.push(absent.expression);
    }
    if (plain.length) {
      const placeholders = plain.map((status, i) => {
        const placeholder = sourcePlaceholder(status, i);
        values[placeholder] = status;
        return placeholder;
      });
      clauses.push(`#status IN (${placeholders.join(", ")})`);
    }
    for (const [i, source] of guarded.entries()) {
      const placeholder = sourcePlaceholder(source.status, plain.length + i);
      values[placeholder] = source.status;
      for (const needed of source.when.match(PLACEHOLDER) ?? []) {
        const value = options.values?.[needed];
        if (value === undefined) {
          throw new Error(
            `${spec.subject} transition ${name} from ${source.status} needs a value for ${needed} (${source.when})`,
          );
        }
        values[needed] = value;
      }
      clauses.push(`#status = ${placeholder} AND ${source.when}`);
    }
    if (!clauses.length) {
      const narrowed = options.onlyFrom ? `, narrowed to ${options.onlyFrom.join(", ")}` : "";
      throw new Error(
        `no status may move to ${rule.to} (${spec.subject} transition ${name}${narrowed})`,
      );
    }
    // A guarded clause is parenthesised only among others, so a lone one reads as written.
    const expression =
      clauses.length === 1
        ? (clauses[0] as string)
        : clauses.map((c, i) => (i >= clauses.length - guarded.length ? `(${c})` : c)).join(" OR ");
    return { expression, names, values };
  }

  return {
    subject: spec.subject,
    transitions: spec.transitions,
    sources: (name) => ruleOf(name).from.map(statusOf),
    allows: (name, from) => ruleOf(name).from.some((source) => statusOf(source) === from),
    condition,
    update<V = never>(name: N, options: ConditionOptions<S, V> = {}): TransitionUpdate<V> {
      const to = ruleOf(name).to;
      const guard = condition(name, options);
      const placeholder = targetPlaceholder(to);
      return {
        transition: name,
        to,
        setStatus: `#status = ${placeholder}`,
        expression: guard.expression,
        conditionExpression: guard.expression,
        names: { "#status": spec.statusAttribute, ...guard.names },
        values: { [placeholder]: to, ...guard.values },
      };
    },
    refused: (name, key, found) =>
      new IllegalTransitionError(spec.subject, key, found, ruleOf(name).to),
  };
}
