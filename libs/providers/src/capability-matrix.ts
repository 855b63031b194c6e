import type { AgentProviderPort } from '@jelmore/contracts';

const yes = (value: boolean | undefined) => (value ? 'yes' : '—');

/** A markdown table of what each provider declares it can do (README, GET /v1/providers). */
export function capabilityMatrix(providers: readonly AgentProviderPort[]): string {
  const rows = providers.map((provider) => {
    const c = provider.capabilities;
    const models = provider.models();
    return [
      `\`${provider.name}\``,
      models.map((m) => m.aliases[0] ?? m.id).join(', '),
      yes(c.streaming),
      yes(c.tools),
      yes(c.interrupt),
      yes(c.steer),
      yes(c.continuation),
      yes(c.warmStart),
      yes(c.directoryTracking),
      yes(c.fork),
      yes(c.rewind),
      yes(c.multimodal),
      yes(c.documents),
      c.permissions?.length ? c.permissions.join(', ') : '—',
      c.maxContextTokens ? `${Math.round(c.maxContextTokens / 1000)}k tokens` : '—',
    ];
  });
  const header = [
    'Provider',
    'Models',
    'Streaming',
    'Tools',
    'Interrupt',
    'Steer',
    'Resume',
    'Warm start',
    'Directory tracking',
    'Fork',
    'Rewind',
    'Images',
    'PDF',
    'Permission policies',
    'Context',
  ];
  return [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}
