// The baseline of the exchange benchmark: the same topology (client -> A -> B -> back) and
// payload, with no signing, no policy and no audit. Plain node:http, one process per hop.
import { createServer } from 'node:http';

const [role, port, upstream] = process.argv.slice(2);
const payload = JSON.stringify({
  requestId: '00000000-0000-4000-8000-000000000000',
  provider: '522732',
  service: 'household.residence-proof',
  issuedAt: new Date().toISOString(),
  data: { idNumber: '522732199001011234', name: '张三', householdAddress: '贵州省黔南布依族苗族自治州三都水族自治县人民路1号' },
});

const server = createServer(async (req, res) => {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  if (role === 'provider') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(payload);
    return;
  }
  const answer = await fetch(upstream, { method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.concat(chunks) });
  const body = await answer.text();
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ response: JSON.parse(body) }));
});
server.listen(Number(port), '127.0.0.1', () => process.stdout.write('ready\n'));
