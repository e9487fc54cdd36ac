import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuditLog } from '../audit/index.ts';
import type { Store } from '../store/index.ts';
import { handleInteraction, LoginThrottle } from './interactions.ts';
import { createProvider, OIDC_MOUNT, PREFILL_PARAM, providerHandler, type Provider } from './oidc-provider.ts';
import type { OidcKeys } from './oidc-keys.ts';

export interface HubIdentityOptions {
  readonly store: Store;
  readonly audit: AuditLog;
  readonly auditKey: Uint8Array;
  readonly clock: () => Date;
  /** The hub's OIDC keys (read or created once, at the first request). */
  readonly keys: () => Promise<OidcKeys>;
  /** The hub's URL (known once it listens). */
  readonly endpoint: () => string;
  readonly log: (message: string) => void;
}

const PURGE_INTERVAL_MS = 10 * 60_000;

/**
 * The hub's OpenID Connect provider as its server mounts it: created at the first request under
 * `/oidc` (the issuer needs the hub's URL, and oidc-provider is loaded only then), the login
 * pages in front of it, and a periodic purge of expired provider state.
 */
export class HubIdentity {
  readonly #options: HubIdentityOptions;
  readonly #throttle: LoginThrottle;
  #ready: Promise<{ provider: Provider; handle: ReturnType<typeof providerHandler> }> | undefined;
  #purge: NodeJS.Timeout | undefined;

  constructor(options: HubIdentityOptions) {
    this.#options = options;
    this.#throttle = new LoginThrottle(options.store, options.clock, options.auditKey);
  }

  /** `<hubUrl>/oidc`. */
  issuer(): string {
    return `${this.#options.endpoint().replace(/\/+$/, '')}${OIDC_MOUNT}`;
  }

  provider(): Promise<Provider> {
    return this.#init().then((r) => r.provider);
  }

  /**
   * Serves one request under /oidc (the raw Node request and response: the provider reads the
   * body itself). `clientAddress`: the caller's address as the server determined it (the socket's,
   * or a trusted front's X-Forwarded-For); the sign-in lock counts per it.
   */
  async handle(req: IncomingMessage, res: ServerResponse, clientAddress?: string): Promise<void> {
    const { provider, handle } = await this.#init();
    const path = (req.url ?? '/').split('?')[0]!;
    const interaction = /^\/oidc\/interaction\/([A-Za-z0-9_-]{1,100})$/.exec(path);
    if (interaction) {
      const { store, audit, auditKey } = this.#options;
      await handleInteraction({ provider, store, audit, auditKey, throttle: this.#throttle, mount: OIDC_MOUNT, clientAddress }, req, res, interaction[1]!);
      return;
    }
    if (req.method === 'GET' && path === `${OIDC_MOUNT}/device`) req.url = prefilledDeviceUrl(req.url ?? path);
    handle(req, res);
  }

  close(): void {
    if (this.#purge) clearInterval(this.#purge);
  }

  #init() {
    return (this.#ready ??= (async () => {
      const { store, clock } = this.#options;
      const issuer = this.issuer();
      const provider = await createProvider({ issuer, store, audit: this.#options.audit, clock, keys: await this.#options.keys() });
      provider.on('server_error', (_ctx, error) => this.#options.log(`oidc: server error: ${error.message}`));
      this.#purge = setInterval(() => {
        store.oidcPayloads.purgeExpired(clock().getTime()).catch((error: unknown) => this.#options.log(`oidc: purge failed: ${error instanceof Error ? error.message : String(error)}`));
        this.#throttle.purge().catch((error: unknown) => this.#options.log(`oidc: purge of ended lockout windows failed: ${error instanceof Error ? error.message : String(error)}`));
      }, PURGE_INTERVAL_MS);
      this.#purge.unref();
      return { provider, handle: providerHandler(provider, issuer) };
    })().catch((error: unknown) => {
      this.#ready = undefined;
      throw error;
    }));
  }
}

/**
 * The device page opened from the "complete" verification URI (`/oidc/device?user_code=…`): the
 * code is passed on under another name, so the provider shows the plain form with the code filled
 * in (the person submits it) instead of a page that submits itself by script.
 */
export function prefilledDeviceUrl(url: string): string {
  const parsed = new URL(url, 'http://hub.invalid');
  const code = parsed.searchParams.get('user_code');
  if (code === null) return url;
  parsed.searchParams.delete('user_code');
  parsed.searchParams.set(PREFILL_PARAM, code.slice(0, 100));
  return `${parsed.pathname}${parsed.search}`;
}
