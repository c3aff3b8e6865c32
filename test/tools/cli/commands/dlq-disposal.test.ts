import { describe, expect, it } from "vitest";
import { spool } from "../../../helpers/cli.js";

describe("spool dlq archive / discard arguments", () => {
  it.each([
    [["archive", "orders"], /^spool: archive needs --to <dir>/],
    [
      ["archive", "orders", "--to", "s3://Bad_Bucket/dead"],
      /^spool: --to names no valid S3 bucket/,
    ],
    [["archive", "orders", "--to", "s3://bucket/a//b"], /^spool: --to has an empty or relative/],
    [
      ["archive", "orders", "--to", "gs://bucket/dead"],
      /^spool: --to must be a local directory or s3/,
    ],
    [["discard", "orders", "--limit", "0"], /--limit must be an integer from 1 to 1000000/],
    [
      ["discard", "orders", "--error-code", "NOPE"],
      /--error-code "NOPE" is not a known error code/,
    ],
    [["archive", "orders", "--to", "x", "--where", "a.["], /--where is not a valid JMESPath/],
  ])("refuses %j before touching AWS, in one line (exit 2)", async (args, message) => {
    const { code, err, out } = await spool("dlq", ...args);
    expect(code).toBe(2);
    expect(err).toMatch(message);
    expect(err.trim().split("\n")).toHaveLength(1);
    expect(out).toBe("");
  });

  it("says in its help that it is a dry run without --yes, and takes the replay filters", async () => {
    for (const action of ["archive", "discard"]) {
      const { code, out: help } = await spool("dlq", action, "--help");
      expect(code).toBe(0);
      // Help wraps at the terminal's width: compare with whitespace collapsed.
      const out = help.replace(/\s+/g, " ");
      expect(out).toContain("a dry run unless --yes");
      expect(out).toContain(`--yes ${action} for real (without it, only report what would happen)`);
      for (const option of ["--error-code", "--reason", "--where", "--older-than", "--id"]) {
        expect(out).toContain(option);
      }
    }
    expect((await spool("dlq", "archive", "--help")).out).toContain(
      "--to <dir|s3://bucket/prefix>",
    );
  });
});
