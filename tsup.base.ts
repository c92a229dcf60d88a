import type { Options } from 'tsup';

/**
 * The build every publishable package shares: ESM + CJS with a d.ts per format, so the `exports` map can point
 * each condition at its own types (checked by `npm run release:check`).
 */
export function packageBuild(overrides: Options = {}): Options {
  return {
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    platform: 'node',
    splitting: false,
    treeshake: true,
    ...overrides,
  };
}
