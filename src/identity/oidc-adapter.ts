import type { Store } from '../store/index.ts';

/** The payload oidc-provider stores (shape left to it; a few fields are indexed). */
export type OidcPayload = Record<string, unknown> & { grantId?: string; userCode?: string; uid?: string; consumed?: unknown };

/** What oidc-provider calls on each model's adapter (its `Adapter` interface). */
export interface OidcAdapter {
  upsert(id: string, payload: OidcPayload, expiresIn?: number): Promise<void>;
  find(id: string): Promise<OidcPayload | undefined>;
  findByUserCode(userCode: string): Promise<OidcPayload | undefined>;
  findByUid(uid: string): Promise<OidcPayload | undefined>;
  consume(id: string): Promise<void>;
  destroy(id: string): Promise<void>;
  revokeByGrantId(grantId: string): Promise<void>;
}

export interface OidcAdapterOptions {
  readonly store: Store;
  readonly clock: () => Date;
  /**
   * Clients are not stored: they are derived from the hub's directory (an approved node) or the
   * provider's own list (the CLI). Undefined: no such client.
   */
  readonly client: (id: string) => Promise<OidcPayload | undefined>;
}

/**
 * An oidc-provider adapter over the Store (table `oidc_payloads`): sessions, grants,
 * authorization and device codes, tokens and interactions survive a restart of the hub and are
 * shared by replicas on one PostgreSQL. Expired entries are never returned (and purged by
 * `purgeExpired`); a consumed code or token comes back with `consumed` set, which oidc-provider
 * refuses (and treats as a replay: the grant is revoked).
 */
export function oidcAdapterFactory(options: OidcAdapterOptions): (model: string) => OidcAdapter {
  const { store, clock } = options;
  const now = () => clock().getTime();
  const out = (record: { payload: Readonly<Record<string, unknown>>; consumedAt: number | null } | undefined): OidcPayload | undefined =>
    record ? { ...record.payload, ...(record.consumedAt !== null ? { consumed: Math.floor(record.consumedAt / 1000) } : {}) } : undefined;
  return (model: string): OidcAdapter => {
    if (model === 'Client') {
      // Read-only: dynamic registration is off; every client comes from the directory.
      return {
        upsert: async () => {},
        find: (id) => options.client(id),
        findByUserCode: async () => undefined,
        findByUid: async () => undefined,
        consume: async () => {},
        destroy: async () => {},
        revokeByGrantId: async () => {},
      };
    }
    return {
      async upsert(id, payload, expiresIn) {
        await store.oidcPayloads.upsert({
          model,
          id,
          payload,
          grantId: typeof payload.grantId === 'string' ? payload.grantId : null,
          userCode: typeof payload.userCode === 'string' ? payload.userCode : null,
          uid: typeof payload.uid === 'string' ? payload.uid : null,
          expiresAt: expiresIn ? now() + expiresIn * 1000 : null,
          consumedAt: null,
        });
      },
      async find(id) {
        return out(await store.oidcPayloads.find(model, id, now()));
      },
      async findByUserCode(userCode) {
        return out(await store.oidcPayloads.findBy(model, 'userCode', userCode, now()));
      },
      async findByUid(uid) {
        return out(await store.oidcPayloads.findBy(model, 'uid', uid, now()));
      },
      async consume(id) {
        await store.oidcPayloads.consume(model, id, now());
      },
      async destroy(id) {
        await store.oidcPayloads.destroy(model, id);
      },
      async revokeByGrantId(grantId) {
        await store.oidcPayloads.revokeByGrantId(grantId);
      },
    };
  };
}
