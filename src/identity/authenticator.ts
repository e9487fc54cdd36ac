import type { FastifyRequest } from 'fastify';
import { TongbanError } from '../errors/index.ts';
import type { Store } from '../store/index.ts';
import { checkCsrf } from './csrf.ts';
import { AdminGrants } from './admin-grants.ts';
import { MachineClients } from './machine-clients.ts';
import type { Authenticator, Person } from './person.ts';
import { accessTokenAudiences, issuerOf, remoteHubKeys, verifyAccessToken, type HubTokenVerifier } from './hub-tokens.ts';
import { RelyingParty } from './relying-party.ts';
import { NodeSessions, parseCookies, sessionCookieName } from './sessions.ts';

export interface NodeIdentityOptions {
  readonly store: Store;
  readonly clock: () => Date;
  /** This node's division code. */
  readonly self: string;
  /** Nodes: config.hub.url. The hub: undefined (its own endpoint, known at start). */
  readonly hubUrl: string | undefined;
}

/**
 * Who is calling, at a node (and at the hub, for hub access tokens and machine clients): the
 * node's session cookie, a hub JWT access token (verified offline against the hub's JWKS), or a
 * machine client's bearer token. Staff act only at their own node; citizens anywhere.
 */
export class NodeIdentity implements Authenticator {
  readonly sessions: NodeSessions;
  readonly machineClients: MachineClients;
  /** Node-local grants of the administering roles (the hub's claims alone make nobody an administrator here). */
  readonly adminGrants: AdminGrants;
  readonly #options: NodeIdentityOptions;
  #endpoint: string | undefined;
  #relyingParty: RelyingParty | undefined;
  /** How this server checks what the hub signed (access tokens, tracker proofs): the hub's JWKS, fetched once and cached. */
  readonly hubTokens: HubTokenVerifier;

  constructor(options: NodeIdentityOptions) {
    this.#options = options;
    const hubUrl = () => this.hubUrl;
    this.hubTokens = {
      keys: remoteHubKeys(hubUrl),
      get issuer() {
        return issuerOf(hubUrl());
      },
      clock: options.clock,
    };
    this.sessions = new NodeSessions(options.store, options.clock);
    this.machineClients = new MachineClients(options.store, options.self, options.clock);
    this.adminGrants = new AdminGrants(options.store, options.clock);
  }

  /** The URL this node is reached at (its origin for CSRF checks, its callback, Secure cookies). */
  setEndpoint(endpoint: string): void {
    this.#endpoint = endpoint;
  }

  get endpoint(): string {
    if (!this.#endpoint) throw new TongbanError('DIRECTORY_UNAVAILABLE', 'The node has not started yet.');
    return this.#endpoint;
  }

  /** The hub's URL: from the node's config, or the hub's own endpoint. */
  get hubUrl(): string {
    return this.#options.hubUrl ?? this.endpoint;
  }

  /** Nodes only: the OpenID Connect relying party (the hub runs the provider). */
  get relyingParty(): RelyingParty {
    if (this.#options.hubUrl === undefined) throw new TongbanError('NOT_FOUND', 'The hub signs people in itself; it is no relying party.');
    this.#relyingParty ??= new RelyingParty({ store: this.#options.store, clock: this.#options.clock, hubUrl: this.#options.hubUrl, clientId: this.#options.self });
    return this.#relyingParty;
  }

  /** Whether the session cookie must be Secure: the node is reached over https. */
  get secureCookies(): boolean {
    return this.endpoint.startsWith('https:');
  }

  /** The session id the request's cookie carries, if any. */
  sessionIdOf(request: FastifyRequest): string | undefined {
    const value = parseCookies(request.headers.cookie).get(sessionCookieName(this.#options.self));
    return value ? value : undefined;
  }

  /**
   * The caller wherever they belong (`GET /v1/auth/me`): an Authorization header is used when
   * present (and must then be valid), else the session cookie (CSRF-checked for changes).
   * UNAUTHORIZED when nobody is provable.
   */
  async identify(request: FastifyRequest): Promise<Person> {
    const header = request.headers.authorization;
    if (typeof header === 'string' && header.length > 0) {
      const token = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
      if (!token) throw new TongbanError('UNAUTHORIZED', 'The Authorization header must be "Bearer <token>".');
      return token.split('.').length === 3 ? this.#accessToken(token) : this.#machineToken(token);
    }
    const id = this.sessionIdOf(request);
    const person = id ? await this.sessions.resolve(id) : undefined;
    if (!person) {
      // The hub is no relying party: people reach its routes with a hub access token only.
      const how = this.#options.hubUrl === undefined ? 'Send a hub access token (`tongban login`, then `Authorization: Bearer <token>`) or a machine client token.' : 'Sign in at this node (GET /v1/auth/login in a browser), or send a hub access token (`tongban login`) or a machine client token.';
      throw new TongbanError('UNAUTHORIZED', how);
    }
    checkCsrf(request, this.endpoint);
    return person;
  }

  /** The caller of a node's authenticated route: as `identify`, and staff of another node are refused (STAFF_OF_ANOTHER_NODE). */
  async authenticate(request: FastifyRequest): Promise<Person> {
    const person = await this.identify(request);
    if (person.kind !== 'citizen' && person.node !== this.#options.self) {
      throw new TongbanError('STAFF_OF_ANOTHER_NODE', `Staff of ${person.node ?? 'another node'} act at their own node only; this is ${this.#options.self}.`);
    }
    return person;
  }

  async #machineToken(token: string): Promise<Person> {
    const person = await this.machineClients.resolve(token);
    if (!person) throw new TongbanError('UNAUTHORIZED', 'This token is no machine client of this node, or it was revoked.');
    return person;
  }

  /** A hub access token for this server: the person's own (audience the federation) or one issued to this node's client. */
  #accessToken(token: string): Promise<Person> {
    return verifyAccessToken(token, this.hubTokens, accessTokenAudiences(this.#options.self));
  }
}
