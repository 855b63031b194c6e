import { Controller, Get, Param, ParseUUIDPipe, Post, Req, Res } from '@nestjs/common';
import {
  ApiBody,
  ApiConsumes,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ATTACHMENT_MEDIA_TYPES, type AttachmentResource } from '@jelmore/contracts';
import { Attachments } from '@jelmore/sessions';
import { Principal } from '../auth/api-keys.service';
import { CurrentPrincipal } from '../auth/principal.decorator';
import { JelmoreConfig } from '../config/jelmore.config';
import { ApiError, ApiErrors, ApiKeyProtected } from './api-docs.decorator';
import { readUpload } from './attachment-upload';

const ATTACHMENT_EXAMPLE: AttachmentResource = {
  id: '0b7c1d0e-3f55-4a8e-9f0e-2d4b8c6a1f00',
  mediaType: 'image/png',
  size: 48213,
  sha256: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
  createdAt: '2026-01-15T09:30:00.000Z',
};

@ApiTags('attachments')
@ApiKeyProtected()
@Controller('v1/attachments')
export class AttachmentsController {
  constructor(
    private readonly attachments: Attachments,
    private readonly config: JelmoreConfig,
  ) {}

  @Post()
  @ApiOperation({
    summary: 'Upload an image or document for queries and inputs',
    description:
      `A multipart/form-data field \`file\`, or the raw body. Its type is taken from the bytes (${ATTACHMENT_MEDIA_TYPES.join(', ')}), ` +
      'not from the name or the header (which only tells kinds of text apart). Use its id in a block: ' +
      '`{"type": "image", "attachmentId": "<id>"}`. Kept while the sessions that use it keep their events.',
  })
  @ApiConsumes('multipart/form-data', 'application/octet-stream')
  @ApiBody({
    schema: {
      oneOf: [
        { type: 'object', properties: { file: { type: 'string', format: 'binary' } } },
        { type: 'string', format: 'binary' },
      ],
    },
    examples: {
      multipart: {
        summary: "multipart/form-data: the file in field 'file' (curl -F file=@screenshot.png)",
        value: { file: '(the bytes of screenshot.png)' },
      },
      raw: {
        summary: 'Any other content type: the body is the file (curl --data-binary @spec.pdf)',
        value: '(the bytes of spec.pdf)',
      },
    },
  })
  @ApiCreatedResponse({ description: 'Kept', example: ATTACHMENT_EXAMPLE })
  @ApiErrors(400)
  @ApiError(413, {
    code: 'ATTACHMENT_TOO_LARGE',
    message: 'The attachment is larger than the limit of 10485760 bytes',
  })
  @ApiErrors(415)
  async upload(
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @CurrentPrincipal() principal: Principal,
  ): Promise<AttachmentResource> {
    const { bytes, declared } = await readUpload(req, res, this.config.maxAttachmentBytes);
    return this.attachments.upload(bytes, principal.id, declared);
  }

  @Get(':id')
  @ApiOperation({
    summary: "An attachment's bytes, with its media type (its owner's or an admin's)",
  })
  @ApiOkResponse({
    description: 'The bytes, with the Content-Type of their media type',
    content: {
      'application/octet-stream': {
        schema: { type: 'string', format: 'binary' },
        example: '(the bytes; Content-Type: image/png)',
      },
    },
  })
  @ApiError(404, { code: 'ATTACHMENT_NOT_FOUND', message: "No attachment '0b7c…'" })
  async read(
    @Param('id', ParseUUIDPipe) id: string,
    @CurrentPrincipal() principal: Principal,
    @Res() res: Response,
  ): Promise<void> {
    const { resource, bytes } = await this.attachments.read(id, principal);
    res
      .status(200)
      .set({
        'content-type': resource.mediaType,
        'content-length': String(bytes.length),
        etag: `"${resource.sha256}"`,
        'cache-control': 'private, max-age=86400, immutable',
        // Uploaded content on our own origin: never run as a page.
        'content-security-policy': "default-src 'none'; sandbox",
        'x-attachment-sha256': resource.sha256,
      })
      .end(bytes);
  }
}
