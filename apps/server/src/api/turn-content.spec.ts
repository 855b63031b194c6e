import { MAX_BLOCKS, MAX_QUERY_LENGTH, turnContentProblem } from './turn-content';

const ID = '0b7c1d0e-3f55-4a8e-9f0e-2d4b8c6a1f00';
const TEXT = { type: 'text', text: 'see' };

describe('turnContentProblem', () => {
  it.each([
    ['text', 'hello'],
    ['text of the longest length', 'x'.repeat(MAX_QUERY_LENGTH)],
    ['one text block', [TEXT]],
    ['an empty text block beside others', [{ type: 'text', text: '' }, TEXT]],
    ['an inline image', [{ type: 'image', mediaType: 'image/png', data: 'iVBORw0KGgo=' }]],
    ['an image by id, without its type', [{ type: 'image', attachmentId: ID.toUpperCase() }]],
    [
      'named documents',
      [
        { type: 'document', mediaType: 'application/pdf', data: 'JVBERi0=', name: 'a.pdf' },
        { type: 'document', attachmentId: ID, name: 'n'.repeat(255) },
      ],
    ],
    ['the most blocks', Array.from({ length: MAX_BLOCKS }, () => TEXT)],
  ])('takes %s', (_what, value) => {
    expect(turnContentProblem(value)).toBeUndefined();
  });

  // Base64, media types and attachment ids are the sessions' to check, with their own codes.
  it('leaves what the bytes are to the sessions', () => {
    const unchecked = [{ type: 'image', mediaType: 'image/svg+xml', data: 'not base64!' }];
    expect(turnContentProblem(unchecked)).toBeUndefined();
  });

  it.each([
    ['an empty string', '', 'must not be empty'],
    ['whitespace', ' \n\t ', 'must not be empty'],
    [
      'too long a string',
      'x'.repeat(MAX_QUERY_LENGTH + 1),
      `must be at most ${MAX_QUERY_LENGTH} characters`,
    ],
    ['a number', 42, 'must be a string or an array of content blocks'],
    ['an object', { type: 'text', text: 'x' }, 'must be a string or an array of content blocks'],
    ['null', null, 'must be a string or an array of content blocks'],
    ['an empty array', [], 'must hold at least one block'],
    [
      "more text in all than a query's",
      [
        { type: 'text', text: 'x'.repeat(MAX_QUERY_LENGTH) },
        { type: 'text', text: 'y' },
      ],
      `text must be at most ${MAX_QUERY_LENGTH} characters in all`,
    ],
    [
      'too many blocks',
      Array.from({ length: MAX_BLOCKS + 1 }, () => TEXT),
      `must hold at most ${MAX_BLOCKS} blocks`,
    ],
    ['a string as a block', ['hello'], '[0] must be an object'],
    ['an array as a block', [TEXT, [TEXT]], '[1] must be an object'],
    [
      'an unknown type',
      [TEXT, { type: 'audio', data: 'AA==' }],
      '[1] type must be text, image or document',
    ],
    ['no type', [{ text: 'x' }], '[0] type must be text, image or document'],
    [
      'an unknown field',
      [{ type: 'text', text: 'x', data: 'AA==' }],
      "[0] text blocks have no field 'data'",
    ],
    [
      'a name on an image',
      [{ type: 'image', data: 'AA==', name: 'a.png' }],
      "[0] image blocks have no field 'name'",
    ],
    [
      'text that is no string',
      [{ type: 'text', text: 7 }],
      `[0] text must be a string of at most ${MAX_QUERY_LENGTH} characters`,
    ],
    [
      'too long a text block',
      [{ type: 'text', text: 'x'.repeat(MAX_QUERY_LENGTH + 1) }],
      `[0] text must be a string of at most ${MAX_QUERY_LENGTH} characters`,
    ],
    [
      'data and an attachment id',
      [{ type: 'image', data: 'AA==', attachmentId: ID }],
      '[0] must have either data (base64) or attachmentId',
    ],
    [
      'neither data nor an attachment id',
      [{ type: 'document', mediaType: 'application/pdf' }],
      '[0] must have either data (base64) or attachmentId',
    ],
    ['data that is no string', [{ type: 'image', data: [1, 2] }], '[0] data must be base64'],
    [
      'an attachment id that is no UUID',
      [{ type: 'image', attachmentId: 'a.png' }],
      '[0] attachmentId must be an attachment id',
    ],
    [
      'a path as attachment id',
      [{ type: 'image', attachmentId: `../${ID}` }],
      '[0] attachmentId must be an attachment id',
    ],
    [
      'a media type that is no string',
      [{ type: 'image', data: 'AA==', mediaType: 1 }],
      '[0] mediaType must be a string',
    ],
    [
      'too long a name',
      [{ type: 'document', data: 'AA==', name: 'n'.repeat(256) }],
      '[0] name must be a string of at most 255 characters',
    ],
  ])('refuses %s', (_what, value, problem) => {
    expect(turnContentProblem(value)).toBe(problem);
  });

  it('names the first bad block, and cuts an unknown field name short', () => {
    const long = 'f'.repeat(500);
    expect(turnContentProblem([TEXT, TEXT, { type: 'text', text: 'x', [long]: 1 }])).toBe(
      `[2] text blocks have no field '${'f'.repeat(64)}'`,
    );
  });
});
