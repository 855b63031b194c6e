import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { ValidateBy, ValidationArguments } from 'class-validator';
import { ATTACHMENT_MEDIA_TYPES, type ContentBlock } from '@jelmore/contracts';

export const MAX_QUERY_LENGTH = 100_000;
/** Blocks a query or input may hold at most, whatever the configuration says (it may say fewer). */
export const MAX_BLOCKS = 100;
export const IS_TURN_CONTENT = 'isTurnContent';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const BLOCK_KEYS: Record<ContentBlock['type'], readonly string[]> = {
  text: ['type', 'text'],
  image: ['type', 'mediaType', 'data', 'attachmentId'],
  document: ['type', 'mediaType', 'data', 'attachmentId', 'name'],
};

/** Why `value` is no query or input (a non-empty string, or content blocks), or undefined when it is one. */
export function turnContentProblem(value: unknown): string | undefined {
  if (typeof value === 'string') {
    if (!value.trim()) return 'must not be empty';
    return tooLong(value) ? `must be at most ${MAX_QUERY_LENGTH} characters` : undefined;
  }
  if (!Array.isArray(value)) return 'must be a string or an array of content blocks';
  if (value.length === 0) return 'must hold at least one block';
  if (value.length > MAX_BLOCKS) return `must hold at most ${MAX_BLOCKS} blocks`;
  for (const [index, block] of value.entries()) {
    const problem = blockProblem(block);
    if (problem) return `[${index}] ${problem}`;
  }
  // A turn's text, all blocks together, is a query's at most (its `user` event carries all of it).
  const texts = value.map((block) => (block as { text?: unknown }).text);
  const allText = texts.filter((text): text is string => typeof text === 'string').join('');
  return tooLong(allText)
    ? `text must be at most ${MAX_QUERY_LENGTH} characters in all`
    : undefined;
}

/** Longer than the limit in characters (code points, as class-validator's MaxLength counts them). */
function tooLong(text: string): boolean {
  if (text.length <= MAX_QUERY_LENGTH) return false;
  if (text.length > 2 * MAX_QUERY_LENGTH) return true;
  let characters = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    // A high surrogate followed by a low one is one character.
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    characters++;
  }
  return characters > MAX_QUERY_LENGTH;
}

function blockProblem(block: unknown): string | undefined {
  if (block === null || typeof block !== 'object' || Array.isArray(block))
    return 'must be an object';
  const fields = block as Record<string, unknown>;
  const type = fields.type;
  if (type !== 'text' && type !== 'image' && type !== 'document') {
    return 'type must be text, image or document';
  }
  const unknown = Object.keys(fields).find((key) => !BLOCK_KEYS[type].includes(key));
  if (unknown) return `${type} blocks have no field '${unknown.slice(0, 64)}'`;
  if (type === 'text') {
    return typeof fields.text === 'string' && !tooLong(fields.text)
      ? undefined
      : `text must be a string of at most ${MAX_QUERY_LENGTH} characters`;
  }
  if ((fields.data === undefined) === (fields.attachmentId === undefined)) {
    return 'must have either data (base64) or attachmentId';
  }
  if (fields.data !== undefined && typeof fields.data !== 'string') return 'data must be base64';
  if (
    fields.attachmentId !== undefined &&
    !(typeof fields.attachmentId === 'string' && UUID.test(fields.attachmentId))
  ) {
    return 'attachmentId must be an attachment id';
  }
  if (fields.mediaType !== undefined && typeof fields.mediaType !== 'string') {
    return 'mediaType must be a string';
  }
  if (
    fields.name !== undefined &&
    !(typeof fields.name === 'string' && fields.name.length <= 255)
  ) {
    return 'name must be a string of at most 255 characters';
  }
  return undefined;
}

const BLOCK_SCHEMA = {
  type: 'object',
  required: ['type'],
  properties: {
    type: { type: 'string', enum: ['text', 'image', 'document'] },
    text: { type: 'string', description: 'type text' },
    mediaType: {
      type: 'string',
      enum: [...ATTACHMENT_MEDIA_TYPES],
      description: 'Checked against the bytes; optional with attachmentId',
    },
    data: { type: 'string', format: 'byte', description: 'The bytes, base64' },
    attachmentId: { type: 'string', format: 'uuid', description: 'From POST /v1/attachments' },
    name: { type: 'string', description: "type document: the file's name, shown to the model" },
  },
};

/** The JSON Schema of a query or input (see IsTurnContent), for the OpenAPI and AsyncAPI documents. */
export const TURN_CONTENT_SCHEMA = {
  oneOf: [
    { type: 'string', minLength: 1, maxLength: MAX_QUERY_LENGTH },
    { type: 'array', minItems: 1, maxItems: MAX_BLOCKS, items: BLOCK_SCHEMA },
  ],
};

/**
 * A query or input: a string, or content blocks (text, images, documents). The shape is checked here;
 * base64, types, sizes and attachment ids by the sessions (Attachments), with their own codes.
 */
export function IsTurnContent(example: string) {
  return applyDecorators(
    ApiProperty({
      oneOf: [{ ...TURN_CONTENT_SCHEMA.oneOf[0], example }, TURN_CONTENT_SCHEMA.oneOf[1]],
      description:
        'Text, or content blocks in the order the model reads them: {type:"text", text}, ' +
        '{type:"image", mediaType, data|attachmentId}, {type:"document", mediaType, data|attachmentId, name?}',
    }),
    ValidateBy({
      name: IS_TURN_CONTENT,
      validator: {
        validate: (value: unknown) => turnContentProblem(value) === undefined,
        defaultMessage: (args?: ValidationArguments) =>
          `${args?.property ?? 'content'} ${turnContentProblem(args?.value) ?? 'is invalid'}`,
      },
    }),
  );
}
