/**
 * Evaluates every data path of the reference stack's real-AWS template with an IAM policy
 * simulator and prints the table; exits 1 if any path is not as it must be.
 *
 *   npm run access-proof                 # print the table and write docs/access-proof.md
 *   npm run access-proof -- --check      # print only; exit 1 when docs/access-proof.md is stale
 */
import { readFileSync, writeFileSync } from "node:fs";
import { proveAccess } from "./access-proof/evaluate.js";
import { ACCESS_PROOF_DOC, accessDoc, accessTable, summary } from "./access-proof/table.js";
import { AWS_ENV, awsTemplate } from "./lib/aws-template.js";

const proof = await proveAccess(awsTemplate(), AWS_ENV);
console.log(accessTable(proof));
console.log(`\n${summary(proof)}`);
for (const failure of proof.failures) console.error(`FAIL ${failure}`);

const doc = accessDoc(proof);
if (process.argv.includes("--check")) {
  if (readFileSync(ACCESS_PROOF_DOC, "utf8") !== doc) {
    console.error(`${ACCESS_PROOF_DOC} is out of date: run npm run access-proof`);
    process.exitCode = 1;
  }
} else {
  writeFileSync(ACCESS_PROOF_DOC, doc);
  console.log(`wrote ${ACCESS_PROOF_DOC}`);
}
if (proof.failures.length > 0) process.exitCode = 1;
