// Reads the presence-sync rule the way CXone Agent Embedded does, with NICE's own agent SDK (the pinned npm
// package in ./node_modules), and prints what the SDK parsed as one JSON line on stdout.
//
//   node --import ./register_hooks.mjs read_rule.mjs   < {"hostname", "tenantId", "accessToken", "partnerId",
//                                                         "partnerName"} on stdin (JSON)
//
// The SDK's own code does the work: CXoneAuth.getCXoneConfiguration() reads the tenant's
// /.well-known/cxone-configuration and derives the presence-sync API's base URL from its area and domain
// ('https://api-' + area + '.' + domain), PresenceSyncService.getPresenceSyncRule() builds the path and the
// headers, fetches, and parses the body into CXonePartnerPresenceSyncRuleMapping. What stands in for the
// agent's browser and NICE's bundler, and nothing else: Web Storage (Node 20 has none; the SDK caches its
// configuration there); `require` inside the SDK's ES modules (its HTTP request builds its headers with
// require('node-fetch'), which a bundler provides); and name resolution -- the derived production origin is
// sent to the sandbox (as a hosts-file entry would), after the URL the SDK built is recorded for the test.
import { createRequire } from 'node:module';
import process from 'node:process';

const input = JSON.parse(await new Promise((resolve) => {
  let text = '';
  process.stdin.on('data', (chunk) => { text += chunk; });
  process.stdin.on('end', () => resolve(text));
}));

class MemoryStorage {
  #items = new Map();
  getItem(key) { return this.#items.has(key) ? this.#items.get(key) : null; }
  setItem(key, value) { this.#items.set(key, String(value)); }
  removeItem(key) { this.#items.delete(key); }
  clear() { this.#items.clear(); }
}
globalThis.localStorage ??= new MemoryStorage();
globalThis.require ??= createRequire(import.meta.url);

const sandbox = new URL(input.hostname);
const requests = [];
const nodeFetch = globalThis.fetch;
globalThis.fetch = (resource, init) => {
  const asked = new URL(typeof resource === 'string' ? resource : resource.url);
  const headers = Object.fromEntries(new Headers(init?.headers ?? {}).entries());
  requests.push({ url: asked.href, method: init?.method ?? 'GET', headers: redact(headers) });
  const sent = new URL(asked.pathname + asked.search, sandbox);
  return nodeFetch(sent, init);
};

function redact(headers) {
  const copy = { ...headers };
  if (copy.authorization) copy.authorization = copy.authorization.replace(/ .*/, ' <token>');
  return copy;
}

function finish(result, code) {
  process.stdout.write(JSON.stringify({ ...result, requests }) + '\n');
  process.exit(code); // the SDK keeps timers and channels open: a page would simply go on living
}

const { CXoneAuth } = await import('@nice-devone/auth-sdk');
const { PresenceSyncService } = await import(
  '@nice-devone/agent-sdk/src/lib/presence-sync/service/presence-sync-service.js'
);

try {
  const auth = CXoneAuth.instance;
  const config = await auth.getCXoneConfiguration(input.hostname, input.tenantId, true);
  auth.setAuthToken({ accessToken: input.accessToken });
  const rule = await new PresenceSyncService().getPresenceSyncRule(input.partnerId, input.partnerName);
  finish({
    presenceSyncApiUrl: config.presenceSyncApiUrl,
    rule: {
      publisherStateMapping: rule.publisherStateMapping,
      subscriberStateMapping: rule.subscriberStateMapping,
    },
  }, 0);
} catch (error) {
  const response = error?.data ?? error?.response ?? null;
  finish({ error: { type: error?.type ?? error?.name, message: String(error?.message ?? error), response } }, 1);
}
