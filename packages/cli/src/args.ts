import { parseArgs } from 'node:util';

/** What `conveyor dashboard` was asked to do. */
export interface DashboardCommand {
  store:
    | { kind: 'redis'; url: string; prefix?: string }
    | { kind: 'redis-cluster'; seeds: string[]; prefix?: string }
    | { kind: 'postgres'; url: string; schema?: string }
    | { kind: 'sqlite'; file: string };
  port: number;
  host: string;
  basePath: string;
  readOnly: boolean;
  basicAuth: { username: string; password: string } | null;
}

export const USAGE = `Usage: conveyor dashboard (--redis URL | --redis-cluster SEEDS | --postgres URL | --sqlite FILE) [options]

Serve the Conveyor dashboard over an existing store.

Store (exactly one):
  --redis URL          e.g. redis://localhost:6379        (--prefix P: the prefix your app uses)
  --redis-cluster SEEDS  Redis Cluster seed nodes, e.g. redis-1:6379,redis-2:6379   (--prefix P as above)
  --postgres URL       e.g. postgres://user@host/db        (--schema S: the schema your app uses)
  --sqlite FILE        the SQLite database file of your app

Options:
  --port N             port to listen on                  (default 3000)
  --host H             address to listen on               (default 127.0.0.1)
  --base-path P        mount path, e.g. /dashboard        (default /)
  --read-only          refuse every mutation (retry, cancel, delete, pause, …)
  --basic-auth U:P     require HTTP basic auth; also readable from CONVEYOR_BASIC_AUTH
  -h, --help           show this help
`;

/** A usage error: printed with the usage text, exit code 2. */
export class UsageError extends Error {}

/** Parse `conveyor …` arguments (without the node and script paths). */
export function parseCommand(argv: string[], env: NodeJS.ProcessEnv = process.env): DashboardCommand | 'help' {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  if (positionals[0] !== 'dashboard') {
    throw new UsageError(
      positionals.length === 0 ? 'missing command: dashboard' : `unknown command "${positionals[0]}"`,
    );
  }
  const stores = [
    values.redis && 'redis',
    values['redis-cluster'] && 'redis-cluster',
    values.postgres && 'postgres',
    values.sqlite && 'sqlite',
  ].filter(Boolean);
  if (stores.length !== 1) throw new UsageError('pass exactly one of --redis, --redis-cluster, --postgres, --sqlite');
  const port = Number(values.port ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new UsageError(`--port must be 0–65535 (got "${values.port}")`);
  const auth = values['basic-auth'] ?? env.CONVEYOR_BASIC_AUTH;
  let basicAuth: DashboardCommand['basicAuth'] = null;
  if (auth !== undefined) {
    const colon = auth.indexOf(':');
    if (colon <= 0 || colon === auth.length - 1) throw new UsageError('--basic-auth must be user:password');
    basicAuth = { username: auth.slice(0, colon), password: auth.slice(colon + 1) };
  }
  const basePath = (values['base-path'] ?? '/').replace(/\/+$/, '');
  if (basePath !== '' && !basePath.startsWith('/')) throw new UsageError('--base-path must start with /');
  const prefix = values.prefix ? { prefix: values.prefix } : {};
  const seeds = (values['redis-cluster'] ?? '').split(',').map((seed) => seed.trim());
  if (values['redis-cluster'] !== undefined && seeds.some((seed) => seed === '')) {
    throw new UsageError('--redis-cluster takes host:port seed nodes separated by commas');
  }
  const store: DashboardCommand['store'] = values.redis
    ? { kind: 'redis', url: values.redis, ...prefix }
    : values['redis-cluster'] !== undefined
      ? { kind: 'redis-cluster', seeds, ...prefix }
      : values.postgres
        ? { kind: 'postgres', url: values.postgres, ...(values.schema ? { schema: values.schema } : {}) }
        : { kind: 'sqlite', file: values.sqlite as string };
  return { store, port, host: values.host ?? '127.0.0.1', basePath, readOnly: values['read-only'] === true, basicAuth };
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      redis: { type: 'string' },
      'redis-cluster': { type: 'string' },
      postgres: { type: 'string' },
      sqlite: { type: 'string' },
      prefix: { type: 'string' },
      schema: { type: 'string' },
      port: { type: 'string', short: 'p' },
      host: { type: 'string' },
      'base-path': { type: 'string' },
      'read-only': { type: 'boolean' },
      'basic-auth': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
