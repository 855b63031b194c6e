import { Controller, Get, Header, HttpCode, INestApplication, Post, Res } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { Response } from 'express';
import request from 'supertest';
import { replyJsonDirectly } from './json-reply';

const SESSION = { id: 's-1', title: 'héllo', usage: { inputTokens: 3 } };

@Controller()
class SampleController {
  @Get('one')
  one(): object {
    return SESSION;
  }

  @Get('list')
  list(): object[] {
    return [SESSION, SESSION];
  }

  @Post('made')
  @HttpCode(201)
  made(): object {
    return { id: 'new' };
  }

  @Get('text')
  @Header('content-type', 'text/plain')
  text(): string {
    return 'plain';
  }

  @Get('page')
  page(@Res() res: Response): void {
    res.type('html').send(Buffer.from('<p>page</p>'));
  }
}

describe('replyJsonDirectly', () => {
  let app: INestApplication;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ controllers: [SampleController] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    replyJsonDirectly(app.getHttpAdapter());
    await app.init();
  });

  afterAll(() => app.close());

  it('writes a plain JSON result with its type and length, and no ETag', async () => {
    const res = await request(app.getHttpServer()).get('/one').expect(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers['content-length']).toBe(String(Buffer.byteLength(JSON.stringify(SESSION))));
    expect(res.headers.etag).toBeUndefined();
    expect(res.body).toEqual(SESSION);
    const list = await request(app.getHttpServer()).get('/list').expect(200);
    expect(list.body).toEqual([SESSION, SESSION]);
  });

  it("keeps the route's status, and sends no body to HEAD", async () => {
    await request(app.getHttpServer()).post('/made').expect(201, { id: 'new' });
    const head = await request(app.getHttpServer()).head('/one').expect(200);
    expect(head.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(head.text).toBeUndefined();
  });

  it('leaves other replies to Express: a type a handler set, what a handler sends itself, errors', async () => {
    const text = await request(app.getHttpServer()).get('/text').expect(200, 'plain');
    expect(text.headers['content-type']).toMatch(/^text\/plain/);
    // The dashboard's files are revalidated with Express's ETag.
    const page = await request(app.getHttpServer()).get('/page').expect(200);
    expect(page.headers.etag).toBeDefined();
    await request(app.getHttpServer())
      .get('/page')
      .set('if-none-match', page.headers.etag)
      .expect(304);
    const missing = await request(app.getHttpServer()).get('/nowhere').expect(404);
    expect(missing.headers['content-type']).toMatch(/^application\/json/);
  });
});
