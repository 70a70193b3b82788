import { register } from 'node:module';

register('./resolve_hooks.mjs', import.meta.url);
