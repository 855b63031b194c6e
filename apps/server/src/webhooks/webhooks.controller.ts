import { Body, Controller, Delete, Get, Param, Post } from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ErrorCode } from '@jelmore/contracts';
import { ApiError, ApiKeyProtected } from '../api/api-docs.decorator';
import type { Principal } from '../auth/api-keys.service';
import { CurrentPrincipal } from '../auth/principal.decorator';
import { WEBHOOK_EVENTS } from './webhook-events';
import { type DeliveryView, type WebhookView, WebhooksService } from './webhooks.service';

const WEBHOOK_EXAMPLE: WebhookView = {
  id: 'wh_5b0c3a4e-8f1d-4c2a-9e57-1f6d2b8a7c90',
  owner: 'alice',
  url: 'https://example.com/jelmore',
  events: ['permission_request', 'result'],
  createdAt: '2026-01-01T12:00:00.000Z',
};
const DELIVERY_EXAMPLE: DeliveryView = {
  id: 'whd_0d9e8f7a-6b5c-4d3e-8f2a-1b0c9d8e7f6a',
  sessionId: '3f2b1c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
  seq: 7,
  event: 'result',
  state: 'delivered',
  attempts: 3,
  nextAttemptAt: '2026-01-01T12:00:30.000Z',
  lastStatus: 200,
  lastError: null,
  createdAt: '2026-01-01T12:00:00.000Z',
  updatedAt: '2026-01-01T12:00:30.000Z',
};
const NOT_FOUND = { code: ErrorCode.NotFound, message: `No webhook '${WEBHOOK_EXAMPLE.id}'` };

@ApiTags('webhooks')
@ApiKeyProtected()
@Controller('v1/webhooks')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Post()
  @ApiOperation({
    summary: 'Register a webhook for the key',
    description:
      "Signed JSON POSTs of the key's sessions' events (an admin key's: every session's); see docs/webhooks.md. The secret is never returned.",
  })
  @ApiBody({
    schema: {
      type: 'object',
      required: ['url', 'events', 'secret'],
      properties: {
        url: { type: 'string', description: 'http or https' },
        events: { type: 'array', items: { type: 'string', enum: [...WEBHOOK_EVENTS] } },
        secret: { type: 'string', minLength: 16, maxLength: 256 },
      },
    },
    examples: {
      webhook: {
        value: {
          url: WEBHOOK_EXAMPLE.url,
          events: WEBHOOK_EXAMPLE.events,
          secret: 'whsec-0123456789abcdef',
        },
      },
    },
  })
  @ApiCreatedResponse({ description: 'The webhook, without its secret', example: WEBHOOK_EXAMPLE })
  @ApiError(
    400,
    {
      code: ErrorCode.ValidationFailed,
      message: 'url must be an http or https URL (got "ftp://example.com")',
    },
    'A URL that is not http(s), an unknown event or a short secret',
  )
  create(@CurrentPrincipal() principal: Principal, @Body() body: unknown): Promise<WebhookView> {
    return this.webhooks.create(principal, body);
  }

  @Get()
  @ApiOperation({ summary: "The key's webhooks (an admin key's: all, with the config file's)" })
  @ApiOkResponse({ example: [WEBHOOK_EXAMPLE] })
  list(@CurrentPrincipal() principal: Principal): Promise<WebhookView[]> {
    return this.webhooks.list(principal);
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Remove a webhook and its deliveries' })
  @ApiOkResponse({ description: 'The removed webhook', example: WEBHOOK_EXAMPLE })
  @ApiError(404, NOT_FOUND, "Unknown or another key's")
  @ApiError(
    403,
    { code: ErrorCode.Forbidden, message: 'A webhook of the config file is removed there' },
    "One of the config file's",
  )
  remove(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<WebhookView> {
    return this.webhooks.remove(principal, id);
  }

  @Get(':id/deliveries')
  @ApiOperation({
    summary: "A webhook's last 100 deliveries, newest first",
    description:
      'State (pending, delivered, failed), attempts, last HTTP status and error of each.',
  })
  @ApiOkResponse({ example: [DELIVERY_EXAMPLE] })
  @ApiError(404, NOT_FOUND, "Unknown or another key's")
  deliveries(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
  ): Promise<DeliveryView[]> {
    return this.webhooks.deliveries(principal, id);
  }
}
