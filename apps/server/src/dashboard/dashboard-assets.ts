import { Injectable } from '@nestjs/common';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

export interface DashboardAsset {
  body: Buffer;
  contentType: string;
}

/**
 * The dashboard's static files (public/), read once at boot: a fixed set served from memory, so no
 * request path ever reaches the file system. The build copies public/ beside the compiled code.
 */
@Injectable()
export class DashboardAssets {
  private readonly files = new Map<string, DashboardAsset>();

  constructor() {
    const dir = join(__dirname, 'public');
    if (!existsSync(join(dir, 'index.html'))) {
      throw new Error(`Dashboard files are missing from ${dir}: the build did not copy them`);
    }
    for (const name of readdirSync(dir)) {
      const contentType = CONTENT_TYPES[extname(name)];
      if (contentType) this.files.set(name, { body: readFileSync(join(dir, name)), contentType });
    }
  }

  get(name: string): DashboardAsset | undefined {
    return this.files.get(name);
  }

  names(): string[] {
    return [...this.files.keys()];
  }
}
