// A real OpenID Provider (oidc-provider) for authgate's interop tests.
//
//   node provider.mjs [--port N]
//
// Listens on 127.0.0.1 (port 0, the default, picks a free one) and prints one line
// of JSON once it accepts connections: {"issuer":"http://127.0.0.1:PORT","port":PORT,
// "kids":{"RS256":…,"PS256":…,"ES256":…,"EdDSA":…}}. Every start makes new signing
// keys, so restarting on the same port is a key rotation: the new keys are published,
// the old ones are gone. Stops on SIGTERM / SIGINT or when stdin closes (the test
// process died).
//
// Configuration:
// - client credentials grant (RFC 6749 §4.4), client_secret_basic;
// - resource indicators (RFC 8707): a token requested with `resource` is a JWT
//   access token (RFC 9068) for that resource, signed with the algorithm named by
//   the client: client-rs256, client-ps256, client-es256, client-eddsa;
//   resources: urn:authgate:orders (scopes orders:read orders:write) and
//   urn:authgate:billing (billing:read);
// - without `resource`, an opaque access token (introspectable);
// - client "short-lived": opaque tokens that live 2 s;
// - introspection (RFC 7662) and revocation (RFC 7009), for the resource server's
//   client "authgate" (secret "authgate-introspection-secret").
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const args = process.argv.slice(2);
const portArg = args.indexOf('--port');
const port = portArg >= 0 ? Number(args[portArg + 1]) : 0;

const SECRET = 'authgate-test-client-secret';
export const RESOURCES = {
  'urn:authgate:orders': 'orders:read orders:write',
  'urn:authgate:billing': 'billing:read',
};
const ALG_OF_CLIENT = {
  'client-rs256': 'RS256',
  'client-ps256': 'PS256',
  'client-es256': 'ES256',
  'client-eddsa': 'EdDSA',
};

function jwk(kind, options, alg, kid) {
  const { privateKey } = generateKeyPairSync(kind, options);
  return { ...privateKey.export({ format: 'jwk' }), alg, use: 'sig', kid };
}

const stamp = `${process.pid}-${Date.now().toString(36)}`;
const keys = [
  jwk('rsa', { modulusLength: 2048 }, 'RS256', `rs256-${stamp}`),
  jwk('rsa', { modulusLength: 2048 }, 'PS256', `ps256-${stamp}`),
  jwk('ec', { namedCurve: 'P-256' }, 'ES256', `es256-${stamp}`),
  jwk('ed25519', {}, 'EdDSA', `eddsa-${stamp}`),
];

const scope = Object.values(RESOURCES).join(' ');
const client = (id) => ({
  client_id: id,
  client_secret: SECRET,
  grant_types: ['client_credentials'],
  redirect_uris: [],
  response_types: [],
  token_endpoint_auth_method: 'client_secret_basic',
  scope,
});

const server = createServer();
server.listen(port, '127.0.0.1', () => {
  const bound = server.address().port;
  const issuer = `http://127.0.0.1:${bound}`;
  const provider = new Provider(issuer, {
    clients: [
      ...Object.keys(ALG_OF_CLIENT).map(client),
      client('short-lived'),
      { ...client('authgate'), client_secret: 'authgate-introspection-secret' },
    ],
    jwks: { keys },
    scopes: scope.split(' '),
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        allowedPolicy: async () => true,
      },
      revocation: {
        enabled: true,
        allowedPolicy: async () => true,
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => undefined,
        useGrantedResource: async () => false,
        getResourceServerInfo: async (_ctx, resource, c) => {
          const resourceScope = RESOURCES[resource];
          if (!resourceScope) {
            throw new Provider.errors.InvalidTarget();
          }
          return {
            scope: resourceScope,
            audience: resource,
            accessTokenTTL: 600,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: ALG_OF_CLIENT[c.clientId] ?? 'RS256' } },
          };
        },
      },
    },
    ttl: {
      ClientCredentials: (_ctx, token, c) => (c?.clientId === 'short-lived' ? 2 : 600),
    },
  });
  provider.proxy = false;
  server.on('request', provider.callback());
  const kids = Object.fromEntries(keys.map((k) => [k.alg, k.kid]));
  process.stdout.write(`${JSON.stringify({ issuer, port: bound, kids })}\n`);
});

const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// The test binary holds stdin open; when it exits, so does the provider.
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
