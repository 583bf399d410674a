// Checks recorded exchanges with a Remnawave panel against the panel's published contract
// (@remnawave/backend-contract, zod schemas): every request body vpnbot sent against the command's RequestSchema,
// every 2xx answer against its ResponseSchema, and the emulator's refusals against the contract's: it answers 400
// "Validation failed" exactly for the bodies the contract rejects. With --client every request came from vpnbot, so
// each one must conform. Usage: node check_remnawave.js [--client] <contract dir> <exchanges.json>
// Exit 0: all conform; 1: the issues are printed; 2: bad usage.
'use strict';
const fs = require('fs');
const path = require('path');

const args = process.argv.slice(2);
const clientOnly = args[0] === '--client';
if (clientOnly) args.shift();
if (args.length !== 2) {
  console.error('usage: node check_remnawave.js [--client] <node_modules dir with @remnawave/backend-contract> <exchanges.json>');
  process.exit(2);
}
const contract = require(path.join(args[0], '@remnawave/backend-contract'));
const exchanges = JSON.parse(fs.readFileSync(args[1], 'utf8'));
const version = require(path.join(args[0], '@remnawave/backend-contract/package.json')).version;

// The user routes, as the contract names them: [method, path pattern, command].
const commands = [
  ['POST', /^\/api\/users\/?$/, contract.CreateUserCommand],
  ['PATCH', /^\/api\/users\/?$/, contract.UpdateUserCommand],
  ['GET', /^\/api\/users\/?(\?.*)?$/, contract.GetAllUsersCommand],
  ['GET', /^\/api\/users\/by-username\/[^/]+$/, contract.GetUserByUsernameCommand],
  ['DELETE', /^\/api\/users\/[0-9a-f-]{36}$/, contract.DeleteUserCommand],
  ['GET', /^\/api\/users\/[0-9a-f-]{36}$/, contract.GetUserByUuidCommand],
  ['POST', /^\/api\/users\/[0-9a-f-]{36}\/actions\/revoke$/, contract.RevokeUserSubscriptionCommand],
  ['POST', /^\/api\/users\/[0-9a-f-]{36}\/actions\/reset-traffic$/, contract.ResetUserTrafficCommand],
  ['POST', /^\/api\/users\/[0-9a-f-]{36}\/actions\/enable$/, contract.EnableUserCommand],
  ['POST', /^\/api\/users\/[0-9a-f-]{36}\/actions\/disable$/, contract.DisableUserCommand],
];

// The routes must be the contract's own: a renamed route in a new contract fails here, not in production.
const routes = contract.REST_API.USERS;
const expected = [
  [routes.CREATE, '/api/users/'], [routes.UPDATE, '/api/users/'], [routes.GET_BY.USERNAME('x'), '/api/users/by-username/x'],
  [routes.DELETE('u'), '/api/users/u'], [routes.ACTIONS.REVOKE_SUBSCRIPTION('u'), '/api/users/u/actions/revoke'],
  [routes.ACTIONS.RESET_TRAFFIC('u'), '/api/users/u/actions/reset-traffic'],
];
const problems = [];
for (const [actual, wanted] of expected)
  if (actual !== wanted) problems.push(`contract route ${actual} is not ${wanted}`);

const seen = {};
for (const x of exchanges) {
  const match = commands.find(([method, pattern]) => method === x.method && pattern.test(x.path));
  if (!match) { problems.push(`${x.method} ${x.path}: no such route in the contract`); continue; }
  const command = match[2];
  const name = `${x.method} ${x.path.replace(/[0-9a-f-]{36}/g, ':uuid').replace(/by-username\/[^/?]+/, 'by-username/:username').replace(/\?.*/, '')}`;
  seen[name] = (seen[name] || 0) + 1;
  // Commands addressed by a path parameter keep it in RequestSchema; their body (if any) is RequestBodySchema.
  const bodySchema = typeof command.url === 'function' ? command.RequestBodySchema
                   : (x.method === 'POST' || x.method === 'PATCH' ? command.RequestSchema : null);
  if (bodySchema && x.status !== 401) {
    const r = bodySchema.safeParse(x.request === null ? undefined : x.request);
    const emulatorRefused = x.status === 400 && x.response && x.response.message === 'Validation failed';
    if (!r.success && (clientOnly || !emulatorRefused))
      problems.push(`${x.method} ${x.path}: request does not conform: ${JSON.stringify(r.error.issues)}`);
    if (r.success && emulatorRefused)
      problems.push(`${x.method} ${x.path}: the emulator refused a body the contract accepts: ${JSON.stringify(x.request)}`);
  }
  if (x.status >= 200 && x.status < 300) {
    const r = command.ResponseSchema.safeParse(x.response);
    if (!r.success) problems.push(`${x.method} ${x.path}: response does not conform: ${JSON.stringify(r.error.issues)}`);
  }
}
if (problems.length) {
  console.error(`contract ${version}: ${problems.length} problem(s)`);
  for (const p of problems.slice(0, 50)) console.error(p);
  process.exit(1);
}
console.log(JSON.stringify({ contract: version, exchanges: exchanges.length, routes: seen }));
