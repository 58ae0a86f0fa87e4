#!/usr/bin/env node
// The carve command: runs the compiled CLI (built by `npm run build`, which `npm ci` runs as `prepare`).
import '../dist/cli/main.js';
