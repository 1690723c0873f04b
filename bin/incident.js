#!/usr/bin/env node
// The `incident` command: runs the TypeScript CLI through tsx's loader.
import { register } from 'tsx/esm/api';

register();
await import('../client/cli/main.ts');
