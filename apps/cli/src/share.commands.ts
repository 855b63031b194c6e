import { type Command, InvalidArgumentError } from 'commander';
import { openShare, parseShareLink, type OpenedShare } from '@jelmore/client';
import type { Terminal } from './event-printer';
import { formatAge, formatUsage, styleFor, table, wantsColor } from './format';
import type { WithClient } from './program';
import { emit, notesFor, onCtrlC, printerFor, type StreamOutput } from './session.commands';

function seconds(value: string): number {
  if (!/^[1-9]\d*$/.test(value)) throw new InvalidArgumentError('expected whole seconds above 0');
  return Number(value);
}

function seq(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number');
  return Number(value);
}

/** A link's token; a bare token is taken as it is. */
function tokenOf(linkOrToken: string): string {
  return /^https?:\/\//.test(linkOrToken) ? parseShareLink(linkOrToken).token : linkOrToken;
}

/** `share`, `shares`, `unshare` (with the key) and `follow-share` (without one): docs/shares.md. */
export function addShareCommands(
  program: Command,
  { term, env, withClient }: { term: Terminal; env: NodeJS.ProcessEnv; withClient: WithClient },
): void {
  const style = styleFor(wantsColor(term.out, env));
  const print = (text: string) => term.out.write(`${text}\n`);
  const printJson = (value: unknown) => print(JSON.stringify(value, null, 2));

  program
    .command('share')
    .description('make a read-only link of a session and print it (anyone with it can watch)')
    .argument('<id>', 'session id')
    .option('--expires <seconds>', "the link's lifetime (default: the server's, a day)", seconds)
    .action(
      withClient(async (client, opts, id: string, local: { expires?: number }) => {
        const share = await client.createShare(id, { expiresInSeconds: local.expires });
        if (opts.json) return void printJson(share);
        print(share.url);
        // The URL alone on stdout, for `$(jelmore share …)`; how to undo it beside.
        term.err.write(
          `${share.id} · expires ${share.expiresAt} · revoke: jelmore unshare --session ${id} --id ${share.id}\n`,
        );
      }),
    );

  program
    .command('shares')
    .description("a session's share links, oldest first (their tokens are not kept)")
    .argument('<id>', 'session id')
    .action(
      withClient(async (client, opts, id: string) => {
        const shares = await client.listShares(id);
        if (opts.json) return void printJson(shares);
        if (!shares.length) return void print(style.dim('no share links'));
        print(
          table(
            ['ID', 'STATUS', 'CREATED', 'EXPIRES'],
            shares.map((s) => [
              s.id,
              s.status === 'active' ? style.green(s.status) : s.status,
              formatAge(s.createdAt),
              s.expiresAt,
            ]),
          ),
        );
      }),
    );

  program
    .command('unshare')
    .description('revoke a share link: by its link or token, or by --session and --id')
    .argument('[link]', 'the link, or its token')
    .option('--session <id>', 'the session of the link')
    .option('--id <shareId>', 'the id `jelmore shares` shows')
    .action(
      withClient(
        async (
          client,
          opts,
          link: string | undefined,
          local: { session?: string; id?: string },
        ) => {
          let share;
          if (link && !local.session && !local.id) share = await client.revokeShare(tokenOf(link));
          else if (!link && local.session && local.id) {
            share = await client.revokeShare(local.session, local.id);
          } else {
            throw new InvalidArgumentError('give a link or token, or both --session and --id');
          }
          if (opts.json) printJson(share);
          else print(`${share.id} ${share.status}`);
        },
      ),
    );

  program
    .command('follow-share')
    .description('replay a shared session and follow it live, without a key (Ctrl-C stops)')
    .argument('<link>', 'the link; or its token, on --server')
    .option('--after <seq>', 'replay only the events after this seq', seq, 0)
    .action(
      withClient(async (_client, opts, link: string, local: { after: number }) => {
        const share = /^https?:\/\//.test(link)
          ? await openShare(link)
          : await openShare(opts.server, { token: link });
        return followShare(share, { term, env, json: Boolean(opts.json), after: local.after });
      }),
    );
}

/** Prints a shared session's events as `attach` does, until it ends, the link stops, or Ctrl-C. */
async function followShare(
  share: OpenedShare,
  options: StreamOutput & { after: number },
): Promise<number> {
  const printer = printerFor(options);
  const say = notesFor(options, printer);
  const { id, title, provider, model, state } = share.session;
  say(`shared session ${id} · ${provider} · ${model} · ${state}${title ? ` · ${title}` : ''}`);
  const stop = new AbortController();
  const release = onCtrlC(() => stop.abort());
  try {
    const events = share.follow({
      after: options.after,
      signal: stop.signal,
      onConnectionChange: (up) => say(up ? 'reconnected' : 'connection lost, reconnecting…'),
    });
    for await (const event of events) emit(options, printer, event);
    const session = await share.refresh();
    say(
      `${stop.signal.aborted ? 'stopped: ' : ''}session ${id} ${session.state} · ${formatUsage(session.usage)}`,
    );
    return session.state === 'failed' && !stop.signal.aborted ? 1 : 0;
  } finally {
    release();
    printer.finish();
  }
}
