import { IsEmail, IsOptional, IsString, ValidateNested } from 'class-validator';
import { WsClientEvents, WsServerEvents } from '@jelmore/contracts';
import { validateDto } from '../common/validation';
import { buildAsyncApiDocument, CLIENT_EVENTS } from './asyncapi.document';
import { renderAsyncApiPage } from './asyncapi.html';
import { dtoSchema } from './dto-schema';

interface Doc {
  operations: Record<string, { action: string; title: string; reply?: object }>;
  components: { schemas: Record<string, unknown> };
}

describe('the AsyncAPI document of /sessions', () => {
  const document = buildAsyncApiDocument() as unknown as Doc;

  it('has an operation for every client event, each with its ack as reply, and every server event', () => {
    const titles = (action: string) =>
      Object.values(document.operations)
        .filter((op) => op.action === action)
        .map((op) => op.title)
        .sort();
    expect(titles('receive')).toEqual(Object.values(WsClientEvents).sort());
    expect(titles('send')).toEqual([...Object.values(WsServerEvents), 'connect_error'].sort());
    const withReply = Object.values(document.operations).filter((op) => op.reply);
    expect(withReply.map((op) => op.title).sort()).toEqual(titles('receive'));
  });

  it("shows client payloads the gateway's own validation takes", () => {
    const refused = Object.entries(CLIENT_EVENTS).flatMap(([event, doc]) => {
      try {
        validateDto(doc.payload, doc.example);
        return [];
      } catch (err) {
        return [`${event}: ${(err as Error).message}`];
      }
    });
    expect(refused).toEqual([]);
  });

  it('reads payload schemas from the class-validator decorators, and refuses one it cannot map', () => {
    class Nested {
      @IsString() name!: string;
    }
    class Known {
      @IsOptional() @IsString() note?: string;
      @ValidateNested() nested!: Nested;
    }
    expect(dtoSchema(Known, (cls) => `#/components/schemas/${cls.name}`)).toEqual({
      type: 'object',
      properties: {
        note: { type: 'string' },
        nested: { $ref: '#/components/schemas/Nested' },
      },
      required: ['nested'],
      additionalProperties: false,
    });
    class Unknown {
      @IsEmail() email!: string;
    }
    expect(() => dtoSchema(Unknown, () => '')).toThrow('Unknown.email: no JSON Schema for isEmail');
  });

  it('renders a page without scripts, escaping what it shows', () => {
    const page = renderAsyncApiPage(buildAsyncApiDocument(), '/docs/asyncapi.json');
    expect(page).not.toMatch(/<script/i);
    expect(page).toContain('<code>session:create</code>');
    expect(page).toContain('<a href="#schema-Session">');
    // Quotes in descriptions and JSON are text, not markup.
    expect(page).toContain('provider&#39;s configured behaviour');
    expect(page).not.toContain('"ok"');
  });
});
