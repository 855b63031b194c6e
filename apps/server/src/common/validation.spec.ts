import { ErrorCode, ValidationError } from '@jelmore/contracts';
import { CreateSessionDto, WsInputDto } from '../api/session.dto';
import {
  assertPayloadDepth,
  createValidationPipe,
  MAX_PAYLOAD_DEPTH,
  nestingDepth,
  validateDto,
} from './validation';

/** `levels` arrays, one inside the next, parsed from text as a client's payload would be. */
const arrays = (levels: number): unknown => JSON.parse('['.repeat(levels) + ']'.repeat(levels));

describe('the payload depth bound', () => {
  it('counts levels of objects and arrays, without recursion however deep', () => {
    expect(nestingDepth('text')).toBe(0);
    expect(nestingDepth({ query: 'hi' })).toBe(1);
    expect(nestingDepth({ requirements: { capabilities: ['tools'] } })).toBe(3);
    expect(nestingDepth(arrays(200_000))).toBe(200_000);
    // Stops once past the bound it was given.
    expect(nestingDepth(arrays(200_000), 10)).toBe(11);
  });

  it('takes MAX_PAYLOAD_DEPTH levels and refuses one more, naming the field', () => {
    expect(() => assertPayloadDepth(arrays(MAX_PAYLOAD_DEPTH))).not.toThrow();
    expect(() => assertPayloadDepth(arrays(MAX_PAYLOAD_DEPTH + 1))).toThrow(
      `payload is nested deeper than ${MAX_PAYLOAD_DEPTH} levels`,
    );
    let error: unknown;
    try {
      assertPayloadDepth({ query: 'hi', requirements: arrays(MAX_PAYLOAD_DEPTH) });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({
      code: ErrorCode.ValidationFailed,
      message: `payload is nested deeper than ${MAX_PAYLOAD_DEPTH} levels (at requirements)`,
      details: { maxDepth: MAX_PAYLOAD_DEPTH, fields: ['requirements'] },
    });
  });

  it('guards validateDto (the gateway) and the REST pipe before class-transformer runs', async () => {
    // 5,000 levels overflow class-transformer's recursion: a RangeError without the bound.
    const payload = { sessionId: '6c8d5709-7e95-4529-a5f1-18ac3dddef69', text: arrays(5000) };
    expect(() => validateDto(WsInputDto, payload)).toThrow(ValidationError);
    await expect(
      createValidationPipe().transform(
        { query: 'hi', requirements: arrays(5000) },
        { type: 'body', metatype: CreateSessionDto },
      ),
    ).rejects.toThrow(/nested deeper than/);
  });
});
