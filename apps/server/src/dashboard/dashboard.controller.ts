import { Controller, Get, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { NotFoundError } from '@jelmore/contracts';
import { Public } from '../auth/public.decorator';
import { DashboardAsset, DashboardAssets } from './dashboard-assets';

/**
 * The page allows only its own scripts, styles and connections: no inline code, no other origin.
 * Images may be blob: URLs, the attachments it fetched with the key (an <img src> cannot send it).
 * (helmet's global policy is off for the OpenAPI page, which needs inline scripts.)
 */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

/**
 * The web dashboard: public static files (the page holds no data); every API call it makes carries
 * the API key the user signs in with.
 */
@Public()
@ApiExcludeController()
@Controller()
export class DashboardController {
  constructor(private readonly assets: DashboardAssets) {}

  @Get()
  index(@Res() res: Response): void {
    send(res, this.assets.get('index.html')!);
  }

  /** A share link (docs/shares.md): the same page, which reads the token from its path; no key needed. */
  @Get('share/:token')
  share(@Res() res: Response): void {
    send(res, this.assets.get('index.html')!);
  }

  @Get('dashboard/:file')
  asset(@Param('file') file: string, @Res() res: Response): void {
    const asset = this.assets.get(file);
    if (!asset || file === 'index.html') throw new NotFoundError(`No dashboard file ${file}`);
    // The push worker lives here but must see the page at / (its notifications open and focus it).
    if (file === 'sw.js') res.set('service-worker-allowed', '/');
    send(res, asset);
  }
}

function send(res: Response, asset: DashboardAsset): void {
  // Revalidated each time (Express answers 304 from its ETag), so a new build is never stale.
  res
    .set({
      'content-type': asset.contentType,
      'cache-control': 'no-cache',
      'content-security-policy': DASHBOARD_CSP,
    })
    .send(asset.body);
}
