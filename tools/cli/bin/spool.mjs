#!/usr/bin/env node
// The `spool` operator CLI. Registers tsx in this process (no child process, so the PID that
// runs the command is this one) and runs the TypeScript entry point without a build step.
import { register } from "tsx/esm/api";

// On Node 20 (which Spool supports) the AWS SDK prints a multi-line notice about its own future
// Node requirement before the first call: noise on every command, and it breaks "errors are one
// line". It is meant for whoever upgrades the SDK, not for an operator; they can still opt in.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

register();
await import("../main.ts");
