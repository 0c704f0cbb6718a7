// A third-party certified OpenID provider (npm `oidc-provider`) set up to look like ID-porten:
// `pid` and `acr` claims, idporten-loa-* levels, PKCE S256 required, RS256 ID tokens,
// client_secret_post. Started by the integration test with MINSIDE_BASE=http://127.0.0.1:<port>;
// prints "issuer <url>" on its first line. Loopback only; exits when its parent closes stdin or dies.
import http from 'node:http';
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const base = process.env.MINSIDE_BASE;
if (!base) {
  console.error('MINSIDE_BASE is required');
  process.exit(2);
}

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'op-test-1', alg: 'RS256', use: 'sig' };

  const provider = new Provider(issuer, {
    clients: [{
      client_id: 'minside-op-test',
      client_secret: 'op-test-secret',
      redirect_uris: [`${base}/auth/callback`],
      post_logout_redirect_uris: [`${base}/logged-out`],
      token_endpoint_auth_method: 'client_secret_post',
      response_types: ['code'],
      grant_types: ['authorization_code'],
    }],
    jwks: { keys: [jwk] },
    pkce: { required: () => true },
    acrValues: ['idporten-loa-substantial', 'idporten-loa-high'],
    scopes: ['openid', 'profile'],
    claims: { openid: ['sub'], profile: ['pid', 'locale'] },
    conformIdTokenClaims: false,
    cookies: { keys: ['op-test-cookie-key-not-secret'] },
    features: { devInteractions: { enabled: false }, rpInitiatedLogout: { enabled: true } },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(ctx, id) {
      return { accountId: id, async claims() { return { sub: id, pid: id, locale: 'nb' }; } };
    },
  });

  const callback = provider.callback();
  server.on('request', async (req, res) => {
    try {
      const m = req.url.match(/^\/interaction\/([^/?]+)(\/login)?/);
      if (!m) return callback(req, res);
      const details = await provider.interactionDetails(req, res);
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(`<!doctype html><html lang="en"><head><title>Third-party OP</title></head><body><main>
<h1>Third-party OpenID provider (test)</h1>
<form method="post" action="/interaction/${details.uid}/login">
<label for="pid">pid</label><input id="pid" name="pid">
<label for="acr">acr</label><input id="acr" name="acr" value="idporten-loa-substantial">
<button type="submit">Log in</button></form></main></body></html>`);
        return;
      }
      let body = '';
      for await (const chunk of req) body += chunk;
      const form = new URLSearchParams(body);
      const pid = form.get('pid');
      const acr = form.get('acr') || 'idporten-loa-substantial';
      const grant = new provider.Grant({ accountId: pid, clientId: details.params.client_id });
      grant.addOIDCScope(details.params.scope);
      grant.addOIDCClaims(['pid', 'locale']);
      const grantId = await grant.save();
      await provider.interactionFinished(req, res, {
        login: { accountId: pid, acr, amr: ['TestID'] },
        consent: { grantId },
      }, { mergeWithLastSubmission: false });
    } catch (e) {
      console.error(e);
      res.writeHead(500);
      res.end(String(e));
    }
  });

  console.log(`issuer ${issuer}`);
});

// Stop with the test: a parent that goes away closes our stdin.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
setTimeout(() => process.exit(0), 5 * 60 * 1000).unref();
