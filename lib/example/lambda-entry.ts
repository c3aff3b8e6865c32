import { fileURLToPath } from "node:url";

/** The absolute path of a handler module under `lambdas/` (e.g. `"checkout/handler.ts"`). */
export function lambdaEntry(path: string): string {
  return fileURLToPath(new URL(`../../lambdas/${path}`, import.meta.url));
}
