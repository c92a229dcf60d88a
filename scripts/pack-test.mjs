#!/usr/bin/env node
// The pack test: what a user gets from `npm install`, exercised outside the monorepo.
//
//   1. `npm pack` every publishable workspace (or take tarballs release-check.mjs already packed);
//   2. create an empty project in a temp dir (`npm init -y`, "type": "module", the allowScripts entry npm 11 needs
//      to build better-sqlite3) and `npm install` the tarballs — no workspace links, no hoisted dev dependencies;
//   3. import every installed package with `import` and with `require` and compare the two export lists;
//   4. take the TypeScript snippet of the root README's "Use it" section, type-check it against the installed
//      types as ESM (.mts) and CJS (.cts), then run it both ways: the job must complete, the mounted dashboard must
//      answer, and the process must exit 0 on its own after closing what it opened;
//   5. run the installed CLI bin: `npx conveyor --help`, then `conveyor dashboard --sqlite` over the database the
//      snippet left behind.
//
// Usage: node scripts/pack-test.mjs [--keep]   (--keep leaves the temp dirs in place for a post-mortem)
// Needs `npm run build` first. Only the npm registry is contacted, and only for what the npm cache lacks.
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { join } from 'node:path';
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
  runOrThrow,
  setKeepTemp,
  since,
  tail,
} from './lib/common.mjs';

const requireFromRoot = createRequire(join(ROOT, 'package.json'));

/**
 * Published packages the pack test does not install, and why. They are still linted by publint and attw.
 */
const NOT_INSTALLED = {
  '@conveyor/adapters-conformance':
    'a test-suite library whose peer is vitest (installing a test runner is not what this checks)',
};

/** Install-time packages the empty project needs besides the tarballs: peers of the integrations, and types. */
const PEERS_FROM_ROOT = ['express', 'fastify', 'koa', 'hono'];
// The types a TypeScript user of these frameworks has anyway (express and koa ship none of their own).
const TYPES_FROM_ROOT = ['@types/node', '@types/express', '@types/koa'];

/** The README section whose ```ts blocks are the snippet. */
const README_SECTION = 'Use it';

/** Run the pack test. `packed` (from packWorkspaces) skips packing; returns normally or throws. */
export async function packTest({ packed } = {}) {
  const started = performance.now();
  const workspaces = publishableWorkspaces();
  for (const workspace of workspaces) {
    const missing = missingEntryFiles(workspace);
    if (missing.length) {
      throw new Error(`${workspace.name} is not built (missing ${missing.join(', ')}); run \`npm run build\` first`);
    }
  }

  let packDir;
  if (!packed) {
    packDir = makeTempDir('packs');
    const t = performance.now();
    packed = await packWorkspaces(workspaces, packDir);
    step(`packed ${packed.size} packages`, t);
  }

  const project = makeTempDir('pack-test');
  try {
    await createProject(project);
    const installed = workspaces.filter((workspace) => !(workspace.name in NOT_INSTALLED));
    await installTarballs(project, installed, packed);
    await checkImports(project, installed);
    const snippet = readReadmeSnippet();
    const composed = composeSnippet(snippet);
    await typecheckSnippet(project, composed, installed);
    const ran = await runSnippet(project, composed);
    await checkCli(project, ran);
    for (const [name, reason] of Object.entries(NOT_INSTALLED))
      console.log(dim(`  - not installed: ${name}: ${reason}`));
    console.log(`${OK} ${bold('pack test passed')} ${dim(since(started))}`);
  } finally {
    removeTempDir(project);
    if (packDir) removeTempDir(packDir);
  }
}

function step(message, start) {
  console.log(`  ${OK} ${message} ${dim(since(start))}`);
}

// ---------------------------------------------------------------------------------------------------------------
// The empty project

async function createProject(project) {
  const t = performance.now();
  const env = cleanEnv();
  await runOrThrow('npm', ['init', '-y'], { cwd: project, env, timeoutMs: 60_000 });
  const pkgPath = join(project, 'package.json');
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8'));
  pkg.name = 'conveyor-pack-test';
  pkg.private = true;
  pkg.type = 'module';
  // npm 11 wants a project to allow each dependency's install script; better-sqlite3 needs its script to fetch or
  // compile the native binding. This is the entry a user adds, so it is the only one added here — if another
  // package starts needing one, the strict install below fails and says so.
  pkg.allowScripts = { 'better-sqlite3': true };
  writeFileSync(pkgPath, `${JSON.stringify(pkg, null, 2)}\n`);
  step('created an empty project (npm init -y, "type": "module", allowScripts: better-sqlite3)', t);
}

/** The version of `name` installed at the repo root, so the empty project asks for exactly what the cache holds. */
function rootVersion(name) {
  // Not require.resolve(`${name}/package.json`): packages with an `exports` map need not expose it.
  for (const dir of requireFromRoot.resolve.paths(name) ?? []) {
    const manifest = join(dir, name, 'package.json');
    if (existsSync(manifest)) return JSON.parse(readFileSync(manifest, 'utf8')).version;
  }
  throw new Error(`${name} is not installed at the repo root (run \`npm ci\`)`);
}

/**
 * better-sqlite3's install script (`prebuild-install || node-gyp rebuild`) downloads a prebuilt binding from GitHub,
 * which CI cannot reach, and compiling SQLite instead takes minutes on a shared 2-core machine. The repo's own
 * node_modules already holds a binding compiled for this machine and Node; when the version matches, it is offered
 * to prebuild-install as a *local prebuild* (its documented offline mechanism, configured by a .prebuild-installrc
 * the install script finds from its working directory). The install script still has to run — so the allowScripts
 * entry is still what is tested — and prebuild-install loads the binding before accepting it. Without a matching
 * binding (or with CONVEYOR_PACK_TEST_BUILD_FROM_SOURCE=1) the install compiles, as it would for a user offline.
 */
async function offerLocalPrebuild(project) {
  if (process.env.CONVEYOR_PACK_TEST_BUILD_FROM_SOURCE) return false;
  let dir;
  for (const base of requireFromRoot.resolve.paths('better-sqlite3') ?? []) {
    if (existsSync(join(base, 'better-sqlite3', 'package.json'))) {
      dir = join(base, 'better-sqlite3');
      break;
    }
  }
  const binding = dir && join(dir, 'build', 'Release', 'better_sqlite3.node');
  if (!binding || !existsSync(binding)) return false;
  const { version } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const prebuilds = join(project, '.prebuilds');
  mkdirSync(prebuilds);
  const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  const result = await run('tar', ['-czf', join(prebuilds, name), '-C', dir, 'build/Release/better_sqlite3.node'], {
    timeoutMs: 60_000,
  });
  if (result.code !== 0) return false;
  writeFileSync(join(project, '.prebuild-installrc'), `${JSON.stringify({ 'local-prebuilds': prebuilds })}\n`);
  return version;
}

/** Did the install take the local prebuild (no object files) or compile? For the report. */
function bindingOrigin(project) {
  const build = join(project, 'node_modules', 'better-sqlite3', 'build', 'Release');
  if (!existsSync(join(build, 'better_sqlite3.node'))) return 'no native binding!';
  return existsSync(join(build, 'obj.target'))
    ? 'better-sqlite3 compiled from source'
    : 'better-sqlite3 from a local prebuild';
}

async function installTarballs(project, installed, packed) {
  const t = performance.now();
  const specs = installed.map((workspace) => packed.get(workspace.name).tarball);
  for (const name of PEERS_FROM_ROOT) specs.push(`${name}@${rootVersion(name)}`);
  const devSpecs = TYPES_FROM_ROOT.map((name) => `${name}@${rootVersion(name)}`);
  // --strict-allow-scripts: npm 11 otherwise runs unreviewed install scripts with a warning; strict, the install
  // fails unless allowScripts covers every dependency that has one — so the entry the README documents is enough.
  const flags = [
    '--prefer-offline',
    '--no-audit',
    '--no-fund',
    '--no-update-notifier',
    '--strict-allow-scripts',
    '--loglevel=warn',
  ];
  await offerLocalPrebuild(project);
  const env = cleanEnv();
  // Types in a separate, quick install so the main one is exactly what a user of the README runs.
  await runOrThrow('npm', ['install', ...flags, ...specs], { cwd: project, env, timeoutMs: 600_000 });
  await runOrThrow('npm', ['install', '--save-dev', ...flags, ...devSpecs], { cwd: project, env, timeoutMs: 300_000 });
  step(
    `installed ${installed.map((w) => w.name.replace('@conveyor/', '')).join(', ')} + ${PEERS_FROM_ROOT.join(', ')} (${bindingOrigin(project)})`,
    t,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// import and require every package

async function checkImports(project, installed) {
  const t = performance.now();
  const names = installed.map((workspace) => workspace.name);
  const esm = `
const names = ${JSON.stringify(names)};
const out = {};
for (const name of names) out[name] = Object.keys(await import(name)).filter((k) => k !== 'default').sort();
console.log(JSON.stringify(out));
`;
  const cjs = `
const names = ${JSON.stringify(names)};
const out = {};
for (const name of names) out[name] = Object.keys(require(name)).filter((k) => k !== '__esModule' && k !== 'default').sort();
console.log(JSON.stringify(out));
`;
  writeFileSync(join(project, 'imports.mjs'), esm);
  writeFileSync(join(project, 'imports.cjs'), cjs);
  const env = cleanEnv();
  const [fromImport, fromRequire] = await Promise.all(
    ['imports.mjs', 'imports.cjs'].map(async (file) => {
      const { stdout } = await runOrThrow(process.execPath, [file], { cwd: project, env, timeoutMs: 60_000 });
      return JSON.parse(stdout.trim().split('\n').pop());
    }),
  );
  const problems = [];
  for (const name of names) {
    const esmKeys = fromImport[name];
    const cjsKeys = fromRequire[name];
    if (!esmKeys.length) problems.push(`${name}: \`import\` gives no named exports`);
    if (!cjsKeys.length) problems.push(`${name}: \`require\` gives no named exports`);
    const onlyEsm = esmKeys.filter((key) => !cjsKeys.includes(key));
    const onlyCjs = cjsKeys.filter((key) => !esmKeys.includes(key));
    if (onlyEsm.length) problems.push(`${name}: only \`import\` has ${onlyEsm.join(', ')}`);
    if (onlyCjs.length) problems.push(`${name}: only \`require\` has ${onlyCjs.join(', ')}`);
  }
  if (problems.length) throw new Error(`import/require of the installed packages:\n${indent(problems.join('\n'))}`);
  step(`import and require of ${names.length} packages give the same exports`, t);
}

// ---------------------------------------------------------------------------------------------------------------
// The README snippet

function readReadmeSnippet() {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const lines = readme.split('\n');
  const start = lines.findIndex((line) => line.trim() === `## ${README_SECTION}`);
  if (start < 0) throw new Error(`README.md has no "## ${README_SECTION}" section; update scripts/pack-test.mjs`);
  let end = lines.findIndex((line, index) => index > start && /^## /.test(line));
  if (end < 0) end = lines.length;
  const section = lines.slice(start + 1, end).join('\n');
  const blocks = [...section.matchAll(/^```(ts|typescript)\s*\n([\s\S]*?)^```/gm)].map((match) => match[2]);
  if (!blocks.length)
    throw new Error(`README.md "## ${README_SECTION}" has no \`\`\`ts block; update scripts/pack-test.mjs`);
  return blocks.join('\n');
}

/**
 * Split the snippet into its imports and its statements, find the names the harness needs (the Queue, the Worker,
 * the backend, the dashboard mount) and the placeholders the README leaves to the reader (`sendEmail`, `app`), and
 * build two TypeScript modules: an ES module with top-level await, and a CommonJS one whose body runs in an async
 * function. The snippet's own lines are used verbatim.
 */
function composeSnippet(source) {
  const ts = requireFromRoot('typescript');
  const file = ts.createSourceFile('readme.ts', source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const imports = [];
  const body = [];
  const declared = new Set();
  const found = {};
  for (const statement of file.statements) {
    if (ts.isImportDeclaration(statement)) {
      imports.push(statement.getText(file));
      continue;
    }
    body.push(statement.getFullText(file).replace(/^\n+/, ''));
    if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) {
        if (!ts.isIdentifier(declaration.name)) continue;
        declared.add(declaration.name.text);
        const init = declaration.initializer;
        if (init && ts.isNewExpression(init) && ts.isIdentifier(init.expression)) {
          if (init.expression.text === 'Queue') found.queue ??= declaration.name.text;
          if (init.expression.text === 'Worker') found.worker ??= declaration.name.text;
        }
        if (init && ts.isCallExpression(init) && /^create\w*Backend$/.test(init.expression.getText(file))) {
          found.backend ??= declaration.name.text;
        }
      }
    } else if ((ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement)) && statement.name) {
      declared.add(statement.name.text);
    }
  }
  for (const role of ['queue', 'worker', 'backend']) {
    if (!found[role]) {
      throw new Error(
        `the README snippet no longer declares a ${role} the harness can find; update scripts/pack-test.mjs`,
      );
    }
  }
  const uses = (name) => new RegExp(`\\b${name}\\b`).test(body.join('\n')) && !declared.has(name);

  // Placeholders: defined minimally, never by changing the snippet's logic.
  const harnessImports = [`import { closeBackend as __ptCloseBackend } from '@conveyor/core';`];
  const prelude = ['const __ptSent: string[] = [];'];
  if (uses('sendEmail')) {
    prelude.push(
      'async function sendEmail(to: string, options: { signal: AbortSignal }): Promise<void> {',
      '  options.signal.throwIfAborted();',
      '  __ptSent.push(to);',
      '}',
    );
  }
  const mount = /\bapp\.use\(\s*['"]([^'"]+)['"]/.exec(source)?.[1];
  if (uses('app')) {
    harnessImports.push(`import __ptExpress from 'express';`);
    prelude.push('const app = __ptExpress();');
  }
  const auth = /basicAuth\(\s*\{\s*username:\s*'([^']*)',\s*password:\s*'([^']*)'/.exec(source);
  const { queue, worker, backend } = found;

  const epilogue = `
// ---- pack-test harness: the job completes, the dashboard answers, everything closes, the process exits ----
{
  const deadline = Date.now() + 30_000;
  for (;;) {
    const counts = await ${queue}.counts();
    if (counts.completed >= 1) break;
    if (counts.failed > 0) throw new Error('the README job failed: ' + JSON.stringify(counts));
    if (Date.now() > deadline) throw new Error('the README job did not complete within 30 s: ' + JSON.stringify(counts));
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  ${uses('sendEmail') ? "if (__ptSent.length < 1) throw new Error('the job completed without calling sendEmail');" : ''}
  ${
    uses('app') && mount
      ? `
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
  const { port } = server.address() as { port: number };
  const url = 'http://127.0.0.1:' + port + ${JSON.stringify(`${mount}/api/queues`)};
  ${
    auth
      ? `
  const anonymous = await fetch(url);
  await anonymous.body?.cancel();
  if (anonymous.status !== 401) throw new Error('the dashboard answered ' + anonymous.status + ' without credentials');`
      : ''
  }
  const response = await fetch(url${auth ? `, { headers: { authorization: 'Basic ' + Buffer.from(${JSON.stringify(`${auth[1]}:${auth[2]}`)}).toString('base64') } }` : ''});
  const text = await response.text();
  if (response.status !== 200) throw new Error('GET ' + url + ' answered ' + response.status + ': ' + text.slice(0, 300));
  if (!text.includes(JSON.stringify(${queue}.name))) throw new Error('the dashboard does not list the queue: ' + text.slice(0, 300));
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));`
      : ''
  }
  await ${worker}.close({ timeoutMs: 5_000 });
  await ${queue}.close();
  await __ptCloseBackend(${backend});
  console.log('conveyor-pack-test: README snippet OK, queue ' + JSON.stringify(${queue}.name));
}
`;
  return { imports: [...harnessImports, ...imports], prelude: prelude.join('\n'), body: body.join('\n'), epilogue };
}

/** The SQLite file the snippet opens (relative to its working directory). */
function databaseFile({ body }) {
  const file = /createSqliteBackend\(\s*\{\s*connection:\s*'([^']+)'/.exec(body)?.[1];
  if (!file) throw new Error('the README snippet no longer opens a SQLite file by name; update scripts/pack-test.mjs');
  return file;
}

function moduleSource({ imports, prelude, body, epilogue }, kind) {
  const header = '// Generated by scripts/pack-test.mjs from the README "Use it" snippet.\n';
  if (kind === 'esm') return `${header}${imports.join('\n')}\n\n${prelude}\n\n${body}\n${epilogue}`;
  // CommonJS has no top-level await: the same statements run inside an async function.
  return `${header}${imports.join('\n')}\n\nasync function main(): Promise<void> {\n${prelude}\n\n${body}\n${epilogue}\n}\n\nmain().catch((error) => {\n  console.error(error);\n  process.exitCode = 1;\n});\n`;
}

async function typecheckSnippet(project, composed, installed) {
  const t = performance.now();
  const dir = join(project, 'typecheck');
  mkdirSync(dir);
  writeFileSync(join(dir, 'snippet.mts'), moduleSource(composed, 'esm'));
  writeFileSync(join(dir, 'snippet.cts'), moduleSource(composed, 'cjs'));
  // Every installed package's declarations, through both conditions, so their imports are checked too.
  const everything = installed
    .map((workspace, index) => `import type * as p${index} from '${workspace.name}';\nexport type { p${index} };`)
    .join('\n');
  writeFileSync(join(dir, 'packages.mts'), `${everything}\n`);
  writeFileSync(join(dir, 'packages.cts'), `${everything}\n`);
  // skipLibCheck stays off: a published .d.ts that needs types the user does not get is a packaging bug.
  const tsconfig = {
    compilerOptions: {
      module: 'nodenext',
      moduleResolution: 'nodenext',
      target: 'es2022',
      lib: ['es2023', 'dom'],
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      types: ['node'],
    },
    files: ['snippet.mts', 'snippet.cts', 'packages.mts', 'packages.cts'],
  };
  writeFileSync(join(dir, 'tsconfig.json'), `${JSON.stringify(tsconfig, null, 2)}\n`);
  const tsc = requireFromRoot.resolve('typescript/bin/tsc');
  const result = await run(process.execPath, [tsc, '-p', 'tsconfig.json', '--pretty', 'false'], {
    cwd: dir,
    env: cleanEnv(),
    timeoutMs: 180_000,
  });
  // Errors inside other libraries' declarations (e.g. an @types package out of step with the package it types)
  // are not ours to fix and would make this check flaky; errors in our files or our packages fail it.
  const { ours, theirs } = splitDiagnostics(`${result.stdout}${result.stderr}`);
  if (ours.length || (result.code !== 0 && !theirs.length)) {
    throw new Error(
      `the README snippet and the packages' declarations do not type-check in a fresh project (in ${dir}):\n${indent(tail(ours.join('\n') || `${result.stdout}${result.stderr}`, 60))}`,
    );
  }
  for (const diagnostic of theirs) console.log(dim(`    (ignored, not our package) ${diagnostic.split('\n')[0]}`));
  step("the README snippet and every package's types check (skipLibCheck off) as ESM (.mts) and CJS (.cts)", t);
}

/** tsc --pretty false output, split into diagnostics in our files and diagnostics in third-party declarations. */
function splitDiagnostics(output) {
  const diagnostics = [];
  for (const line of output.split('\n')) {
    if (/^\S.*\(\d+,\d+\): error TS\d+/.test(line) || /^error TS\d+/.test(line)) diagnostics.push(line);
    else if (line.trim() && diagnostics.length) diagnostics[diagnostics.length - 1] += `\n${line}`;
  }
  const ours = [];
  const theirs = [];
  for (const diagnostic of diagnostics) {
    const file = /^(.*?)\(\d+,\d+\)/.exec(diagnostic)?.[1] ?? '';
    const thirdParty = file.includes('node_modules/') && !file.includes('node_modules/@conveyor/');
    (thirdParty ? theirs : ours).push(diagnostic);
  }
  return { ours, theirs };
}

async function runSnippet(project, composed) {
  const ts = requireFromRoot('typescript');
  let ran;
  for (const kind of ['esm', 'cjs']) {
    const t = performance.now();
    const dir = join(project, `run-${kind}`);
    mkdirSync(dir);
    const { outputText } = ts.transpileModule(moduleSource(composed, kind), {
      fileName: kind === 'esm' ? 'snippet.mts' : 'snippet.cts',
      compilerOptions: {
        module: kind === 'esm' ? ts.ModuleKind.ESNext : ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2022,
        esModuleInterop: true,
      },
    });
    const file = kind === 'esm' ? 'snippet.mjs' : 'snippet.cjs';
    writeFileSync(join(dir, file), outputText);
    const result = await run(process.execPath, [file], { cwd: dir, env: cleanEnv(), timeoutMs: 60_000 });
    const ok = result.stdout.includes('conveyor-pack-test: README snippet OK');
    if (result.code !== 0 || !ok) {
      const why = result.timedOut
        ? ok
          ? 'did not exit within 60 s after closing everything (a handle keeps the event loop alive)'
          : 'timed out after 60 s'
        : `exited with ${result.code ?? result.signal}`;
      throw new Error(
        `the README snippet (${kind === 'esm' ? 'import' : 'require'}) ${why} (${join(dir, file)}):\n${indent(tail(`${result.stdout}${result.stderr}`))}`,
      );
    }
    step(
      `the README snippet runs with ${kind === 'esm' ? 'import' : 'require'}: job completed, dashboard answered, exit 0`,
      t,
    );
    if (!ran) {
      const queueName = JSON.parse(/README snippet OK, queue (".*")/.exec(result.stdout)[1]);
      ran = { database: join(dir, databaseFile(composed)), queueName };
    }
  }
  return ran;
}

// ---------------------------------------------------------------------------------------------------------------
// The CLI

async function freePort() {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function checkCli(project, { database, queueName }) {
  const t = performance.now();
  const env = cleanEnv();
  const help = await runOrThrow('npx', ['--no-install', 'conveyor', '--help'], {
    cwd: project,
    env,
    timeoutMs: 60_000,
  });
  if (!/^Usage: conveyor /m.test(help.stdout)) {
    throw new Error(`\`npx conveyor --help\` printed no usage:\n${indent(tail(`${help.stdout}${help.stderr}`))}`);
  }
  step('`npx conveyor --help` prints the usage', t);

  // The standalone dashboard over the file the snippet wrote, read-only: the bin loads @conveyor/sqlite on demand.
  const t2 = performance.now();
  const port = await freePort();
  const bin = join(project, 'node_modules', '.bin', 'conveyor');
  const stop = new AbortController();
  const server = run(bin, ['dashboard', '--sqlite', database, '--port', String(port), '--read-only'], {
    cwd: project,
    env,
    timeoutMs: 30_000,
    signal: stop.signal,
  });
  let exited = false;
  server.then(() => {
    exited = true;
  });
  const url = `http://127.0.0.1:${port}/api/queues`;
  let last = 'no answer';
  let answered = false;
  try {
    while (!exited) {
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
        const text = await response.text();
        if (response.status === 200 && text.includes(JSON.stringify(queueName))) {
          answered = true;
          break;
        }
        last = `${response.status} ${text.slice(0, 200)}`;
      } catch (error) {
        last = error.message;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    stop.abort();
  }
  const result = await server;
  if (!answered) {
    const why = result.timedOut ? 'did not answer within 30 s' : `exited with ${result.code ?? result.signal}`;
    throw new Error(
      `\`conveyor dashboard --sqlite ${database}\` ${why} (GET ${url}: ${last}):\n${indent(tail(`${result.stdout}${result.stderr}`))}`,
    );
  }
  step('`conveyor dashboard --sqlite jobs.db --read-only` serves the queue the snippet used', t2);
}

// ---------------------------------------------------------------------------------------------------------------

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  setKeepTemp(args.includes('--keep'));
  installCleanupHandlers();
  console.log(bold('pack test'));
  packTest().then(
    () => {
      process.exitCode = 0;
    },
    (error) => {
      console.error(`${FAIL} ${error.message}`);
      process.exitCode = 1;
    },
  );
}
