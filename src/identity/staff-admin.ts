import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { SigningKey } from '../crypto/index.ts';
import { TongbanError, type ErrorCode } from '../errors/index.ts';
import { signedRequestHeaders } from '../exchange/index.ts';
import { Password, PersonOut, StaffLogin } from './people.ts';
import { StaffRole } from './person.ts';

/**
 * A node's operator manages the node's staff, who live at the hub (docs/identity.md): the node
 * forwards each step to the hub as a request signed with its own key, so the hub takes the node
 * from the signature. The node checks the login's division first (its own only) and checks that
 * the hub's answer is about what it asked.
 */

/** Body of `POST /v1/operator/staff`: the login is `name` or `name@<this node's division>`; no password → one is generated and shown once. */
export const OperatorStaffEnrolment = z.strictObject({
  login: z.string().trim().min(1).max(50),
  name: z.string().trim().min(1).max(100),
  password: Password.optional(),
  roles: z.array(StaffRole).min(1).max(5).refine((r) => new Set(r).size === r.length, 'each role once'),
});
export type OperatorStaffEnrolment = z.output<typeof OperatorStaffEnrolment>;

/** A staff member as the hub lists them to their own node. */
export const StaffListed = z.object({
  login: z.string(),
  name: z.string(),
  roles: z.array(z.string()),
  disabled: z.boolean(),
  createdAt: z.string(),
});
export type StaffListed = z.infer<typeof StaffListed>;

export const StaffPage = z.object({ staff: z.array(StaffListed), total: z.number().int().min(0) });
export type StaffPage = z.infer<typeof StaffPage>;

/**
 * The full login of a staff member of `division`: `clerk` becomes `clerk@<division>`;
 * `clerk@<division>` stays; a login of another division is IDENTITY_NODE_MISMATCH (403), an
 * invalid one VALIDATION_FAILED (400).
 */
export function staffLoginOf(input: string, division: string): string {
  const trimmed = input.trim();
  const full = trimmed.includes('@') ? trimmed : `${trimmed}@${division}`;
  const parsed = StaffLogin.safeParse(full);
  if (!parsed.success) throw new TongbanError('VALIDATION_FAILED', `${parsed.error.issues[0]?.message ?? 'not a staff login'}`, { errors: [{ path: 'login', message: 'a staff login is <name> or <name>@<division code of this node>' }] });
  if (!parsed.data.endsWith(`@${division}`)) {
    throw new TongbanError('IDENTITY_NODE_MISMATCH', `This node (${division}) manages staff logins ending in @${division} only.`);
  }
  return parsed.data;
}

/** A password for a new staff member when the operator gives none: 144 random bits (24 characters, base64url). */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}

/** The hub's refusals a node passes on as they are; any other refusal is HUB_REFUSED (the hub does not accept this node's requests). */
const PASSED_ON: ReadonlySet<string> = new Set<ErrorCode>(['PERSON_LOGIN_TAKEN', 'PERSON_NOT_FOUND', 'IDENTITY_NODE_MISMATCH', 'VALIDATION_FAILED']);

export interface HubStaffOptions {
  /** This node's division. */
  readonly self: string;
  readonly hubUrl: string;
  readonly key: () => SigningKey;
  readonly clock: () => Date;
  readonly timeoutMs?: number;
}

/** The hub's staff routes, called by a node with requests signed by it. */
export class HubStaff {
  readonly #o: HubStaffOptions;

  constructor(options: HubStaffOptions) {
    this.#o = options;
  }

  /** Enrols `login` (a full login of this node) at the hub. */
  async enrol(input: { login: string; name: string; password: string; roles: string[] }): Promise<PersonOut> {
    const person = PersonOut.safeParse(await this.#post('/v1/identity/staff', input));
    if (!person.success) throw invalid('an enrolment answer that is no person');
    return this.#mine(person.data, input.login);
  }

  /** Disables `login` (a full login of this node) at the hub; the hub's record of them (its `id` is their subject). */
  async disable(login: string): Promise<PersonOut> {
    const person = PersonOut.safeParse(await this.#post(`/v1/identity/staff/${encodeURIComponent(login)}/disable`, {}));
    if (!person.success) throw invalid('a disabling answer that is no person');
    const mine = this.#mine(person.data, login);
    if (!mine.disabled) throw invalid(`${login} still enabled after disabling`);
    return mine;
  }

  async list(page: { limit: number; offset: number }): Promise<StaffPage> {
    const answer = StaffPage.safeParse(await this.#post('/v1/identity/staff/list', page));
    if (!answer.success) throw invalid('a staff list that is no list');
    if (answer.data.staff.some((s) => !s.login.endsWith(`@${this.#o.self}`))) throw invalid('staff of another node in the list');
    return answer.data;
  }

  /** The hub answered about the person asked for, a staff member of this node. */
  #mine(person: PersonOut, login: string): PersonOut {
    if (person.login !== login || person.kind !== 'staff' || person.node !== this.#o.self) throw invalid(`an answer about someone other than ${login}`);
    return person;
  }

  async #post(path: string, body: unknown): Promise<unknown> {
    const url = new URL(path, this.#o.hubUrl).toString();
    const text = JSON.stringify(body);
    let response: Response;
    let json: unknown;
    try {
      const headers = await signedRequestHeaders(this.#o.key(), url, text, this.#o.clock());
      response = await fetch(url, { method: 'POST', headers, body: text, redirect: 'error', signal: AbortSignal.timeout(this.#o.timeoutMs ?? 10_000) });
      json = await response.json().catch(() => undefined);
    } catch (error) {
      throw new TongbanError('HUB_UNREACHABLE', `The hub (${new URL(this.#o.hubUrl).origin}) did not answer; nothing was changed by this node. Retry later.`, { cause: error });
    }
    if (response.ok) return json;
    const problem = (json ?? {}) as { code?: unknown; detail?: unknown };
    const code = typeof problem.code === 'string' ? problem.code : undefined;
    const detail = typeof problem.detail === 'string' ? problem.detail.slice(0, 300) : `status ${response.status}`;
    if (code && PASSED_ON.has(code)) throw new TongbanError(code as ErrorCode, `hub: ${detail}`);
    if (response.status >= 500) throw new TongbanError('HUB_UNREACHABLE', `The hub could not serve the request (${response.status}${code ? ` ${code}` : ''}); retry later.`);
    throw new TongbanError('HUB_REFUSED', `The hub refused this node's signed request (${code ?? response.status}): ${detail}`);
  }
}

function invalid(what: string): TongbanError {
  return new TongbanError('PEER_RESPONSE_INVALID', `The hub answered ${what}.`);
}
