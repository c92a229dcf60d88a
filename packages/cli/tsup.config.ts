import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.base';

export default defineConfig([
  packageBuild(),
  // The executable: ESM only, no types, keeps its shebang.
  { ...packageBuild({ entry: ['src/cli.ts'], format: ['esm'], dts: false, clean: false }) },
]);
