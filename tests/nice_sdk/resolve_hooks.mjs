// Node's ESM loader follows the spec: a relative import names its file exactly. NICE publishes the agent SDK's
// ES modules as its bundler sees them (`import ... from './service/presence-sync-service'`, no extension, and
// directories for their index.js). This hook tries what a bundler tries, only after Node's own resolution failed.
export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    const relative = specifier.startsWith('./') || specifier.startsWith('../');
    if (!relative || !['ERR_MODULE_NOT_FOUND', 'ERR_UNSUPPORTED_DIR_IMPORT'].includes(error.code)) throw error;
    for (const suffix of ['.js', '/index.js']) {
      try {
        return await nextResolve(specifier + suffix, context);
      } catch {
        // the next suffix
      }
    }
    throw error;
  }
}
