import { describe, expect, it } from "vitest";
import { KeyedSerializer } from "../../../../lib/spool/runtime/keyed-serializer.js";

/** A promise the test resolves or rejects by hand. */
function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every queued microtask and timer callback run. */
const settle = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

describe("KeyedSerializer", () => {
  it("runs tasks with the same key one after another, in order", async () => {
    const serializer = new KeyedSerializer();
    const log: string[] = [];
    const first = deferred();
    const a = serializer.run("k", async () => {
      log.push("a:start");
      await first.promise;
      log.push("a:end");
      return "a";
    });
    const b = serializer.run("k", async () => {
      log.push("b:start");
      return "b";
    });
    await settle();
    // b must wait for a.
    expect(log).toEqual(["a:start"]);
    first.resolve();
    await expect(a).resolves.toBe("a");
    await expect(b).resolves.toBe("b");
    expect(log).toEqual(["a:start", "a:end", "b:start"]);
  });

  it("runs tasks with different keys concurrently", async () => {
    const serializer = new KeyedSerializer();
    const gate = deferred();
    const started: string[] = [];
    const a = serializer.run("a", async () => {
      started.push("a");
      await gate.promise;
    });
    const b = serializer.run("b", async () => {
      started.push("b");
      await gate.promise;
    });
    await settle();
    // Both started while the gate is still closed.
    expect(started.sort()).toEqual(["a", "b"]);
    gate.resolve();
    await Promise.all([a, b]);
  });

  it("never runs two tasks of one key at the same time", async () => {
    const serializer = new KeyedSerializer();
    let running = 0;
    let maxRunning = 0;
    const tasks = Array.from({ length: 5 }, (_, i) =>
      serializer.run("same", async () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await settle();
        running--;
        return i;
      }),
    );
    expect(await Promise.all(tasks)).toEqual([0, 1, 2, 3, 4]);
    expect(maxRunning).toBe(1);
  });

  it("passes a rejection to its caller without blocking the next task of the key", async () => {
    const serializer = new KeyedSerializer();
    const failing = serializer.run("k", async () => {
      throw new Error("first failed");
    });
    const next = serializer.run("k", async () => "second ran");
    await expect(failing).rejects.toThrow("first failed");
    await expect(next).resolves.toBe("second ran");
  });

  it("runs a task queued after an earlier failure has settled", async () => {
    const serializer = new KeyedSerializer();
    await expect(
      serializer.run("k", async () => {
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    await expect(serializer.run("k", async () => 42)).resolves.toBe(42);
  });

  it("starts a later task of a key only after the earlier one settled, even if it rejected", async () => {
    const serializer = new KeyedSerializer();
    const gate = deferred();
    const log: string[] = [];
    const first = serializer.run("k", async () => {
      await gate.promise;
      log.push("first:settled");
      throw new Error("x");
    });
    const second = serializer.run("k", async () => {
      log.push("second:start");
    });
    await settle();
    expect(log).toEqual([]);
    gate.resolve();
    await expect(first).rejects.toThrow("x");
    await second;
    expect(log).toEqual(["first:settled", "second:start"]);
  });
});
