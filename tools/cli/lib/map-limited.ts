/**
 * Runs `work` over `items` with at most `concurrency` at a time, keeping their order: the CLI
 * reads one resource per call from control-plane APIs (Scheduler, Lambda) whose request rates
 * are low, so it never fires them all at once.
 */
export async function mapLimited<T, R>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
