import { parseDictionary, serializeInnerList, type InnerList, type Item, type Parameters } from 'structured-headers';

/**
 * HTTP Message Signatures (RFC 9421): signature base, signing and verification for the
 * derived components and fields Tongban uses. Pure apart from the injected sign/verify
 * functions, so the same code serves requests and responses, Ed25519 and SM2.
 */

/** A message as the signature sees it. Header names are lower-case. */
export interface SignedMessage {
  readonly method?: string;
  /** Absolute URL of the request. */
  readonly url?: string;
  readonly status?: number;
  readonly headers: Readonly<Record<string, string | undefined>>;
}

/** A covered component: a field or derived component, optionally taken from the request (`;req`). */
export interface Component {
  readonly name: string;
  readonly req?: boolean;
}

export interface SignatureParams {
  readonly created: number;
  readonly expires?: number;
  readonly nonce?: string;
  readonly keyid: string;
  readonly alg?: string;
  readonly tag?: string;
}

export class SignatureBaseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SignatureBaseError';
  }
}

function componentValue(component: Component, message: SignedMessage, request: SignedMessage | undefined, urls: Map<string, URL>): string {
  const source = component.req ? request : message;
  if (!source) throw new SignatureBaseError(`component ${component.name};req needs the request`);
  let url: URL | undefined;
  if (source.url) {
    url = urls.get(source.url);
    if (!url) urls.set(source.url, (url = new URL(source.url)));
  }
  switch (component.name) {
    case '@method':
      if (!source.method) throw new SignatureBaseError('@method needs a request');
      return source.method.toUpperCase();
    case '@authority':
      if (!url) throw new SignatureBaseError('@authority needs a URL');
      return url.host.toLowerCase();
    case '@path':
      if (!url) throw new SignatureBaseError('@path needs a URL');
      return url.pathname || '/';
    case '@query':
      if (!url) throw new SignatureBaseError('@query needs a URL');
      return url.search || '?';
    case '@target-uri':
      if (!url) throw new SignatureBaseError('@target-uri needs a URL');
      return url.toString();
    case '@scheme':
      if (!url) throw new SignatureBaseError('@scheme needs a URL');
      return url.protocol.replace(':', '').toLowerCase();
    case '@status':
      if (source.status === undefined) throw new SignatureBaseError('@status needs a response');
      return String(source.status);
    default: {
      if (component.name.startsWith('@')) throw new SignatureBaseError(`unsupported derived component ${component.name}`);
      const value = source.headers[component.name];
      if (value === undefined) throw new SignatureBaseError(`the message has no ${component.name} field`);
      // Field values are trimmed; obsolete line folding becomes a space (RFC 9421 §2.1).
      return value.replace(/\s*\r?\n\s*/g, ' ').trim();
    }
  }
}

function componentItem(component: Component): Item {
  const params: Parameters = new Map();
  if (component.req) params.set('req', true);
  return [component.name, params];
}

function paramsMap(params: SignatureParams): Parameters {
  const map: Parameters = new Map();
  map.set('created', params.created);
  if (params.expires !== undefined) map.set('expires', params.expires);
  if (params.nonce !== undefined) map.set('nonce', params.nonce);
  map.set('keyid', params.keyid);
  if (params.alg !== undefined) map.set('alg', params.alg);
  if (params.tag !== undefined) map.set('tag', params.tag);
  return map;
}

/** The serialised inner list `("a" "b";req);created=…;keyid="…"` for Signature-Input. */
export function serializeSignatureInput(components: readonly Component[], params: Parameters): string {
  const list: InnerList = [components.map(componentItem), params];
  return serializeInnerList(list);
}

// A component's identifier (`"content-digest";req`) depends on its name and flag only: serialise each once.
const componentIds = new Map<string, string>();
function componentId(component: Component): string {
  const key = `${component.req ? 'r' : 'm'}${component.name}`;
  let id = componentIds.get(key);
  if (id === undefined) {
    id = serializeInnerList([[componentItem(component)], new Map()]).slice(1, -1);
    // Names come from signatures received too: keep the memo bounded.
    if (componentIds.size < 256) componentIds.set(key, id);
  }
  return id;
}

/** The signature base of RFC 9421 §2.5, exactly as signed. */
export function signatureBase(
  components: readonly Component[],
  params: SignatureParams | Parameters,
  message: SignedMessage,
  request?: SignedMessage,
): string {
  return baseAndInput(components, params, message, request).base;
}

/** The signature base and, as its last line carries it, the Signature-Input value: serialised once. */
function baseAndInput(
  components: readonly Component[],
  params: SignatureParams | Parameters,
  message: SignedMessage,
  request?: SignedMessage,
): { base: string; input: string } {
  const lines: string[] = [];
  const seen = new Set<string>();
  // URLs are parsed once per message, not once per derived component.
  const urls = new Map<string, URL>();
  for (const component of components) {
    const id = componentId(component);
    if (seen.has(id)) throw new SignatureBaseError(`component ${id} is covered twice`);
    seen.add(id);
    lines.push(`${id}: ${componentValue(component, message, request, urls)}`);
  }
  const map = params instanceof Map ? params : paramsMap(params);
  const input = serializeSignatureInput(components, map);
  lines.push(`"@signature-params": ${input}`);
  return { base: lines.join('\n'), input };
}

export interface SignOptions {
  readonly label: string;
  readonly components: readonly Component[];
  readonly params: SignatureParams;
  readonly sign: (base: Uint8Array) => Promise<Uint8Array>;
}

/** Signs a message; returns the Signature-Input and Signature header values. */
export async function signMessage(
  message: SignedMessage,
  options: SignOptions,
  request?: SignedMessage,
): Promise<{ 'signature-input': string; signature: string }> {
  const { base, input } = baseAndInput(options.components, options.params, message, request);
  const signature = await options.sign(new TextEncoder().encode(base));
  return {
    'signature-input': `${options.label}=${input}`,
    signature: `${options.label}=:${Buffer.from(signature).toString('base64')}:`,
  };
}

/** Why a signature did not verify; mapped to stable error codes by the caller. */
export type SignatureFailure =
  | 'missing'
  | 'malformed'
  | 'components'
  | 'unknown-key'
  | 'invalid'
  | 'expired'
  | 'not-yet-valid';

export type VerifyResult =
  | { readonly ok: true; readonly keyid: string; readonly params: SignatureParams; readonly components: readonly Component[] }
  | { readonly ok: false; readonly reason: SignatureFailure; readonly detail: string; readonly keyid?: string };

export interface VerifyOptions {
  readonly label: string;
  /** Components the signature must cover (a subset check), so a signer cannot leave out the body digest. */
  readonly required: readonly Component[];
  /** Finds the key; returns a verify function or null when the key is unknown. */
  readonly resolveKey: (keyid: string, alg: string | undefined) => Promise<((base: Uint8Array, signature: Uint8Array) => Promise<boolean>) | null>;
  /** Seconds since the epoch, injected for tests. */
  readonly now: number;
  /** Largest accepted age of `created`, in seconds, when `expires` is absent. */
  readonly maxAgeSeconds: number;
  /** Tolerated clock skew between nodes, in seconds. */
  readonly clockSkewSeconds?: number;
}

/** Verifies the signature with the given label on a message. Never throws for bad input. */
export async function verifyMessage(message: SignedMessage, options: VerifyOptions, request?: SignedMessage): Promise<VerifyResult> {
  const inputHeader = message.headers['signature-input'];
  const signatureHeader = message.headers['signature'];
  if (!inputHeader || !signatureHeader) return { ok: false, reason: 'missing', detail: 'The message carries no signature.' };
  let components: Component[];
  let params: Parameters;
  let signature: Uint8Array;
  try {
    const input = parseDictionary(inputHeader).get(options.label);
    const sig = parseDictionary(signatureHeader).get(options.label);
    if (!input || !sig) return { ok: false, reason: 'missing', detail: `The message carries no signature labelled ${options.label}.` };
    if (!Array.isArray(input[0]) || !(sig[0] instanceof ArrayBuffer)) throw new Error('shape');
    components = (input[0] as Item[]).map(([name, p]) => {
      if (typeof name !== 'string') throw new Error('component');
      return { name, ...(p.get('req') === true ? { req: true } : {}) };
    });
    params = input[1];
    signature = new Uint8Array(sig[0]);
  } catch {
    return { ok: false, reason: 'malformed', detail: 'The Signature-Input or Signature field cannot be parsed.' };
  }
  const keyid = params.get('keyid');
  const created = params.get('created');
  const expires = params.get('expires');
  const nonce = params.get('nonce');
  const alg = params.get('alg');
  if (typeof keyid !== 'string' || typeof created !== 'number') {
    return { ok: false, reason: 'malformed', detail: 'The signature must name keyid and created.' };
  }
  for (const needed of options.required) {
    if (!components.some((c) => c.name === needed.name && Boolean(c.req) === Boolean(needed.req))) {
      return { ok: false, reason: 'components', detail: `The signature must cover ${needed.name}${needed.req ? ';req' : ''}.`, keyid };
    }
  }
  const skew = options.clockSkewSeconds ?? 30;
  if (created > options.now + skew) return { ok: false, reason: 'not-yet-valid', detail: 'The signature was created in the future.', keyid };
  if (typeof expires === 'number' ? expires + skew < options.now : created + options.maxAgeSeconds + skew < options.now) {
    return { ok: false, reason: 'expired', detail: 'The signature has expired.', keyid };
  }
  const verify = await options.resolveKey(keyid, typeof alg === 'string' ? alg : undefined);
  if (!verify) return { ok: false, reason: 'unknown-key', detail: `The key ${keyid} is not known.`, keyid };
  let base: string;
  try {
    base = signatureBase(components, params, message, request);
  } catch (error) {
    return { ok: false, reason: 'components', detail: (error as Error).message, keyid };
  }
  if (!(await verify(new TextEncoder().encode(base), signature))) {
    return { ok: false, reason: 'invalid', detail: 'The signature does not verify.', keyid };
  }
  return {
    ok: true,
    keyid,
    components,
    params: {
      created,
      keyid,
      ...(typeof expires === 'number' ? { expires } : {}),
      ...(typeof nonce === 'string' ? { nonce } : {}),
      ...(typeof alg === 'string' ? { alg } : {}),
    },
  };
}
