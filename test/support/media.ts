import { createHash } from 'node:crypto';
import supertest from 'supertest';
import type { AgentAttachment, AttachmentResource } from '@jelmore/contracts';
import { crc32, deflateSync } from 'node:zlib';

/** Files for multimodal tests, made here so each test can have bytes no other test sends. */

export function sha256(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A valid RGB PNG of one colour: `seed` picks the colour, so two seeds give two different files. */
export function pngImage(seed = 1, width = 8, height = 8): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, no interlace
  const row = Buffer.alloc(1 + width * 3);
  for (let x = 0; x < width; x++)
    row.set([seed & 255, (seed * 7) & 255, (seed * 13) & 255], 1 + x * 3);
  const pixels = Buffer.concat(Array.from({ length: height }, () => row));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(pixels)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A one-page PDF whose page says `text`. */
export function pdfDocument(text = 'Jelmore test document'): Buffer {
  const stream = `BT /F1 12 Tf 72 720 Td (${text}) Tj ET`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let body = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((object, i) => {
    offsets.push(body.length);
    body += `${i + 1} 0 obj\n${object}\nendobj\n`;
  });
  const xref = body.length;
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  body += offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('');
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(body, 'latin1');
}

/** The start of a Linux executable: what a renamed binary looks like. */
export const ELF_BYTES = Buffer.concat([
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]),
  Buffer.alloc(56),
]);

/** An attachment as an agent is given it (AgentInput), for provider specs: its reference and bytes. */
export function agentAttachment(
  type: AgentAttachment['type'],
  mediaType: AgentAttachment['mediaType'],
  bytes: Buffer,
  name?: string,
): AgentAttachment {
  const hash = sha256(bytes);
  return {
    type,
    attachmentId: `att-${hash.slice(0, 12)}`,
    mediaType,
    size: bytes.length,
    sha256: hash,
    bytes,
    ...(name ? { name } : {}),
  };
}

/** Uploads `bytes` as a raw body (`POST /v1/attachments`, 201): the attachment the server kept. */
export async function uploadAttachment(
  url: string,
  bytes: Buffer,
  { key, contentType = 'application/octet-stream' }: { key?: string; contentType?: string } = {},
): Promise<AttachmentResource> {
  let req = supertest(url).post('/v1/attachments').set('content-type', contentType);
  if (key) req = req.set('authorization', `Bearer ${key}`);
  return (await req.send(bytes).expect(201)).body as AttachmentResource;
}
