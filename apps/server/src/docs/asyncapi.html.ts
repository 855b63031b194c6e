/** The parts of the document the page shows. */
interface Document {
  info: { title: string; version: string; description: string };
  servers: Record<string, { protocol: string; protocolVersion?: string; pathname?: string }>;
  channels: Record<string, { address: string }>;
  operations: Record<
    string,
    { action: 'send' | 'receive'; messages: Ref[]; reply?: { messages: Ref[] } }
  >;
  components: { messages: Record<string, Message>; schemas: Record<string, unknown> };
}
interface Ref {
  $ref: string;
}
interface Message {
  name: string;
  summary?: string;
  description?: string;
  payload: unknown;
  examples?: Array<{ name?: string; payload: unknown }>;
}

const escape = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Inline markdown of the descriptions: `code` only. */
const prose = (text = ''): string =>
  text
    .split(/\n\n+/)
    .map((p) => `<p>${escape(p).replace(/`([^`]+)`/g, '<code>$1</code>')}</p>`)
    .join('');

/** JSON with every schema reference a link to the schema below. */
const json = (value: unknown): string =>
  `<pre>${escape(JSON.stringify(value, null, 2)).replace(
    /&#34;#\/components\/schemas\/(\w+)&#34;/g,
    '<a href="#schema-$1">"#/components/schemas/$1"</a>',
  )}</pre>`;

/**
 * A page for people, rendered on the server from the document itself: no script, nothing fetched, so
 * it works offline and under any content security policy.
 */
export function renderAsyncApiPage(document: object, jsonPath: string): string {
  const doc = document as Document;
  const messageOf = (ref: Ref) => doc.components.messages[ref.$ref.split('/').pop()!];
  const section = (message: Message, reply?: Message) => `
<section id="event-${escape(message.name)}">
  <h3><code>${escape(message.name)}</code></h3>
  <p><strong>${escape(message.summary ?? '')}</strong></p>${prose(message.description)}
  <h4>Payload</h4>${json(message.payload)}
  ${(message.examples ?? []).map((e) => `<h4>Example</h4>${json(e.payload)}`).join('')}
  ${reply ? `<h4>Ack</h4>${json(reply.payload)}${(reply.examples ?? []).map((e) => `<h4>Ack: ${escape(e.name ?? 'example')}</h4>${json(e.payload)}`).join('')}` : ''}
</section>`;
  const operations = (action: 'send' | 'receive') =>
    Object.values(doc.operations)
      .filter((op) => op.action === action)
      .map((op) => section(messageOf(op.messages[0]), op.reply && messageOf(op.reply.messages[0])))
      .join('');
  const [server] = Object.values(doc.servers);
  const [channel] = Object.values(doc.channels);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(doc.info.title)}</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}
pre{background:#f4f4f4;padding:.75rem;overflow:auto;font-size:13px}
code{background:#f4f4f4;padding:0 .2rem}
section{border-top:1px solid #ddd;margin-top:1.5rem}
h4{margin:.75rem 0 .25rem;font-size:14px}
</style></head><body>
<h1>${escape(doc.info.title)} <small>${escape(doc.info.version)}</small></h1>
${prose(doc.info.description)}
<p>Namespace <code>${escape(channel.address)}</code> · ${escape(server.protocol)} ${escape(server.protocolVersion ?? '')} at <code>${escape(server.pathname ?? '/')}</code> · the AsyncAPI 3 document: <a href="${escape(jsonPath)}">${escape(jsonPath)}</a></p>
<h2>Client → server (each acknowledged)</h2>${operations('receive')}
<h2>Server → client</h2>${operations('send')}
<h2>Schemas</h2>
${Object.entries(doc.components.schemas)
  .map(
    ([name, schema]) =>
      `<section id="schema-${escape(name)}"><h3>${escape(name)}</h3>${json(schema)}</section>`,
  )
  .join('')}
</body></html>
`;
}
