import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.base';

// shims: the background checkpoint thread resolves better-sqlite3 with import.meta.url, in the CJS build too.
export default defineConfig(packageBuild({ shims: true }));
