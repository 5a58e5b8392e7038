#!/usr/bin/env node
// The `keyfleet` command from a checkout (TypeScript through tsx). Container images use the
// single-file bundle from `npm run build:cli` instead.
import { register } from 'tsx/esm/api';

register();
await import('../shared/cli/main.ts');
