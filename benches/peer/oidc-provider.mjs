// The peer of `cargo bench --bench token_server` (TOKEN_BENCH_PEER=benches/peer): node's
// oidc-provider (OpenID-certified), configured to answer the bench's requests the way latchkey
// does: a confidential client with client_secret_basic asking for client_credentials, every
// access token a JWT signed with the algorithm given (RS256 or ES256), plus discovery and JWKS.
// oidc-provider issues no ID token for this grant and keeps client_credentials JWTs nowhere
// (latchkey also signs an ID token and records every token in SQLite before answering).
//
// Usage: node oidc-provider.mjs PORT ALG CLIENT_ID CLIENT_SECRET
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const [port, alg, clientId, clientSecret] = process.argv.slice(2);
if (!port || !['RS256', 'ES256'].includes(alg) || !clientId || !clientSecret) {
  console.error('usage: node oidc-provider.mjs PORT RS256|ES256 CLIENT_ID CLIENT_SECRET');
  process.exit(2);
}

const pair = alg === 'RS256'
  ? generateKeyPairSync('rsa', { modulusLength: 2048 })
  : generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = { ...pair.privateKey.export({ format: 'jwk' }), kid: 'bench', alg, use: 'sig' };

const issuer = `http://127.0.0.1:${port}`;
const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    scope: 'openid api',
    id_token_signed_response_alg: alg,
  }],
  jwks: { keys: [jwk] },
  cookies: { keys: ['latchkey-bench-peer-cookie-key'] },
  scopes: ['openid', 'api'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => 'urn:latchkey:bench',
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'openid api',
        audience: 'urn:latchkey:bench',
        accessTokenTTL: 3600,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg } },
      }),
    },
  },
});

const server = provider.listen(Number(port), '127.0.0.1', () => {
  console.log(`ready ${issuer}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
