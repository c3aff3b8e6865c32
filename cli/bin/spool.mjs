#!/usr/bin/env node
// The `spool` operator CLI. Registers tsx in this process (no child process, so the PID that
// runs the command is this one) and runs the TypeScript entry point without a build step.
import { register } from "tsx/esm/api";

register();
await import("../main.ts");
