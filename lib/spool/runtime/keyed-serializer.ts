/**
 * Runs tasks that share a key one after another while tasks with different keys run in
 * parallel. Powertools' batch processor runs a batch's records concurrently; without this, two
 * records with one idempotency key in the same batch would race, and the second would fail as
 * "already in progress" and come back later instead of being answered from the first's result.
 */
export class KeyedSerializer {
  readonly #tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const next = previous.then(task, task);
    // The stored tail never rejects, so one failure does not poison later tasks of the key.
    const tail = next.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return next;
  }
}
