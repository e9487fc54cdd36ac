// The signed baseline of the exchange benchmark: the bare relay's topology (client -> A -> B ->
// back) and payload, plus exactly the cryptography of a governed bridge exchange and nothing
// else: A signs its request (Content-Digest + RFC 9421, fresh nonce) and B verifies both; B
// signs its answer bound to the request and A verifies both. No policy, database, schema or
// audit. The node-to-node hop uses the same HTTP client as the nodes (src/exchange/peer-http.ts),
// so the governed bridge and this baseline differ by governance, not by transport.
//
// Usage: signed-relay.ts provider <port> | relay <port> <upstream>; env BENCH_KEYS holds both private JWKs.
import { createServer, type IncomingMessage } from 'node:http';
import { signingKeyFromJwk, verifyBytes, verifyContentDigest, verifyMessage } from '../src/crypto/index.ts';
import { REQUEST_COMPONENTS, REQUEST_TTL_SECONDS, SIGNATURE_LABEL, signedRequestHeaders, signedResponseHeaders, verifyResponse } from '../src/exchange/index.ts';
import { peerCall } from '../src/exchange/peer-http.ts';

const [role, port, upstream] = process.argv.slice(2);
const keys = JSON.parse(process.env.BENCH_KEYS!) as { relay: unknown; provider: unknown };
const relayKey = signingKeyFromJwk('330523', keys.relay);
const providerKey = signingKeyFromJwk('522732', keys.provider);
const payload = JSON.stringify({
  requestId: '00000000-0000-4000-8000-000000000000',
  provider: '522732',
  service: 'household.residence-proof',
  issuedAt: new Date().toISOString(),
  data: { idNumber: '522732199001011234', name: '张三', householdAddress: '贵州省黔南布依族苗族自治州三都水族自治县人民路1号' },
});

function headersOf(req: IncomingMessage): Record<string, string | undefined> {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(req.headers)) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  return headers;
}

const server = createServer(async (req, res) => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  if (role === 'provider') {
    const incoming = { method: req.method!, url: `http://127.0.0.1:${port}${req.url}`, headers: headersOf(req), body: new Uint8Array(body) };
    // The checks authenticateRequest makes, minus the directory look-up and the nonce table.
    const digestOk = verifyContentDigest(incoming.headers['content-digest'], incoming.body);
    const verified = await verifyMessage(incoming, {
      label: SIGNATURE_LABEL,
      required: REQUEST_COMPONENTS,
      now: Math.floor(Date.now() / 1000),
      maxAgeSeconds: REQUEST_TTL_SECONDS,
      resolveKey: async (keyid) => (keyid === relayKey.kid ? (base, signature) => verifyBytes(relayKey.publicJwk, base, signature) : null),
    });
    const status = digestOk && verified.ok && verified.params.nonce ? 200 : 401;
    const answer = status === 200 ? payload : '{"code":"SIGNATURE_INVALID"}';
    const headers = await signedResponseHeaders(providerKey, { status, contentType: 'application/json; charset=utf-8', body: answer }, incoming, new Date());
    res.writeHead(status, headers);
    res.end(answer);
    return;
  }
  const text = body.toString('utf8');
  const headers = await signedRequestHeaders(relayKey, upstream!, text, new Date());
  const answer = await peerCall(upstream!, { method: 'POST', headers, body: text, timeoutMs: 10_000 });
  const signer = { signingKey: { kid: providerKey.kid, jwk: providerKey.publicJwk } };
  const ok = answer.status === 200 && (await verifyResponse(signer as Parameters<typeof verifyResponse>[0], answer, { method: 'POST', url: upstream!, headers }, new Date()));
  res.writeHead(ok ? 200 : 502, { 'content-type': 'application/json' });
  res.end(ok ? JSON.stringify({ response: JSON.parse(Buffer.from(answer.body).toString('utf8')) as unknown }) : '{}');
});
server.listen(Number(port), '127.0.0.1', () => process.stdout.write('ready\n'));
