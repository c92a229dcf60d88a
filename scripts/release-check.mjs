#!/usr/bin/env node
// `npm run release:check`: is every publishable package fit to publish?
//
//   - packs every publishable workspace (root package.json `workspaces`, minus `private: true`) once with `npm pack`,
//     so every check below sees exactly the bytes `npm publish` would upload;
//   - publint --strict on each tarball (exports/main/module/types/bin against the packed files; warnings fail);
//   - are-the-types-wrong on each tarball, profile "strict": types must resolve for node10, node16 from CJS,
//     node16 from ESM and bundlers, each condition to the declaration of its own format;
//   - a README.md in every tarball;
//   - then the pack test (scripts/pack-test.mjs) on the same tarballs, unless --no-pack.
//
// Usage: node scripts/release-check.mjs [--no-pack] [--keep]
// Needs `npm run build` first. Exits 1 when anything fails.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  bold,
  cleanEnv,
  dim,
  FAIL,
  indent,
  installCleanupHandlers,
  makeTempDir,
  missingEntryFiles,
  OK,
  packWorkspaces,
  publishableWorkspaces,
  ROOT,
  removeTempDir,
  run,
  setKeepTemp,
  since,
  tail,
  WARN,
} from './lib/common.mjs';
import { packTest } from './pack-test.mjs';

const requireFromRoot = createRequire(join(ROOT, 'package.json'));

async function main() {
  const args = process.argv.slice(2);
  const unknown = args.filter((arg) => !['--no-pack', '--keep'].includes(arg));
  if (unknown.length) {
    console.error(`usage: node scripts/release-check.mjs [--no-pack] [--keep]  (unknown: ${unknown.join(' ')})`);
    return 2;
  }
  setKeepTemp(args.includes('--keep'));
  installCleanupHandlers();
  const started = performance.now();

  const workspaces = publishableWorkspaces();
  console.log(bold(`release check: ${workspaces.length} publishable packages`));

  const unbuilt = workspaces
    .map((workspace) => ({ workspace, missing: missingEntryFiles(workspace) }))
    .filter(({ missing }) => missing.length);
  if (unbuilt.length) {
    for (const { workspace, missing } of unbuilt)
      console.log(`${FAIL} ${workspace.name}: missing ${missing.join(', ')}`);
    console.log(`${FAIL} not built: run \`npm run build\` first`);
    return 1;
  }

  const packDir = makeTempDir('packs');
  try {
    let t = performance.now();
    const packed = await packWorkspaces(workspaces, packDir);
    console.log(`  ${OK} npm pack ${dim(since(t))}`);

    t = performance.now();
    const results = await Promise.all([
      Promise.all(workspaces.map((workspace) => lintWithPublint(packed.get(workspace.name)))),
      mapLimit(workspaces, Math.max(1, Math.min(2, availableParallelism())), (workspace) =>
        checkTypes(packed.get(workspace.name)),
      ),
    ]);
    const [publintResults, attwResults] = results;
    let failed = 0;
    const width = Math.max(...workspaces.map((workspace) => workspace.name.length));
    for (const [index, workspace] of workspaces.entries()) {
      const lint = publintResults[index];
      const types = attwResults[index];
      const tarball = packed.get(workspace.name);
      const readme = tarball.files.some((file) => file.path === 'README.md');
      const binProblems = checkBins(workspace, tarball);
      const ok = lint.ok && types.ok && readme && !binProblems.length;
      if (!ok) failed++;
      const size = `${(tarball.size / 1024).toFixed(0)} kB, ${tarball.files.length} files`;
      console.log(
        `  ${ok ? OK : FAIL} ${workspace.name.padEnd(width)}  publint ${lint.ok ? OK : FAIL}  attw ${types.ok ? OK : FAIL}  README ${readme ? OK : FAIL}  ${dim(size)}`,
      );
      for (const line of lint.lines) console.log(indent(line, '      '));
      for (const line of types.lines) console.log(indent(line, '      '));
      if (!readme) console.log(`      ${FAIL} README.md is not in the tarball (npm shows an empty page)`);
      for (const line of binProblems) console.log(`      ${FAIL} ${line}`);
    }
    console.log(`  ${failed ? FAIL : OK} publint + attw ${dim(since(t))}`);

    let packFailed = false;
    if (args.includes('--no-pack')) {
      console.log(dim('  pack test skipped (--no-pack)'));
    } else {
      console.log(bold('pack test'));
      try {
        await packTest({ packed });
      } catch (error) {
        packFailed = true;
        console.log(`${FAIL} pack test: ${error.message}`);
      }
    }

    const verdict = failed || packFailed ? `${FAIL} release check failed` : `${OK} release check passed`;
    console.log(`${bold(verdict)} ${dim(since(started))}`);
    return failed || packFailed ? 1 : 0;
  } finally {
    removeTempDir(packDir);
  }
}

/** publint --strict on the packed tarball: warnings count as errors, suggestions are shown but pass. */
export async function lintWithPublint(tarball) {
  const { publint } = await import('publint');
  const { formatMessage } = await import('publint/utils');
  const data = readFileSync(tarball.tarball);
  const { messages, pkg } = await publint({
    pack: { tarball: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) },
    strict: true,
    level: 'suggestion',
  });
  const lines = messages.map(
    (message) =>
      `${message.type === 'error' ? FAIL : WARN} publint ${message.type} ${message.code}: ${formatMessage(message, pkg, { color: false }) ?? ''}`,
  );
  return { ok: !messages.some((message) => message.type === 'error'), lines };
}

/** attw on the packed tarball, profile "strict" (every resolution mode), without fetching @types from npm. */
export async function checkTypes(tarball) {
  const bin = binOf('@arethetypeswrong/cli', 'attw');
  const result = await run(
    process.execPath,
    [bin, tarball.tarball, '--format', 'json', '--profile', 'strict', '--no-definitely-typed'],
    { env: cleanEnv(), timeoutMs: 180_000 },
  );
  let report;
  try {
    report = JSON.parse(result.stdout);
  } catch {
    return {
      ok: false,
      lines: [`${FAIL} attw did not report (exit ${result.code}):`, indent(tail(`${result.stdout}${result.stderr}`))],
    };
  }
  // Titles and docs links for the report; attw's core comes with its CLI, the titles are a nicety if it moved.
  const { problemKindInfo } = await import('@arethetypeswrong/core/problems').catch(() => ({ problemKindInfo: {} }));
  const lines = [];
  if (!report.analysis.types) lines.push(`${FAIL} attw: the package ships no types`);
  for (const [kind, problems] of Object.entries(report.problems ?? {})) {
    const info = problemKindInfo[kind];
    for (const problem of problems) {
      const where = [
        problem.entrypoint && `entrypoint ${problem.entrypoint}`,
        problem.resolutionKind && `resolution ${problem.resolutionKind}`,
        problem.typesFileName && `types ${stripVirtualRoot(problem.typesFileName)}`,
        problem.implementationFileName && `implementation ${stripVirtualRoot(problem.implementationFileName)}`,
        problem.fileName && `file ${stripVirtualRoot(problem.fileName)}`,
      ].filter(Boolean);
      lines.push(`${FAIL} attw ${kind}: ${info?.title ?? kind}${where.length ? ` (${where.join(', ')})` : ''}`);
    }
    if (info?.docsUrl) lines.push(dim(`    ${info.docsUrl}`));
  }
  if (result.code !== 0 && !lines.length) {
    lines.push(`${FAIL} attw exited with ${result.code}: ${tail(result.stderr, 5)}`);
  }
  return { ok: result.code === 0 && report.analysis.types !== false, lines };
}

/** attw reports files inside a virtual /node_modules/<name>/; the path inside the package is what matters. */
function stripVirtualRoot(fileName) {
  return fileName.replace(/^\/node_modules\/(@[^/]+\/)?[^/]+\//, '');
}

/** Every `bin` target is in the tarball, executable, and starts with a `#!` line. */
export function checkBins(workspace, tarball) {
  const { pkg } = workspace;
  const bins = typeof pkg.bin === 'string' ? { [pkg.name]: pkg.bin } : (pkg.bin ?? {});
  const problems = [];
  for (const [command, target] of Object.entries(bins)) {
    const path = target.replace(/^\.\//, '');
    const file = tarball.files.find((entry) => entry.path === path);
    if (!file) {
      problems.push(`bin "${command}": ${target} is not in the tarball`);
      continue;
    }
    if ((file.mode & 0o111) === 0) problems.push(`bin "${command}": ${target} is packed without the executable bit`);
    const source = readFileSync(join(workspace.dir, path), 'utf8');
    if (!source.startsWith('#!')) problems.push(`bin "${command}": ${target} has no #! line`);
  }
  return problems;
}

/** The file a dependency's `bin` entry points at (run with this node, so no shell or PATH lookup is involved). */
function binOf(name, command) {
  const manifestPath = requireFromRoot.resolve(`${name}/package.json`);
  const { bin } = JSON.parse(readFileSync(manifestPath, 'utf8'));
  return join(dirname(manifestPath), typeof bin === 'string' ? bin : bin[command]);
}

/** Map with at most `limit` calls in flight (the checks share the machine with everything else). */
async function mapLimit(items, limit, fn) {
  const results = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await fn(items[index]);
      }
    }),
  );
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error) => {
      console.error(`${FAIL} release check: ${error.stack ?? error.message}`);
      process.exitCode = 1;
    },
  );
}
