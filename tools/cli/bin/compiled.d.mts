/** Types of compiled.mjs (plain JavaScript: the launcher runs it before tsx is registered). */

export declare const MANIFEST_FORMAT: number;

/** What tools/cli/build.ts writes to `.spool/cli/current.json`. */
export interface BuildManifest {
  readonly format: number;
  /** sourcesKey(inputs) when the build was made. */
  readonly key: string;
  /** The compiled entry module (absolute path). */
  readonly entry: string;
  /** Absolute paths of what the build depends on. */
  readonly inputs: readonly string[];
  /** inputStats(inputs) when the build was made. */
  readonly stats: readonly (readonly [size: number, mtimeMs: number])[];
}

export declare function buildsDir(projectDir: string): string;
export declare function manifestPath(projectDir: string): string;
export declare function sourcesKey(inputs: readonly string[]): string | undefined;
export declare function inputStats(
  inputs: readonly string[],
): [size: number, mtimeMs: number][] | undefined;
export declare function currentBuild(projectDir: string): string | undefined;
