import * as oidc from 'openid-client';

/**
 * Signs a demo person in at the hub the way a person does with the CLI's public client
 * (`tongban-cli`, PKCE, a loopback redirect that is never called): the hub's own authorization
 * endpoint and password form, then the code exchange. The access token is the person's credential
 * for the federation (every node and the hub take it), so the seeded steps are taken by real,
 * signed-in people and recorded under them. Used only by the demo seed.
 */
export async function signInAtHub(hubUrl: string, login: string, password: string): Promise<string> {
  const issuer = new URL(`${hubUrl.replace(/\/+$/, '')}/oidc`);
  const config = await oidc.discovery(issuer, 'tongban-cli', undefined, oidc.None(), issuer.protocol === 'http:' ? { execute: [oidc.allowInsecureRequests] } : undefined);
  const redirectUri = 'http://127.0.0.1:49200/callback';
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  let url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid profile tongban',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  const cookies = new Map<string, string>();
  const go = async (target: URL, form?: Record<string, string>): Promise<Response> => {
    const cookie = [...cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const response = await fetch(target, {
      method: form ? 'POST' : 'GET',
      redirect: 'manual',
      headers: { ...(cookie ? { cookie } : {}), ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      ...(form ? { body: new URLSearchParams(form).toString() } : {}),
      signal: AbortSignal.timeout(30_000),
    });
    // The hub's interaction cookies are scoped by path; one person, one flow: a flat jar is enough.
    for (const line of response.headers.getSetCookie()) {
      const pair = line.split(';')[0]!;
      const eq = pair.indexOf('=');
      const value = pair.slice(eq + 1);
      if (value === '') cookies.delete(pair.slice(0, eq));
      else cookies.set(pair.slice(0, eq), value);
    }
    return response;
  };
  let response = await go(url);
  let submitted = false;
  for (let hops = 0; hops < 20; hops++) {
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      const next = new URL(location, url);
      if (next.toString().startsWith(redirectUri)) {
        const tokens = await oidc.authorizationCodeGrant(config, next, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
        return tokens.access_token;
      }
      url = next;
      response = await go(url);
      continue;
    }
    const page = await response.text();
    const action = /<form method="post" action="([^"]+)"/.exec(page)?.[1];
    if (!action || submitted) throw new Error(`the hub refused the sign-in of ${login} (${response.status})`);
    submitted = true;
    url = new URL(action.replace(/&amp;/g, '&'), url);
    response = await go(url, { login, password });
  }
  throw new Error(`sign-in of ${login}: too many redirects`);
}
