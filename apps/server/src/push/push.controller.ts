import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ErrorCode } from '@jelmore/contracts';
import { ApiError, ApiErrorCases, ApiErrors, ApiKeyProtected } from '../api/api-docs.decorator';
import type { Principal } from '../auth/api-keys.service';
import { CurrentPrincipal } from '../auth/principal.decorator';
import { Public } from '../auth/public.decorator';
import { PushActions } from './push-actions';
import { checkAction } from './push-input';
import { PushKeys } from './push-keys';
import { type PushSubscriptionView, PushService } from './push.service';

const SUBSCRIPTION_EXAMPLE: PushSubscriptionView = {
  id: 'push_5b0c3a4e-8f1d-4c2a-9e57-1f6d2b8a7c90',
  owner: 'alice',
  endpoint: 'https://push.example.com/send/abc123',
  createdAt: '2026-01-01T12:00:00.000Z',
};

@ApiTags('push')
@Controller('v1/push')
export class PushController {
  constructor(
    private readonly push: PushService,
    private readonly keys: PushKeys,
    private readonly actions: PushActions,
  ) {}

  @Get('key')
  @Public()
  @ApiOperation({
    summary: "The server's VAPID public key",
    description: 'The `applicationServerKey` of `pushManager.subscribe()`; see docs/push.md.',
  })
  @ApiOkResponse({ example: { publicKey: 'BN3x…' } })
  key(): { publicKey: string } {
    return { publicKey: this.keys.publicKey };
  }

  @Post('subscriptions')
  @ApiKeyProtected()
  @ApiOperation({
    summary: "Register a browser's push subscription for the key",
    description:
      "The key's sessions' permission requests (with Allow and Deny), turn ends and failures are sent to it (an admin key's: every session's). An endpoint registered again gets the new keys and owner.",
  })
  @ApiBody({
    schema: {
      type: 'object',
      required: ['endpoint', 'keys'],
      properties: {
        endpoint: { type: 'string', description: 'https' },
        keys: {
          type: 'object',
          required: ['p256dh', 'auth'],
          properties: { p256dh: { type: 'string' }, auth: { type: 'string' } },
        },
      },
    },
    examples: {
      subscription: {
        value: {
          endpoint: SUBSCRIPTION_EXAMPLE.endpoint,
          keys: {
            p256dh:
              'BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM',
            auth: 'tBHItJI5svbpez7KI4CCXg',
          },
        },
      },
    },
  })
  @ApiCreatedResponse({
    description: 'The subscription, without its keys',
    example: SUBSCRIPTION_EXAMPLE,
  })
  @ApiError(
    400,
    {
      code: ErrorCode.ValidationFailed,
      message: 'keys.auth must be a base64url secret of 16 bytes',
    },
    'An endpoint that is not https, or keys that are not P-256 and 16 bytes',
  )
  subscribe(
    @CurrentPrincipal() principal: Principal,
    @Body() body: unknown,
  ): Promise<PushSubscriptionView> {
    return this.push.subscribe(principal, body);
  }

  @Get('subscriptions')
  @ApiKeyProtected()
  @ApiOperation({ summary: "The key's push subscriptions (an admin key's: all)" })
  @ApiOkResponse({ example: [SUBSCRIPTION_EXAMPLE] })
  list(@CurrentPrincipal() principal: Principal): Promise<PushSubscriptionView[]> {
    return this.push.list(principal);
  }

  @Delete('subscriptions/:id')
  @ApiKeyProtected()
  @ApiOperation({ summary: 'Remove a push subscription' })
  @ApiOkResponse({ description: 'The removed subscription', example: SUBSCRIPTION_EXAMPLE })
  @ApiError(
    404,
    { code: ErrorCode.NotFound, message: `No push subscription '${SUBSCRIPTION_EXAMPLE.id}'` },
    "Unknown or another key's",
  )
  remove(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
  ): Promise<PushSubscriptionView> {
    return this.push.remove(principal, id);
  }

  @Post('actions/:token')
  @Public()
  @HttpCode(200)
  @ApiOperation({
    summary: "A notification's Allow or Deny",
    description:
      "No API key: the token is the credential. It answers the one permission request it was sent for, once, before it expires (JELMORE_PUSH_TOKEN_TTL_SECONDS), as the key the notification went to; `sessionId` and `requestId`, when given, must be that request's.",
  })
  @ApiBody({
    schema: {
      type: 'object',
      required: ['allow'],
      properties: {
        allow: { type: 'boolean' },
        sessionId: { type: 'string' },
        requestId: { type: 'string' },
      },
    },
    examples: { allow: { value: { allow: true } } },
  })
  @ApiOkResponse({
    example: { ok: true, sessionId: '3f2b1c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d', requestId: 'toolu_01' },
  })
  @ApiErrorCases(403, 'The token does not answer: nothing was decided', {
    invalid: {
      summary: 'Unknown, or for another request',
      value: {
        code: ErrorCode.PushTokenInvalid,
        message: 'This action token answers no such permission request',
      },
    },
    used: {
      summary: 'It answered already',
      value: { code: ErrorCode.PushTokenUsed, message: 'This action token has answered already' },
    },
    expired: {
      summary: 'Past JELMORE_PUSH_TOKEN_TTL_SECONDS',
      value: { code: ErrorCode.PushTokenExpired, message: 'This action token has expired' },
    },
  })
  @ApiErrors(400, 404, 409)
  async answer(
    @Param('token') token: string,
    @Body() body: unknown,
  ): Promise<{ ok: true; sessionId: string; requestId: string }> {
    return { ok: true, ...(await this.actions.answer(token, checkAction(body))) };
  }
}
