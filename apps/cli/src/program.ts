import { Command, InvalidArgumentError, Option } from 'commander';
import { JelmoreClient, JelmoreClientError } from '@jelmore/client';
import { collectFile, turnContent, type AttachmentPaths } from './attachments';
import {
  colorPatch,
  describeRewind,
  describeWorktreeRemoval,
  diffRange,
  formatDiffStat,
  formatFork,
} from './checkpoint-format';
import type { Terminal } from './event-printer';
import { formatAge, formatCost, oneLine, styleFor, table, wantsColor } from './format';
import { addMcpConfigCommand } from './mcp-config.command';
import { attachSession, runSession } from './session.commands';
import { addShareCommands } from './share.commands';

export const DEFAULT_SERVER = 'http://127.0.0.1:3000';

export interface GlobalOptions {
  server: string;
  key?: string;
  json?: boolean;
}

/** Wraps a command's action: gives it a client, and turns a failure into a message and exit code 1. */
export type WithClient = <A extends unknown[]>(
  action: (client: JelmoreClient, opts: GlobalOptions, ...args: A) => Promise<number | void>,
) => (...args: A) => Promise<void>;

/** `--image` and `--file`, repeatable, on the commands that send a turn. */
function withAttachmentOptions(command: Command): Command {
  return command
    .option('--image <path>', 'attach an image: png, jpeg, gif, webp (repeatable)', collectFile)
    .option(
      '--file <path>',
      'attach a document: pdf, text, markdown, csv, json (repeatable)',
      collectFile,
    );
}

function attachmentPaths(local: { image?: string[]; file?: string[] }): AttachmentPaths {
  return { image: local.image ?? [], file: local.file ?? [] };
}

function nonNegativeInt(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number');
  return Number(value);
}

function positiveInt(value: string): number {
  const n = nonNegativeInt(value);
  if (n === 0) throw new InvalidArgumentError('expected a whole number above 0');
  return n;
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
}

/** The `jelmore` command line; `term` and `env` are the process's unless a test gives its own. */
export function buildProgram(term: Terminal, env: NodeJS.ProcessEnv): Command {
  const program = new Command('jelmore')
    .description('Run, watch and manage Jelmore agent sessions.')
    .addOption(
      new Option('-s, --server <url>', 'Jelmore server URL')
        .env('JELMORE_SERVER')
        .default(DEFAULT_SERVER),
    )
    .addOption(
      new Option('-k, --key <key>', "API key (one of the server's JELMORE_API_KEYS)").env(
        'JELMORE_API_KEY',
      ),
    )
    .option('--json', 'JSON output for scripts (streams: one event per line)')
    .showHelpAfterError()
    .configureOutput({
      writeOut: (text) => term.out.write(text),
      writeErr: (text) => term.err.write(text),
    });

  const style = styleFor(wantsColor(term.out, env));
  const print = (text: string) => term.out.write(text.endsWith('\n') ? text : `${text}\n`);
  const printJson = (value: unknown) => print(JSON.stringify(value, null, 2));

  /** Runs an action with a client, and turns a failure into a message and exit code 1. */
  const withClient: WithClient =
    (action) =>
    async (...args) => {
      const command = args[args.length - 1] as Command;
      const opts = command.optsWithGlobals<GlobalOptions>();
      const client = new JelmoreClient({ url: opts.server, apiKey: opts.key });
      try {
        process.exitCode = (await action(client, opts, ...args)) ?? 0;
      } catch (err) {
        process.exitCode = 1;
        if (err instanceof JelmoreClientError) {
          term.err.write(`jelmore: ${err.code}: ${err.message}\n`);
          if (err.isUnauthorized)
            term.err.write('Give an API key with --key or JELMORE_API_KEY.\n');
        } else {
          term.err.write(`jelmore: ${err instanceof Error ? err.message : String(err)}\n`);
        }
      } finally {
        client.close();
      }
    };

  withAttachmentOptions(
    program
      .command('run')
      .description('start a session with a query and stream it until its turn ends')
      .argument('<query...>', 'what the agent should do')
      .option('-p, --provider <name>', 'provider (default: the server chooses)')
      .option('-m, --model <model>', 'model id or alias, e.g. sonnet')
      .option('--cwd <dir>', "working directory inside the server's workspace root")
      .option('--budget <usd>', 'stop the session once it has cost this much', positiveNumber)
      .option('--worktree', 'work in a git worktree of its own, on the branch jelmore/<id>')
      .addOption(
        new Option(
          '--base-ref <ref>',
          'the commit, branch or tag the worktree starts from',
        ).implies({ worktree: true }),
      )
      .option('--delegate', "give the agent Jelmore's MCP server, to start sessions of its own")
      .option(
        '--experiment <name>',
        'take part in an A/B experiment of the server (it picks the model)',
      )
      .option('--keep', 'leave the session open when the turn ends (default: terminate it)'),
  ).action(
    withClient(
      async (
        client,
        opts,
        query: string[],
        local: {
          provider?: string;
          model?: string;
          cwd?: string;
          budget?: number;
          worktree?: boolean;
          baseRef?: string;
          delegate?: boolean;
          experiment?: string;
          keep?: boolean;
          image?: string[];
          file?: string[];
        },
      ) =>
        runSession(
          client,
          {
            query: await turnContent(client, query.join(' '), attachmentPaths(local)),
            provider: local.provider,
            model: local.model,
            cwd: local.cwd,
            maxBudgetUsd: local.budget,
            isolation: local.worktree ? 'worktree' : undefined,
            baseRef: local.baseRef,
            ...(local.delegate ? { delegation: true } : {}),
            experiment: local.experiment,
          },
          { term, env, json: Boolean(opts.json), keep: Boolean(local.keep) },
        ),
    ),
  );

  program
    .command('attach')
    .description('replay a session and follow it live until it ends (Ctrl-C detaches)')
    .argument('<id>', 'session id')
    .option('--after <seq>', 'replay only the events after this seq', nonNegativeInt, 0)
    .action(
      withClient(async (client, opts, id: string, local: { after: number }) =>
        attachSession(client, id, { term, env, json: Boolean(opts.json), after: local.after }),
      ),
    );

  withAttachmentOptions(
    program
      .command('send')
      .description('send input to a session (a new turn when idle, else queued)')
      .argument('<id>', 'session id')
      .argument('<text...>', 'the input'),
  ).action(
    withClient(
      async (
        client,
        opts,
        id: string,
        text: string[],
        local: { image?: string[]; file?: string[] },
      ) => {
        await client.send(id, await turnContent(client, text.join(' '), attachmentPaths(local)));
        if (opts.json) printJson({ ok: true });
      },
    ),
  );

  program
    .command('ls')
    .description('list sessions, most recently active first')
    .action(
      withClient(async (client, opts) => {
        const sessions = (await client.listSessions()).sort((a, b) =>
          b.updatedAt.localeCompare(a.updatedAt),
        );
        if (opts.json) return void printJson(sessions);
        if (!sessions.length) return void print(style.dim('no sessions'));
        print(
          table(
            ['ID', 'STATE', 'PROVIDER', 'MODEL', 'COST', 'UPDATED', 'TITLE'],
            sessions.map((s) => [
              s.id,
              s.state,
              s.provider,
              s.model,
              formatCost(s.usage.costUsd),
              formatAge(s.updatedAt),
              s.title ?? '',
            ]),
          ),
        );
      }),
    );

  program
    .command('kill')
    .description('terminate a session')
    .argument('<id>', 'session id')
    .action(
      withClient(async (client, opts, id: string) => {
        const session = await client.terminate(id);
        if (opts.json) return void printJson(session);
        print(`${session.id} ${session.state} · ${formatCost(session.usage.costUsd)}`);
        if (session.worktreeRemoved) print(describeWorktreeRemoval(session.worktreeRemoved));
      }),
    );

  program
    .command('diff')
    .description("a session's changes to its files since it started: the patch, --stat or --json")
    .argument('<id>', 'session id')
    .addOption(
      new Option('--turn <n>', "one turn's own changes")
        .argParser(positiveInt)
        .conflicts(['from', 'to']),
    )
    .option('--from <turn>', "from this turn's checkpoint (default 0: the start)", nonNegativeInt)
    .option('--to <turn>', "to this turn's checkpoint (default: the files now)", nonNegativeInt)
    .option('--stat', 'only the files changed, with lines added and removed')
    .action(
      withClient(
        async (
          client,
          opts,
          id: string,
          local: { turn?: number; from?: number; to?: number; stat?: boolean },
        ) => {
          const range = diffRange(local);
          if (opts.json || local.stat) {
            const diff = await client.diff(id, range);
            return void (opts.json ? printJson(diff) : print(formatDiffStat(diff, style)));
          }
          const patch = await client.patch(id, range);
          if (patch) print(colorPatch(patch, style));
          else term.err.write('no changes\n');
        },
      ),
    );

  program
    .command('fork')
    .description("a new session from a session's conversation and files at a turn")
    .argument('<id>', 'session id')
    .option('--turn <n>', 'the turn to fork at (default: the last checkpoint)', positiveInt)
    .action(
      withClient(async (client, opts, id: string, local: { turn?: number }) => {
        const session = await client.fork(id, { turn: local.turn });
        if (opts.json) printJson(session);
        else print(formatFork(session));
      }),
    );

  program
    .command('rewind')
    .description("put a session's files (and conversation) back to a turn; not while it runs")
    .argument('<id>', 'session id')
    .requiredOption('--turn <n>', 'the turn to go back to (0: the start)', nonNegativeInt)
    .action(
      withClient(async (client, opts, id: string, local: { turn: number }) => {
        const result = await client.rewind(id, local.turn);
        if (opts.json) printJson(result);
        else print(describeRewind(result));
      }),
    );

  for (const [name, description] of [
    ['suspend', 'suspend a session: its agent ends, the conversation is kept'],
    ['resume', 'resume a suspended or interrupted session (it is idle afterwards)'],
  ] as const) {
    program
      .command(name)
      .description(description)
      .argument('<id>', 'session id')
      .action(
        withClient(async (client, opts, id: string) => {
          const session = await client[name](id);
          if (opts.json) printJson(session);
          else print(`${session.id} ${session.state}`);
        }),
      );
  }

  program
    .command('providers')
    .description('providers with their health, load and models')
    .action(
      withClient(async (client, opts) => {
        const report = await client.providers();
        if (opts.json) return void printJson(report);
        print(
          table(
            ['PROVIDER', 'HEALTH', 'CIRCUIT', 'LOAD', 'MODELS'],
            report.providers.map((p) => [
              p.name === report.defaultProvider ? `${p.name} (default)` : p.name,
              p.health?.healthy
                ? style.green('up')
                : style.red(`down: ${oneLine(p.health?.reason ?? '?', 50)}`),
              p.health?.circuit ?? '?',
              `${p.load.active}/${p.load.max}`,
              p.models.map((m) => m.aliases[0] ?? m.id).join(', '),
            ]),
          ),
        );
      }),
    );

  program
    .command('health')
    .description("the server's readiness and each provider's health (exit 1 when not ready)")
    .action(
      withClient(async (client, opts) => {
        const [ready, providers] = await Promise.all([client.health(), client.providerHealth()]);
        if (opts.json) {
          printJson({ ...ready, providers });
        } else {
          print(
            `server ${ready.ready ? style.green('ready') : style.red(`not ready (${ready.status})`)} at ${client.url}`,
          );
          print(
            table(
              ['PROVIDER', 'HEALTH', 'CIRCUIT', 'VERSION', 'CHECKED'],
              Object.entries(providers).map(([name, h]) => [
                name,
                h.healthy ? style.green('up') : style.red(`down: ${oneLine(h.reason ?? '?', 50)}`),
                h.circuit,
                h.version ?? '',
                formatAge(h.checkedAt),
              ]),
            ),
          );
        }
        return ready.ready ? 0 : 1;
      }),
    );

  addShareCommands(program, { term, env, withClient });
  addMcpConfigCommand(program, term);

  return program;
}
