import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateVAPIDKeys } from 'web-push';
import { ConfigError } from '../config/config-error';
import { type VapidKeys, vapidProblem } from '../config/policies/push.config';
import { PUSH_OPTIONS, type PushOptions } from './push.constants';

/**
 * The server's VAPID key pair: the operator's (env), else the data dir's `vapid.json`, made at first
 * boot. Subscriptions are bound to the public key, so it must outlive restarts. Resolved in
 * onModuleInit so that a bad file stops the boot with one line (main.ts prints a ConfigError).
 */
@Injectable()
export class PushKeys implements OnModuleInit {
  private readonly logger = new Logger(PushKeys.name);
  private keys?: VapidKeys;

  constructor(@Inject(PUSH_OPTIONS) private readonly options: PushOptions) {}

  onModuleInit(): void {
    if (!this.options.vapid && this.options.clustered) {
      this.logger.warn(
        "Cluster mode without JELMORE_VAPID_PUBLIC_KEY and _PRIVATE_KEY: this node signs notifications with its own data dir's pair, which other nodes' subscriptions do not know",
      );
    }
    this.keys = this.options.vapid ?? this.stored();
  }

  get publicKey(): string {
    return this.pair.publicKey;
  }

  get pair(): VapidKeys {
    if (!this.keys) throw new Error('PushKeys used before the module was initialised');
    return this.keys;
  }

  private stored(): VapidKeys {
    const file = join(this.options.dataDir, 'vapid.json');
    if (!existsSync(file)) {
      const keys = generateVAPIDKeys();
      mkdirSync(this.options.dataDir, { recursive: true });
      // wx: two processes starting on one data dir never overwrite each other's pair.
      writeFileSync(file, `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
      chmodSync(file, 0o600);
      this.logger.log(`Generated a VAPID key pair for Web Push in ${file}`);
      return keys;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      throw new ConfigError(`Invalid configuration: ${file} is not JSON { publicKey, privateKey }`);
    }
    const { publicKey, privateKey } = (parsed ?? {}) as Partial<Record<string, unknown>>;
    if (typeof publicKey !== 'string' || typeof privateKey !== 'string') {
      throw new ConfigError(`Invalid configuration: ${file} must hold { publicKey, privateKey }`);
    }
    const keys = { publicKey, privateKey };
    const problem = vapidProblem(keys, {
      publicKey: `${file}: publicKey`,
      privateKey: `${file}: privateKey`,
    });
    if (problem) throw new ConfigError(`Invalid configuration: ${problem}`);
    return keys;
  }
}
